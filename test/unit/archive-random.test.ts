import { beforeAll, describe, expect, it } from 'vitest';
import { initSodium, randomBytes } from '../../src/archive/sodium.js';

// randomBytes serves small requests from a pool: every byte must be handed out once only,
// across refills, and callers must get their own copies.
describe('randomBytes', () => {
  beforeAll(async () => { await initSodium(); });

  it('never hands out the same bytes twice, across pool refills', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5_000; i++) {
      const n = 24 + (i % 9);
      const b = randomBytes(n);
      expect(b.length).toBe(n);
      seen.add(Buffer.from(b).toString('hex'));
    }
    expect(seen.size).toBe(5_000);
  });

  it('returns independent copies and serves large requests', () => {
    const a = randomBytes(32);
    const copy = Uint8Array.from(a);
    a.fill(0);
    const b = randomBytes(32);
    expect(Buffer.from(b).equals(Buffer.alloc(32))).toBe(false);
    expect(Buffer.from(copy).equals(Buffer.alloc(32))).toBe(false);
    const big = randomBytes(64 * 1024);
    expect(big.length).toBe(64 * 1024);
    expect(new Set(big).size).toBeGreaterThan(200);
    expect(randomBytes(0).length).toBe(0);
  });
});
