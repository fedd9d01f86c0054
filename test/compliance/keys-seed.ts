import { randomUUID } from 'node:crypto';
import { asc, eq } from 'drizzle-orm';
import { CustomerKeyStore } from '../../src/archive/customer-keys.js';
import { openFieldText, sealField } from '../../src/archive/envelope.js';
import type { KeyRing } from '../../src/archive/keyring.js';
import { masterKeyVersion, type MasterKey } from '../../src/archive/master-key.js';
import { randomBytes, toHex } from '../../src/archive/sodium.js';
import type { Db } from '../../src/db/client.js';
import { customerKeys, customers, messages, quarantine } from '../../src/db/schema/index.js';

/** A fresh master key with its derived version. Needs initSodium(). */
export function newMasterKey(): MasterKey {
  const key = randomBytes(32);
  return { version: masterKeyVersion(key), key };
}

/** Base64 key list as RELAIS_MASTER_KEY takes it. */
export function keyList(...keys: MasterKey[]): string {
  return keys.map((k) => Buffer.from(k.key).toString('base64')).join(',');
}

/**
 * Stores `count` customers the way the inbox does (a wrapped DEK under the ring's current KEK, a
 * sealed wa_id) with `messagesEach` sealed messages each, in multi-row inserts. Returns the ids.
 */
export async function seedCustomers(db: Db, ring: KeyRing, count: number, messagesEach = 2): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < count; start += 250) {
    const n = Math.min(250, count - start);
    const cust: (typeof customers.$inferInsert)[] = [];
    const keys: (typeof customerKeys.$inferInsert)[] = [];
    const msgs: (typeof messages.$inferInsert)[] = [];
    for (let i = 0; i < n; i++) {
      const id = randomUUID();
      ids.push(id);
      const dek = ring.newDataKey();
      const { wrapped, kekVersion } = ring.wrapDataKey(dek, { customerId: id, dekVersion: 1 });
      keys.push({ customerId: id, version: 1, wrapped, kekVersion });
      cust.push({
        id, phoneNumberId: '106540352242922', customerBidx: toHex(randomBytes(32)), keyVersion: 1, channelKey: toHex(randomBytes(13)),
        waIdEnc: sealField(dek, { table: 'customers', column: 'wa_id_enc', rowId: id, keyVersion: 1 }, `4915${start + i}`),
      });
      for (let m = 0; m < messagesEach; m++) {
        const mid = randomUUID();
        msgs.push({
          id: mid, customerId: id, direction: 'inbound', type: 'text', keyVersion: 1,
          contentEnc: sealField(dek, { table: 'messages', column: 'content_enc', rowId: mid, keyVersion: 1 }, bodyOf(id, m)),
        });
      }
    }
    await db.transaction(async (tx) => {
      await tx.insert(customers).values(cust);
      await tx.insert(customerKeys).values(keys);
      if (msgs.length) await tx.insert(messages).values(msgs);
    });
  }
  return ids;
}

/** The plaintext seeded for message `m` of customer `id`. */
export function bodyOf(id: string, m: number): string {
  return `message ${m} of ${id}: bonjour, ça va ?`;
}

/** Quarantined payloads sealed like wiring/inbound.ts does, under the ring's current KEK. */
export async function seedQuarantine(db: Db, ring: KeyRing, payloads: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const p of payloads) {
    const { key, kekVersion } = ring.systemKey('quarantine');
    const id = randomUUID();
    ids.push(id);
    const payloadEnc = sealField(key, { table: 'quarantine', column: 'payload_enc', rowId: id, keyVersion: kekVersion }, p);
    await db.insert(quarantine).values({ id, reason: 'unknown_number', payloadEnc, kekVersion });
  }
  return ids;
}

/** Opens every seeded message with a fresh key store on `ring`; returns how many matched their seeded text. */
export async function decryptAll(db: Db, ring: KeyRing): Promise<number> {
  const store = new CustomerKeyStore(ring);
  const rows = await db.select().from(messages).orderBy(asc(messages.customerId), asc(messages.id));
  const seen = new Map<string, string[]>();
  for (const r of rows) {
    const dek = await store.get(db, r.customerId, r.keyVersion);
    const text = openFieldText(dek, { table: 'messages', column: 'content_enc', rowId: r.id, keyVersion: r.keyVersion }, r.contentEnc);
    seen.set(r.customerId, [...(seen.get(r.customerId) ?? []), text]);
  }
  let ok = 0;
  for (const [id, texts] of seen) {
    for (const t of texts) if (t === bodyOf(id, 0) || t === bodyOf(id, 1) || t === bodyOf(id, 2)) ok++;
  }
  return ok;
}

/** Every message's content_enc as hex, by id (to prove rotation never rewrites bodies). */
export async function bodySnapshot(db: Db): Promise<Map<string, string>> {
  const rows = await db.select({ id: messages.id, c: messages.contentEnc }).from(messages);
  return new Map(rows.map((r) => [r.id, Buffer.from(r.c).toString('hex')]));
}

/** KEK versions of all customer_keys rows, read from the column and from the blob header. */
export async function dataKeyVersions(db: Db): Promise<{ column: number; header: number }[]> {
  const rows = await db.select({ v: customerKeys.kekVersion, w: customerKeys.wrapped }).from(customerKeys);
  return rows.map((r) => ({ column: r.v, header: new DataView(r.w.buffer, r.w.byteOffset, r.w.byteLength).getUint32(1) }));
}

/** Flips one byte of a customer's wrapped key (what an attacker with database access could do). */
export async function tamperDataKey(db: Db, customerId: string): Promise<void> {
  const [row] = await db.select().from(customerKeys).where(eq(customerKeys.customerId, customerId));
  const w = new Uint8Array(row!.wrapped);
  w[40]! ^= 0x01;
  await db.update(customerKeys).set({ wrapped: w }).where(eq(customerKeys.customerId, customerId));
}
