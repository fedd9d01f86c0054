import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { envSchema } from '../../src/config/schema.js';

describe('docs/configuration.md', () => {
  const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
  it('documents every environment variable the schema accepts', () => {
    const undocumented = Object.keys(envSchema.shape).filter((k) => !doc.includes(`\`${k}\``));
    expect(undocumented).toEqual([]);
  });
});
