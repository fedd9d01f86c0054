import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { RelaisError } from '../../src/core/errors.js';
import {
  INDEX_PURPOSES, WRAPPED_KEY_BYTES, createKeyRing, unwrapIndexRoot, wrapIndexRoot, wrappedKekVersion, type KeyRing,
} from '../../src/archive/keyring.js';
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

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const newKek = (): MasterKey => {
  const key = randomBytes(32);
  return { version: masterKeyVersion(key), key };
};
const ctxArb = fc.record({
  customerId: fc.oneof(fc.uuid(), fc.string({ unit: 'binary', minLength: 1, maxLength: 40 })),
  dekVersion: fc.integer({ min: 0, max: 0xffffffff }),
});

let A: MasterKey;
let B: MasterKey;
let ringA: KeyRing;
let ringBA: KeyRing;
beforeAll(async () => {
  await initSodium();
  A = newKek();
  B = newKek();
  ringA = createKeyRing([A]);
  ringBA = createKeyRing([B, A]);
});

describe('data keys', () => {
  it('makes fresh 32-byte data keys', () => {
    const a = ringA.newDataKey();
    expect(a.length).toBe(32);
    expect(hex(a)).not.toBe(hex(ringA.newDataKey()));
  });

  it('wraps and unwraps for any customer and DEK version', () => {
    fc.assert(fc.property(ctxArb, (ctx) => {
      const dek = ringA.newDataKey();
      const { wrapped, kekVersion } = ringA.wrapDataKey(dek, ctx);
      expect(wrapped.length).toBe(WRAPPED_KEY_BYTES);
      expect(kekVersion).toBe(A.version);
      expect(wrappedKekVersion(wrapped)).toBe(A.version);
      expect(wrapped[0]).toBe(0x01);
      expect(hex(ringA.unwrapDataKey(wrapped, ctx))).toBe(hex(dek));
    }), { numRuns: 300 });
  });

  it('rejects every single bit flip of a wrapped key', () => {
    const ctx = { customerId: 'c-1', dekVersion: 1 };
    const { wrapped } = ringA.wrapDataKey(ringA.newDataKey(), ctx);
    for (let bit = 0; bit < wrapped.length * 8; bit++) {
      const bad = wrapped.slice();
      bad[bit >> 3]! ^= 1 << (bit & 7);
      // A flipped version byte names a KEK that is not loaded (key_missing); anything else fails authentication.
      const expected = bit >= 8 && bit < 40 ? 'key_missing' : 'decrypt_failed';
      expect(codeOf(() => ringA.unwrapDataKey(bad, ctx))).toBe(expected);
    }
  });

  it('rejects a wrapped key presented for another customer or DEK version', () => {
    fc.assert(fc.property(ctxArb, ctxArb, (from, to) => {
      fc.pre(from.customerId !== to.customerId || from.dekVersion !== to.dekVersion);
      const { wrapped } = ringA.wrapDataKey(ringA.newDataKey(), from);
      expect(codeOf(() => ringA.unwrapDataKey(wrapped, to))).toBe('decrypt_failed');
    }), { numRuns: 300 });
  });

  it('rejects malformed blobs', () => {
    const ctx = { customerId: 'c', dekVersion: 1 };
    const { wrapped } = ringA.wrapDataKey(ringA.newDataKey(), ctx);
    expect(codeOf(() => ringA.unwrapDataKey(wrapped.subarray(0, 76), ctx))).toBe('decrypt_failed');
    expect(codeOf(() => ringA.unwrapDataKey(new Uint8Array(0), ctx))).toBe('decrypt_failed');
    const wrongFormat = wrapped.slice();
    wrongFormat[0] = 2;
    expect(codeOf(() => ringA.unwrapDataKey(wrongFormat, ctx))).toBe('decrypt_failed');
  });

  it('says key_missing when the wrapping KEK is not loaded', () => {
    const ctx = { customerId: 'c', dekVersion: 1 };
    const { wrapped } = ringA.wrapDataKey(ringA.newDataKey(), ctx);
    const other = createKeyRing([newKek()]);
    try {
      other.unwrapDataKey(wrapped, ctx);
      expect.unreachable();
    } catch (err) {
      const e = err as RelaisError;
      expect(e.code).toBe('key_missing');
      expect(e.retryable).toBe(false);
      expect(e.message).toContain(String(A.version));
      expect(e.message).not.toContain(Buffer.from(A.key).toString('base64'));
    }
  });

  it('fails authentication when a different key claims the same version', () => {
    const ctx = { customerId: 'c', dekVersion: 1 };
    const { wrapped } = ringA.wrapDataKey(ringA.newDataKey(), ctx);
    const impostor = createKeyRing([{ version: A.version, key: randomBytes(32) }]);
    expect(codeOf(() => impostor.unwrapDataKey(wrapped, ctx))).toBe('decrypt_failed');
  });

  it('rotation: "B,A" unwraps what "A" wrapped, wraps new keys with B, and "A" alone cannot read those', () => {
    fc.assert(fc.property(ctxArb, (ctx) => {
      const dek = ringA.newDataKey();
      const old = ringA.wrapDataKey(dek, ctx);
      expect(hex(ringBA.unwrapDataKey(old.wrapped, ctx))).toBe(hex(dek));
      const rewrapped = ringBA.wrapDataKey(dek, ctx);
      expect(rewrapped.kekVersion).toBe(B.version);
      expect(wrappedKekVersion(rewrapped.wrapped)).toBe(B.version);
      expect(hex(ringBA.unwrapDataKey(rewrapped.wrapped, ctx))).toBe(hex(dek));
      expect(codeOf(() => ringA.unwrapDataKey(rewrapped.wrapped, ctx))).toBe('key_missing');
    }), { numRuns: 100 });
    expect(ringBA.currentKekVersion).toBe(B.version);
  });

  it('validates its arguments', () => {
    expect(codeOf(() => ringA.wrapDataKey(new Uint8Array(16), { customerId: 'c', dekVersion: 1 }))).toBe('key_invalid');
    expect(codeOf(() => ringA.wrapDataKey(ringA.newDataKey(), { customerId: '', dekVersion: 1 }))).toBe('invalid_argument');
    expect(codeOf(() => ringA.wrapDataKey(ringA.newDataKey(), { customerId: 'c', dekVersion: -1 }))).toBe('invalid_argument');
    expect(codeOf(() => wrappedKekVersion(new Uint8Array(3)))).toBe('decrypt_failed');
  });
});

describe('createKeyRing', () => {
  it('refuses empty, malformed or duplicate keys', () => {
    expect(codeOf(() => createKeyRing([]))).toBe('key_missing');
    expect(codeOf(() => createKeyRing([{ version: 1, key: new Uint8Array(31) }]))).toBe('key_invalid');
    expect(codeOf(() => createKeyRing([A, { version: A.version, key: randomBytes(32) }]))).toBe('key_invalid');
    expect(codeOf(() => createKeyRing([A], { indexRoot: new Uint8Array(8) }))).toBe('key_invalid');
  });

  it('copies the keys it is given', () => {
    const k = newKek();
    const keyBytes = k.key.slice();
    const ring = createKeyRing([k]);
    const ctx = { customerId: 'c', dekVersion: 1 };
    const { wrapped } = ring.wrapDataKey(ring.newDataKey(), ctx);
    k.key.fill(0);
    expect(ring.unwrapDataKey(wrapped, ctx).length).toBe(32);
    k.key.set(keyBytes);
  });
});

describe('index keys', () => {
  it('are 32 bytes, distinct per purpose, and stable for a ring', () => {
    const seen = new Set<string>();
    for (const p of INDEX_PURPOSES) {
      const k = ringA.indexKey(p);
      expect(k.length).toBe(32);
      expect(hex(ringA.indexKey(p))).toBe(hex(k));
      expect(hex(createKeyRing([A]).indexKey(p))).toBe(hex(k));
      seen.add(hex(k));
    }
    expect(seen.size).toBe(INDEX_PURPOSES.length);
    expect(INDEX_PURPOSES).toEqual(['wamid', 'customer', 'phone', 'post', 'token', 'channel', 'audit']);
  });

  it('return copies the caller may wipe', () => {
    const k = ringA.indexKey('wamid');
    const before = hex(k);
    k.fill(0);
    expect(hex(ringA.indexKey('wamid'))).toBe(before);
  });

  it('without an index root follow the current KEK (they change on rotation)', () => {
    expect(hex(ringBA.indexKey('wamid'))).not.toBe(hex(ringA.indexKey('wamid')));
  });

  it('with an index root survive KEK rotation and do not depend on the KEK', () => {
    const root = randomBytes(32);
    const a = createKeyRing([A], { indexRoot: root });
    const ba = createKeyRing([B, A], { indexRoot: root });
    const b = createKeyRing([B], { indexRoot: root });
    for (const p of INDEX_PURPOSES) {
      expect(hex(ba.indexKey(p))).toBe(hex(a.indexKey(p)));
      expect(hex(b.indexKey(p))).toBe(hex(a.indexKey(p)));
      expect(hex(a.indexKey(p))).not.toBe(hex(ringA.indexKey(p)));
    }
    expect(codeOf(() => a.indexKey('nope' as never))).toBe('invalid_argument');
  });
});

describe('index root wrapping', () => {
  it('round-trips, rewraps on rotation, and is bound to its purpose', () => {
    const root = randomBytes(32);
    const wrapped = wrapIndexRoot(ringA, root);
    expect(wrapped.length).toBe(WRAPPED_KEY_BYTES);
    expect(wrappedKekVersion(wrapped)).toBe(A.version);
    expect(hex(unwrapIndexRoot(ringA, wrapped))).toBe(hex(root));

    const rotated = wrapIndexRoot(ringBA, unwrapIndexRoot(ringBA, wrapped));
    expect(wrappedKekVersion(rotated)).toBe(B.version);
    expect(hex(unwrapIndexRoot(createKeyRing([B]), rotated))).toBe(hex(root));
    expect(codeOf(() => unwrapIndexRoot(ringA, rotated))).toBe('key_missing');

    // A wrapped DEK is not an index root and vice versa.
    const { wrapped: dekBlob } = ringA.wrapDataKey(ringA.newDataKey(), { customerId: 'c', dekVersion: 0 });
    expect(codeOf(() => unwrapIndexRoot(ringA, dekBlob))).toBe('decrypt_failed');
    expect(codeOf(() => ringA.unwrapDataKey(wrapped, { customerId: 'c', dekVersion: 0 }))).toBe('decrypt_failed');
  });

  it('rejects every single bit flip', () => {
    const wrapped = wrapIndexRoot(ringA, randomBytes(32));
    for (let bit = 0; bit < wrapped.length * 8; bit++) {
      const bad = wrapped.slice();
      bad[bit >> 3]! ^= 1 << (bit & 7);
      expect(['decrypt_failed', 'key_missing']).toContain(codeOf(() => unwrapIndexRoot(ringA, bad)));
    }
  });

  it('needs a ring made by createKeyRing', () => {
    const fake = { ...ringA } as KeyRing;
    expect(codeOf(() => wrapIndexRoot(fake, randomBytes(32)))).toBe('invalid_argument');
    expect(codeOf(() => wrapIndexRoot(ringA, new Uint8Array(5)))).toBe('key_invalid');
  });
});

describe('system keys', () => {
  it('derive from the current KEK and stay readable under older versions', () => {
    const fromA = ringA.systemKey('quarantine');
    expect(fromA.kekVersion).toBe(A.version);
    expect(fromA.key.length).toBe(32);
    const fromBA = ringBA.systemKey('quarantine');
    expect(fromBA.kekVersion).toBe(B.version);
    expect(hex(fromBA.key)).not.toBe(hex(fromA.key));
    expect(hex(ringBA.systemKeyForVersion('quarantine', A.version))).toBe(hex(fromA.key));
    expect(codeOf(() => ringA.systemKeyForVersion('quarantine', B.version))).toBe('key_missing');
    expect(codeOf(() => ringA.systemKeyForVersion('other' as never, A.version))).toBe('invalid_argument');
  });

  it('differ from index keys and from the KEK', () => {
    const sys = hex(ringA.systemKey('quarantine').key);
    expect(sys).not.toBe(hex(A.key));
    for (const p of INDEX_PURPOSES) expect(hex(ringA.indexKey(p))).not.toBe(sys);
  });
});
