import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { RelaisError } from '../../src/core/errors.js';
import {
  FIELD_OVERHEAD, encodeAad, openField, openFieldText, openJson, sealField, sealJson, sealedKeyVersion, type FieldContext,
} from '../../src/archive/envelope.js';
import { initSodium, randomBytes } from '../../src/archive/sodium.js';

/** Deterministic pseudo-random bytes (xorshift32) so fast-check can shrink on length and seed. */
function bytesFrom(seed: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed | 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Fast byte equality (vitest's deep equality walks typed arrays element by element). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

const plaintextArb = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.tuple(fc.integer(), fc.integer({ min: 0, max: 64 * 1024 })).map(([seed, n]) => bytesFrom(seed, n)),
);
const nameArb = fc.string({ unit: 'binary', minLength: 1, maxLength: 24 });
const ctxArb: fc.Arbitrary<FieldContext> = fc.record({
  table: nameArb,
  column: nameArb,
  rowId: fc.oneof(fc.uuid(), nameArb),
  keyVersion: fc.integer({ min: 0, max: 0xffffffff }),
});

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RelaisError);
    return (err as RelaisError).code;
  }
  return undefined;
}

let dek: Uint8Array;
beforeAll(async () => {
  await initSodium();
  dek = randomBytes(32);
});

describe('sealField / openField', () => {
  it('round-trips any bytes under any context', () => {
    fc.assert(fc.property(plaintextArb, ctxArb, (plain, ctx) => {
      const sealed = sealField(dek, ctx, plain);
      expect(sealed.length).toBe(plain.length + FIELD_OVERHEAD);
      expect(sameBytes(openField(dek, ctx, sealed), plain)).toBe(true);
      expect(sealedKeyVersion(sealed)).toBe(ctx.keyVersion);
    }), { numRuns: 300 });
  });

  it('round-trips any Unicode text', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), ctxArb, (text, ctx) => {
      expect(openFieldText(dek, ctx, sealField(dek, ctx, text))).toBe(text);
    }), { numRuns: 300 });
  });

  it('lays out the header as documented', () => {
    const sealed = sealField(dek, { table: 't', column: 'c', rowId: 'r', keyVersion: 0x01020304 }, 'x');
    expect([...sealed.subarray(0, 6)]).toEqual([0x01, 0x01, 0x01, 0x02, 0x03, 0x04]);
  });

  it('uses a fresh nonce each time', () => {
    const ctx = { table: 't', column: 'c', rowId: 'r', keyVersion: 1 };
    const a = sealField(dek, ctx, 'same');
    const b = sealField(dek, ctx, 'same');
    expect(a.subarray(6, 30)).not.toEqual(b.subarray(6, 30));
    expect(a).not.toEqual(b);
  });

  it('rejects every single bit flip of a small sealed field', () => {
    const ctx = { table: 'messages', column: 'body_enc', rowId: 'row-1', keyVersion: 3 };
    const sealed = sealField(dek, ctx, 'hello, world');
    for (let bit = 0; bit < sealed.length * 8; bit++) {
      const bad = sealed.slice();
      bad[bit >> 3]! ^= 1 << (bit & 7);
      expect(codeOf(() => openField(dek, ctx, bad))).toBe('decrypt_failed');
    }
  });

  it('rejects a bit flip anywhere in random sealed fields', () => {
    fc.assert(fc.property(plaintextArb, ctxArb, fc.nat(), (plain, ctx, pos) => {
      const sealed = sealField(dek, ctx, plain);
      const bit = pos % (sealed.length * 8);
      sealed[bit >> 3]! ^= 1 << (bit & 7);
      expect(codeOf(() => openField(dek, ctx, sealed))).toBe('decrypt_failed');
    }), { numRuns: 300 });
  });

  it('rejects truncated or extended ciphertexts', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), ctxArb, fc.nat(), (plain, ctx, cut) => {
      const sealed = sealField(dek, ctx, plain);
      const shorter = sealed.subarray(0, cut % sealed.length);
      expect(codeOf(() => openField(dek, ctx, shorter))).toBe('decrypt_failed');
      const longer = new Uint8Array(sealed.length + 1);
      longer.set(sealed);
      expect(codeOf(() => openField(dek, ctx, longer))).toBe('decrypt_failed');
    }), { numRuns: 200 });
  });

  it('rejects a ciphertext moved to another table, column, row or key version', () => {
    const otherCtx = fc.tuple(ctxArb, fc.constantFrom('table', 'column', 'rowId', 'keyVersion'), nameArb, fc.integer({ min: 0, max: 0xffffffff }))
      .filter(([ctx, field, name, version]) => (field === 'keyVersion' ? version !== ctx.keyVersion : ctx[field] !== name))
      .map(([ctx, field, name, version]) => [ctx, { ...ctx, [field]: field === 'keyVersion' ? version : name }] as const);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), otherCtx, (plain, [from, to]) => {
      const sealed = sealField(dek, from, plain);
      expect(codeOf(() => openField(dek, to, sealed))).toBe('decrypt_failed');
    }), { numRuns: 500 });
  });

  it('rejects a ciphertext whose header key version was rewritten to match the reader', () => {
    const from = { table: 't', column: 'c', rowId: 'r', keyVersion: 1 };
    const sealed = sealField(dek, from, 'secret');
    sealed[5] = 2;
    expect(codeOf(() => openField(dek, { ...from, keyVersion: 2 }, sealed))).toBe('decrypt_failed');
  });

  it('rejects another data key', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), ctxArb, (plain, ctx) => {
      const sealed = sealField(dek, ctx, plain);
      expect(codeOf(() => openField(randomBytes(32), ctx, sealed))).toBe('decrypt_failed');
    }), { numRuns: 200 });
  });

  it('never puts plaintext or key bytes in error messages', () => {
    const ctx = { table: 'messages', column: 'body_enc', rowId: 'r', keyVersion: 1 };
    const secret = 'the secret message text';
    const sealed = sealField(dek, ctx, secret);
    sealed[40]! ^= 1;
    try {
      openField(dek, ctx, sealed);
      expect.unreachable();
    } catch (err) {
      const e = err as RelaisError;
      expect(e.retryable).toBe(false);
      expect(e.message).not.toContain(secret);
      expect(e.message).not.toContain(Buffer.from(dek).toString('base64'));
      expect(e.message).not.toContain(Buffer.from(dek).toString('hex'));
      expect(e.cause).toBeUndefined();
    }
  });

  it('validates its arguments', () => {
    const ctx = { table: 't', column: 'c', rowId: 'r', keyVersion: 1 };
    expect(codeOf(() => sealField(new Uint8Array(16), ctx, 'x'))).toBe('key_invalid');
    expect(codeOf(() => openField(new Uint8Array(31), ctx, new Uint8Array(60)))).toBe('key_invalid');
    expect(codeOf(() => sealField(dek, { ...ctx, rowId: '' }, 'x'))).toBe('invalid_argument');
    expect(codeOf(() => sealField(dek, { ...ctx, table: 'a\uD800' }, 'x'))).toBe('invalid_argument');
    expect(codeOf(() => sealField(dek, { ...ctx, keyVersion: -1 }, 'x'))).toBe('invalid_argument');
    expect(codeOf(() => sealField(dek, { ...ctx, keyVersion: 1.5 }, 'x'))).toBe('invalid_argument');
    expect(codeOf(() => sealField(dek, { ...ctx, keyVersion: 2 ** 32 }, 'x'))).toBe('invalid_argument');
    expect(codeOf(() => sealField(dek, ctx, 42 as unknown as string))).toBe('invalid_argument');
  });

  it('does not modify the caller\'s buffers', () => {
    const ctx = { table: 't', column: 'c', rowId: 'r', keyVersion: 1 };
    const key = dek.slice();
    const plain = bytesFrom(7, 100);
    const copy = plain.slice();
    const sealed = sealField(key, ctx, plain);
    const sealedCopy = sealed.slice();
    expect(openField(key, ctx, sealed)).toEqual(copy);
    expect(plain).toEqual(copy);
    expect(key).toEqual(dek);
    expect(sealed).toEqual(sealedCopy);
  });

  it('opens fields held in a Buffer view at a non-zero offset (as database drivers return them)', () => {
    const ctx = { table: 't', column: 'c', rowId: 'r', keyVersion: 9 };
    const sealed = sealField(dek, ctx, 'from the database');
    const pool = Buffer.alloc(sealed.length + 13);
    pool.set(sealed, 13);
    const view = pool.subarray(13);
    expect(sealedKeyVersion(view)).toBe(9);
    expect(openFieldText(dek, ctx, view)).toBe('from the database');
  });
});

describe('sealedKeyVersion', () => {
  it('rejects what is not a sealed field', () => {
    expect(codeOf(() => sealedKeyVersion(new Uint8Array(10)))).toBe('decrypt_failed');
    const sealed = sealField(dek, { table: 't', column: 'c', rowId: 'r', keyVersion: 1 }, '');
    sealed[0] = 2;
    expect(codeOf(() => sealedKeyVersion(sealed))).toBe('decrypt_failed');
  });
});

describe('text and JSON helpers', () => {
  const ctx = { table: 'messages', column: 'payload_enc', rowId: 'r1', keyVersion: 2 };

  it('round-trips JSON values', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => {
      const expected: unknown = JSON.parse(JSON.stringify(value));
      expect(openJson(dek, ctx, sealJson(dek, ctx, value))).toEqual(expected);
    }), { numRuns: 300 });
  });

  it('refuses values without a JSON form, without quoting them', () => {
    const cyclic: Record<string, unknown> = { secret: 'do-not-leak' };
    cyclic.self = cyclic;
    for (const v of [undefined, () => 1, 10n, cyclic]) {
      try {
        sealJson(dek, ctx, v);
        expect.unreachable();
      } catch (err) {
        expect((err as RelaisError).code).toBe('invalid_argument');
        expect((err as RelaisError).message).not.toContain('do-not-leak');
        expect((err as RelaisError).cause).toBeUndefined();
      }
    }
  });

  it('reports non-UTF-8 and non-JSON plaintexts without quoting them', () => {
    const notUtf8 = sealField(dek, ctx, new Uint8Array([0xff, 0xfe, 0x41]));
    expect(codeOf(() => openFieldText(dek, ctx, notUtf8))).toBe('plaintext_invalid');
    const notJson = sealField(dek, ctx, 'private words, not json');
    try {
      openJson(dek, ctx, notJson);
      expect.unreachable();
    } catch (err) {
      expect((err as RelaisError).code).toBe('plaintext_invalid');
      expect((err as RelaisError).message).not.toContain('private');
    }
  });
});

describe('encodeAad', () => {
  const partArb = fc.oneof(fc.string({ unit: 'binary', maxLength: 8 }), fc.integer({ min: 0, max: 0xffffffff }));

  it('is injective: different part lists never encode the same', () => {
    fc.assert(fc.property(fc.array(partArb, { maxLength: 5 }), fc.array(partArb, { maxLength: 5 }), (a, b) => {
      const same = a.length === b.length && a.every((x, i) => x === b[i]);
      expect(Buffer.from(encodeAad(a)).equals(Buffer.from(encodeAad(b)))).toBe(same);
    }), { numRuns: 500 });
  });

  it('distinguishes strings from numbers and shifted boundaries', () => {
    const hex = (p: (string | number)[]) => Buffer.from(encodeAad(p)).toString('hex');
    expect(hex(['1'])).not.toBe(hex([1]));
    expect(hex(['ab', 'c'])).not.toBe(hex(['a', 'bc']));
    expect(hex(['', 'a'])).not.toBe(hex(['a', '']));
    expect(hex(['x'])).toBe('00000001' + '73' + '00000001' + '78');
    expect(hex([258])).toBe('00000001' + '75' + '00000102');
    // Lengths are UTF-8 byte counts, not UTF-16 units.
    expect(hex(['é', 7, '🚀'])).toBe('00000003' + '73' + '00000002' + 'c3a9' + '75' + '00000007' + '73' + '00000004' + 'f09f9a80');
  });
});
