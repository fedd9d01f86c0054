import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { RelaisError } from '../../src/core/errors.js';
import { blindIndex, normalizePhone } from '../../src/archive/blind-index.js';
import { INDEX_PURPOSES, createKeyRing, type KeyRing } from '../../src/archive/keyring.js';
import { masterKeyVersion, type MasterKey } from '../../src/archive/master-key.js';
import { initSodium, randomBytes } from '../../src/archive/sodium.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RelaisError);
    return (err as RelaisError).code;
  }
  return undefined;
}

const newKek = (): MasterKey => {
  const key = randomBytes(32);
  return { version: masterKeyVersion(key), key };
};
const valueArb = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 80 });

let ring: KeyRing;
beforeAll(async () => {
  await initSodium();
  ring = createKeyRing([newKek()]);
});

describe('blindIndex', () => {
  it('is 64 hex characters and deterministic', () => {
    fc.assert(fc.property(valueArb, fc.constantFrom(...INDEX_PURPOSES.filter((p) => p !== 'phone')), (value, purpose) => {
      const a = blindIndex(ring, purpose, value);
      expect(a).toMatch(/^[0-9a-f]{64}$/);
      expect(blindIndex(ring, purpose, value)).toBe(a);
    }), { numRuns: 300 });
  });

  it('differs per purpose for the same value', () => {
    fc.assert(fc.property(fc.stringMatching(/^[1-9][0-9]{7,12}$/), (value) => {
      const all = INDEX_PURPOSES.map((p) => blindIndex(ring, p, value));
      expect(new Set(all).size).toBe(INDEX_PURPOSES.length);
    }), { numRuns: 200 });
  });

  it('differs for different values (no collisions in practice) and reveals nothing of the value', () => {
    fc.assert(fc.property(valueArb, valueArb, (a, b) => {
      fc.pre(a.normalize('NFC') !== b.normalize('NFC'));
      expect(blindIndex(ring, 'wamid', a)).not.toBe(blindIndex(ring, 'wamid', b));
    }), { numRuns: 300 });
    const wamid = 'wamid.HBgLMzE2MTIzNDU2NzgVAgASGBQzQUI1NzY0';
    const idx = blindIndex(ring, 'wamid', wamid);
    expect(idx).not.toContain(Buffer.from(wamid).toString('hex').slice(0, 16));
  });

  it('depends on the ring key: another KEK gives other values, the same index root the same values', () => {
    const other = createKeyRing([newKek()]);
    expect(blindIndex(other, 'wamid', 'wamid.X')).not.toBe(blindIndex(ring, 'wamid', 'wamid.X'));
    const root = randomBytes(32);
    const a = newKek();
    const before = createKeyRing([a], { indexRoot: root });
    const afterRotation = createKeyRing([newKek(), a], { indexRoot: root });
    fc.assert(fc.property(valueArb, (value) => {
      expect(blindIndex(afterRotation, 'customer', value)).toBe(blindIndex(before, 'customer', value));
    }), { numRuns: 100 });
  });

  it('normalises phone numbers before hashing', () => {
    const forms = ['+49 170 1234567', '0049-170-123 4567', '49.170.1234567', '+49 (0)170 1234567', '491701234567'];
    const expected = blindIndex(ring, 'phone', '491701234567');
    for (const f of forms) expect(blindIndex(ring, 'phone', f)).toBe(expected);
    expect(codeOf(() => blindIndex(ring, 'phone', 'call me'))).toBe('invalid_phone');
  });

  it('keeps other values exact apart from Unicode NFC', () => {
    expect(blindIndex(ring, 'wamid', 'wamid.AbC')).not.toBe(blindIndex(ring, 'wamid', 'wamid.abc'));
    expect(blindIndex(ring, 'wamid', 'x ')).not.toBe(blindIndex(ring, 'wamid', 'x'));
    expect(blindIndex(ring, 'token', 'caf\u00e9')).toBe(blindIndex(ring, 'token', 'cafe\u0301'));
  });

  it('refuses empty or malformed values', () => {
    expect(codeOf(() => blindIndex(ring, 'wamid', ''))).toBe('invalid_argument');
    expect(codeOf(() => blindIndex(ring, 'wamid', 'a\uDC00'))).toBe('invalid_argument');
  });
});

describe('normalizePhone', () => {
  it.each([
    ['+49 170 1234567', '491701234567'],
    ['0049 170 1234567', '491701234567'],
    ['+1 (555) 010-9999', '15550109999'],
    ['1.555.010.9999', '15550109999'],
    ['+33 6 12 34 56 78', '33612345678'],
    ['  +44 20 7946 0958\t', '442079460958'],
    ['+49 (0) 30 1234567', '49301234567'],
    ['31612345678', '31612345678'],
    ['+1234567', '1234567'],
    ['123456', '123456'],
    ['123456789012345', '123456789012345'],
  ])('%j → %s', (input, expected) => {
    expect(normalizePhone(input)).toBe(expected);
  });

  it.each([
    ['', 'empty'],
    ['12345', 'too short'],
    ['1234567890123456', 'too long'],
    ['+49 170 CALL-ME', 'letters'],
    ['49+1701234567', 'plus in the middle'],
    ['++491701234567', 'double plus'],
    ['0170 1234567', 'national format'],
    ['+0049 170 1234567', 'plus and 00'],
    ['000491701234567', 'three zeros'],
    ['+49 170 1234567 ext. 12', 'extension'],
    ['+٤٩١٧٠١٢٣٤٥٦٧', 'non-ASCII digits'],
  ])('rejects %j (%s) without echoing it', (input) => {
    try {
      normalizePhone(input);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(RelaisError);
      const e = err as RelaisError;
      expect(e.code).toBe('invalid_phone');
      expect(e.retryable).toBe(false);
      const digits = input.replace(/\D/g, '');
      if (digits.length >= 4) expect(e.message).not.toContain(digits.slice(0, 4));
    }
  });

  it('is idempotent and returns 6–15 ASCII digits not starting with 0', () => {
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom('0', '1', '5', '9', ' ', '-', '.', '(', ')', '+'), maxLength: 24 }), (input) => {
      let out: string;
      try {
        out = normalizePhone(input);
      } catch (err) {
        expect((err as RelaisError).code).toBe('invalid_phone');
        return;
      }
      expect(out).toMatch(/^[1-9][0-9]{5,14}$/);
      expect(normalizePhone(out)).toBe(out);
      expect(normalizePhone(`+${out}`)).toBe(out);
    }), { numRuns: 500 });
  });
});
