import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { openField, sealField } from '../../src/archive/envelope.js';
import { createKeyRing, unwrapIndexRoot, wrapIndexRoot, wrappedKekVersion, type KeyRing } from '../../src/archive/keyring.js';
import type { MasterKey } from '../../src/archive/master-key.js';
import { initSodium, randomBytes } from '../../src/archive/sodium.js';
import { RelaisError } from '../../src/core/errors.js';
import { newMasterKey } from './keys-seed.js';

/**
 * Properties of the crypto paths a master-key rotation takes (the row-level paths —
 * fields, wrapped keys, media streams — are covered in test/unit/archive-*.test.ts).
 */
function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RelaisError);
    return (err as RelaisError).code;
  }
  return undefined;
}

let pool: MasterKey[];
beforeAll(async () => {
  await initSodium();
  pool = Array.from({ length: 5 }, () => newMasterKey());
});

/** An old key list and a new one that adds a key in front (the rollout order), as indexes into `pool`. */
const rotationArb = fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 2 })).map(([oldLen, extra]) => ({ oldLen, extra }));
const ctxArb = fc.record({ customerId: fc.oneof(fc.uuid(), fc.string({ unit: 'binary', minLength: 1, maxLength: 30 })), dekVersion: fc.integer({ min: 0, max: 0xffffffff }) });
const rings = (oldLen: number, extra: number) => {
  const oldKeys = pool.slice(1, 1 + oldLen);
  const newKey = pool[0]!;
  return {
    old: createKeyRing(oldKeys),
    next: createKeyRing([newKey, ...oldKeys]),
    /** A replica that already has the new key but not yet first. */
    behind: createKeyRing([...oldKeys, newKey]),
    onlyNew: createKeyRing([newKey, ...pool.slice(1 + oldLen, 1 + oldLen + extra)]),
    newKey,
  };
};
const rewrap = (ring: KeyRing, wrapped: Uint8Array, ctx: { customerId: string; dekVersion: number }) => ring.wrapDataKey(ring.unwrapDataKey(wrapped, ctx), ctx).wrapped;

describe('rotation crypto properties', () => {
  it('a rewrapped data key is the same key, under the new version, readable by every ring that loaded the new key and by no other', () => {
    fc.assert(fc.property(rotationArb, ctxArb, ({ oldLen, extra }, ctx) => {
      const r = rings(oldLen, extra);
      const dek = r.old.newDataKey();
      const before = r.old.wrapDataKey(dek, ctx).wrapped;
      const after = rewrap(r.next, before, ctx);
      expect(wrappedKekVersion(after)).toBe(r.newKey.version);
      for (const ring of [r.next, r.behind, r.onlyNew]) expect(ring.unwrapDataKey(after, ctx)).toEqual(dek);
      // Mid-rotation both forms coexist; a replica that still lists the old key first reads both.
      expect(r.behind.unwrapDataKey(before, ctx)).toEqual(dek);
      expect(codeOf(() => r.old.unwrapDataKey(after, ctx))).toBe('key_missing');
      expect(codeOf(() => r.onlyNew.unwrapDataKey(before, ctx))).toBe('key_missing');
    }), { numRuns: 60 });
  });

  it('a rewrapped data key is rejected after any bit flip, truncation, or when presented for another customer or version', () => {
    fc.assert(fc.property(rotationArb, ctxArb, ctxArb, fc.nat(), fc.nat(), ({ oldLen, extra }, ctx, other, bit, cut) => {
      fc.pre(other.customerId !== ctx.customerId || other.dekVersion !== ctx.dekVersion);
      const r = rings(oldLen, extra);
      const after = rewrap(r.next, r.old.wrapDataKey(r.old.newDataKey(), ctx).wrapped, ctx);
      const flipped = after.slice();
      const at = bit % (after.length * 8);
      flipped[at >> 3]! ^= 1 << (at & 7);
      expect(['decrypt_failed', 'key_missing']).toContain(codeOf(() => r.next.unwrapDataKey(flipped, ctx)));
      expect(codeOf(() => r.next.unwrapDataKey(after.subarray(0, cut % after.length), ctx))).toBe('decrypt_failed');
      expect(codeOf(() => r.next.unwrapDataKey(after, other))).toBe('decrypt_failed');
    }), { numRuns: 100 });
  });

  it('the index root survives any rotation unchanged, and a rewrapped root cannot stand in for a data key', () => {
    fc.assert(fc.property(rotationArb, ({ oldLen, extra }) => {
      const r = rings(oldLen, extra);
      const root = randomBytes(32);
      const after = wrapIndexRoot(r.next, unwrapIndexRoot(r.old, wrapIndexRoot(r.old, root)));
      expect(unwrapIndexRoot(r.onlyNew, after)).toEqual(root);
      expect(createKeyRing([r.newKey], { indexRoot: unwrapIndexRoot(r.onlyNew, after) }).indexKey('wamid'))
        .toEqual(createKeyRing(pool.slice(1, 1 + oldLen), { indexRoot: root }).indexKey('wamid'));
      expect(codeOf(() => r.next.unwrapDataKey(after, { customerId: 'index-root', dekVersion: 1 }))).toBe('decrypt_failed');
    }), { numRuns: 30 });
  });

  it('a re-sealed quarantine payload opens under the new system key only, and not in another row', () => {
    fc.assert(fc.property(rotationArb, fc.uint8Array({ maxLength: 2048 }), fc.uuid(), fc.uuid(), ({ oldLen, extra }, payload, id, otherId) => {
      fc.pre(id !== otherId);
      const r = rings(oldLen, extra);
      const { key: oldKey, kekVersion: oldV } = r.old.systemKey('quarantine');
      const sealed = sealField(oldKey, { table: 'quarantine', column: 'payload_enc', rowId: id, keyVersion: oldV }, payload);
      const plain = openField(r.next.systemKeyForVersion('quarantine', oldV), { table: 'quarantine', column: 'payload_enc', rowId: id, keyVersion: oldV }, sealed);
      const { key, kekVersion } = r.next.systemKey('quarantine');
      const resealed = sealField(key, { table: 'quarantine', column: 'payload_enc', rowId: id, keyVersion: kekVersion }, plain);
      const ctx = { table: 'quarantine', column: 'payload_enc', rowId: id, keyVersion: kekVersion };
      expect(openField(r.onlyNew.systemKeyForVersion('quarantine', kekVersion), ctx, resealed)).toEqual(payload);
      expect(codeOf(() => openField(r.onlyNew.systemKeyForVersion('quarantine', kekVersion), { ...ctx, rowId: otherId }, resealed))).toBe('decrypt_failed');
      expect(codeOf(() => r.old.systemKeyForVersion('quarantine', kekVersion))).toBe('key_missing');
      expect(codeOf(() => openField(oldKey, { ...ctx, keyVersion: oldV }, resealed))).toBe('decrypt_failed');
    }), { numRuns: 60 });
  });
});
