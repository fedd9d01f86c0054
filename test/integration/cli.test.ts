import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runRelaisCli } from '../helpers/cli.js';


async function relais(args: string[], env: Record<string, string>) {
  const r = await runRelaisCli(args, env);
  return { code: r.code, out: r.all };
}

describe('relais CLI', () => {
  it('check-config lists every problem at once, exits 1, and prints no secret', async () => {
    const r = await relais(['check-config'], {
      RELAIS_ENV: 'production', MATTERMOST_URL: 'https://mm.example', MATTERMOST_TOKEN: 'tok-VERY-SECRET', WHATSAPP_APP_SECRET: 'app-SECRET-value', PORT: 'x',
    });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/PORT/);
    expect(r.out).toMatch(/RELAIS_MASTER_KEY or RELAIS_MASTER_KEY_FILE must be set in production/);
    expect(r.out).toMatch(/WHATSAPP_ACCESS_TOKEN is not set/);
    expect(r.out).toMatch(/problem\(s\)/);
    expect(r.out).not.toContain('tok-VERY-SECRET');
    expect(r.out).not.toContain('app-SECRET-value');
  });

  it('check-config accepts a development setup and says what is missing', async () => {
    const r = await relais(['check-config'], {});
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/missing\s+MATTERMOST_URL is not set/);
    expect(r.out).toMatch(/WhatsApp simulator on/);
  });

  it('migrate applies the schema to the embedded database and is idempotent', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'relais-cli-'));
    const env: Record<string, string> = process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : { RELAIS_DATA_DIR: dir };
    const first = await relais(['migrate'], env);
    expect(first.code, first.out).toBe(0);
    expect(first.out).toMatch(/migrations applied/);
    const second = await relais(['migrate'], env);
    expect(second.code, second.out).toBe(0);
    await rm(dir, { recursive: true, force: true });
  });

  it('explains unknown commands', async () => {
    const r = await relais(['frobnicate'], {});
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/Unknown command "frobnicate"/);
    expect(r.out).toMatch(/check-config/);
  });
});
