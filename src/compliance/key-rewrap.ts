/**
 * The batches of a master-key rotation (see key-rotation.ts): each page is one transaction that
 * locks its rows, rewraps them under the ring's current KEK and writes them back. Keys are
 * unwrapped and rewrapped in memory only; nothing here touches message bodies.
 */
import { and, asc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import { openField, sealField } from '../archive/envelope.js';
import { unwrapIndexRoot, wrapIndexRoot, wrappedKekVersion, type KeyRing } from '../archive/keyring.js';
import { memzero } from '../archive/sodium.js';
import { reportDecryptFailure, type DecryptWatch } from '../core/decrypt-failures.js';
import type { Db } from '../db/client.js';
import { customerKeys, quarantine, settings } from '../db/schema/index.js';

/** Passes that skip locked rows, at most (then one pass that waits for them). */
const MAX_SKIPPING_PASSES = 3;

/** One page of a pass: rows after the cursor, how many, which to pass over, and how to lock. */
export interface Page<K> {
  after: K | undefined;
  limit: number;
  /** Rows that already failed in this run: locked and passed over, never counted twice. */
  skip: ReadonlySet<string>;
  /** `SKIP LOCKED` (take what nobody holds) or wait for rows another run holds. */
  skipLocked: boolean;
}

/** What one page did: rows changed, rows that failed, and the last key seen (the keyset cursor). */
export interface PageResult<K> { done: number; failedKeys: string[]; last: K | undefined }

/**
 * Runs `batch` page by page, each page in its own transaction, until a page returns no rows.
 * The first passes lock with SKIP LOCKED, so concurrent runs share the work instead of queueing;
 * a pass is repeated (from the start) while it changed something, since rows another run held may
 * have been rolled back. A last pass waits for rows still held by another run, then finds them
 * done (PostgreSQL re-checks the WHERE clause after the wait), so the final count is exact.
 */
export async function inBatches<K>(o: {
  db: Db; total: number; batchSize: number; signal?: AbortSignal;
  onProgress: (done: number, total: number) => void;
  batch: (tx: Db, page: Page<K>) => Promise<PageResult<K>>;
}): Promise<{ done: number; failed: number; interrupted: boolean }> {
  let done = 0;
  const failed = new Set<string>();
  for (let pass = 0; ; pass++) {
    let after: K | undefined;
    let changedThisPass = 0;
    const skipLocked = pass < MAX_SKIPPING_PASSES;
    for (;;) {
      if (o.signal?.aborted) return { done, failed: failed.size, interrupted: true };
      const page = { after, limit: o.batchSize, skip: failed, skipLocked };
      const r = await o.db.transaction((tx) => o.batch(tx, page));
      for (const k of r.failedKeys) failed.add(k);
      done += r.done;
      changedThisPass += r.done;
      if (r.last === undefined) break;
      after = r.last;
      o.onProgress(done, Math.max(o.total, done));
    }
    if (!skipLocked) break;
    if (changedThisPass === 0) pass = MAX_SKIPPING_PASSES - 1; // next: the waiting pass
  }
  o.onProgress(done, Math.max(o.total, done));
  return { done, failed: failed.size, interrupted: false };
}

/** Keyset cursor over `customer_keys`. */
export type DataKeyCursor = { customerId: string; version: number };

const lockClause = (skipLocked: boolean) => (skipLocked ? { skipLocked: true as const } : undefined);

/** Rewraps one page of data keys under a KEK in `readable` (never the current one). */
export async function rewrapDataKeys(tx: Db, ring: KeyRing, readable: number[], page: Page<DataKeyCursor>, watch: DecryptWatch): Promise<PageResult<DataKeyCursor>> {
  const { after, limit, skip } = page;
  if (readable.length === 0) return { done: 0, last: undefined, failedKeys: [] };
  const where: SQL[] = [inArray(customerKeys.kekVersion, readable)];
  if (after) where.push(sql`(${customerKeys.customerId}, ${customerKeys.version}) > (${after.customerId}::uuid, ${after.version}::integer)`);
  const rows = await tx.select({ customerId: customerKeys.customerId, version: customerKeys.version, wrapped: customerKeys.wrapped })
    .from(customerKeys).where(and(...where))
    .orderBy(asc(customerKeys.customerId), asc(customerKeys.version)).limit(limit)
    .for('update', lockClause(page.skipLocked));
  const updates: SQL[] = [];
  const failedKeys: string[] = [];
  for (const row of rows) {
    if (skip.has(`${row.customerId}:${row.version}`)) continue;
    const ctx = { customerId: row.customerId, dekVersion: row.version };
    let dek: Uint8Array;
    try {
      dek = ring.unwrapDataKey(row.wrapped, ctx);
    } catch (err) {
      reportDecryptFailure(watch, { table: 'customer_keys', customerId: row.customerId, keyVersion: row.version }, err);
      failedKeys.push(`${row.customerId}:${row.version}`);
      continue;
    }
    const { wrapped, kekVersion } = ring.wrapDataKey(dek, ctx);
    memzero(dek);
    updates.push(sql`(${row.customerId}::uuid, ${row.version}::integer, ${toDriver(wrapped)}::bytea, ${kekVersion}::integer)`);
  }
  if (updates.length > 0) {
    await tx.execute(sql`update customer_keys as k set wrapped = v.wrapped, kek_version = v.kek_version
      from (values ${sql.join(updates, sql`, `)}) as v(customer_id, version, wrapped, kek_version)
      where k.customer_id = v.customer_id and k.version = v.version`);
  }
  const lastRow = rows.at(-1);
  return { done: updates.length, last: lastRow && { customerId: lastRow.customerId, version: lastRow.version }, failedKeys };
}

/** Re-seals one page of quarantined payloads with the system key of the current KEK. */
export async function resealQuarantine(tx: Db, ring: KeyRing, readable: number[], page: Page<string>, watch: DecryptWatch): Promise<PageResult<string>> {
  const { after, limit, skip } = page;
  if (readable.length === 0) return { done: 0, last: undefined, failedKeys: [] };
  const where: SQL[] = [inArray(quarantine.kekVersion, readable)];
  if (after) where.push(sql`${quarantine.id} > ${after}::uuid`);
  const rows = await tx.select({ id: quarantine.id, payloadEnc: quarantine.payloadEnc, kekVersion: quarantine.kekVersion })
    .from(quarantine).where(and(...where)).orderBy(asc(quarantine.id)).limit(limit)
    .for('update', lockClause(page.skipLocked));
  const failedKeys: string[] = [];
  let done = 0;
  for (const row of rows) {
    if (skip.has(row.id)) continue;
    const site = { table: 'quarantine', column: 'payload_enc', rowId: row.id, keyVersion: row.kekVersion };
    let payload: Uint8Array;
    try {
      payload = openField(ring.systemKeyForVersion('quarantine', row.kekVersion), { ...site, keyVersion: row.kekVersion }, row.payloadEnc);
    } catch (err) {
      reportDecryptFailure(watch, site, err);
      failedKeys.push(row.id);
      continue;
    }
    const { key, kekVersion } = ring.systemKey('quarantine');
    const payloadEnc = sealField(key, { table: 'quarantine', column: 'payload_enc', rowId: row.id, keyVersion: kekVersion }, payload);
    memzero(key);
    memzero(payload);
    await tx.update(quarantine).set({ payloadEnc, kekVersion }).where(eq(quarantine.id, row.id));
    done++;
  }
  return { done, last: rows.at(-1)?.id, failedKeys };
}

/** Rewraps the blind-index root under the current KEK (row locked; a concurrent run waits, then finds it current). */
export async function rewrapIndexRoot(db: Db, ring: KeyRing, watch: DecryptWatch): Promise<'rewrapped' | 'already_current' | 'absent' | 'failed' | 'not_loaded'> {
  return db.transaction(async (tx) => {
    const [row] = await tx.select().from(settings).where(eq(settings.key, 'index_root')).limit(1).for('update');
    if (!row) return 'absent';
    const version = row.kekVersion ?? wrappedKekVersion(row.value);
    if (version === ring.currentKekVersion && wrappedKekVersion(row.value) === version) return 'already_current';
    if (!ring.kekVersions.includes(wrappedKekVersion(row.value))) return 'not_loaded';
    let root: Uint8Array;
    try {
      root = unwrapIndexRoot(ring, row.value);
    } catch (err) {
      reportDecryptFailure(watch, { table: 'settings', rowId: 'index_root', keyVersion: version }, err);
      return 'failed';
    }
    const value = wrapIndexRoot(ring, root);
    memzero(root);
    await tx.update(settings).set({ value, kekVersion: wrappedKekVersion(value), updatedAt: new Date() }).where(eq(settings.key, 'index_root'));
    return 'rewrapped';
  });
}

/** Raw `sql` parameters skip the column codec: hand both drivers a Buffer for bytea. */
function toDriver(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
