/**
 * Master-key (KEK) rotation: rewraps every stored key that is not under the ring's current KEK —
 * customer data keys (`customer_keys`), the blind-index root (`settings.index_root`) — and
 * re-seals quarantined payloads (their system key derives from the KEK). Message bodies, media
 * and every other sealed column are never touched: they are sealed with data keys, which do not
 * change.
 *
 * Online and safe to run twice at once: each batch is one transaction that locks its rows with
 * `FOR UPDATE SKIP LOCKED`, so concurrent runs (or a run and an erasure) never wait on or
 * overwrite each other. Resumable by construction: a run only looks for what is not current yet.
 */
import { and, asc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import { openField, sealField } from '../archive/envelope.js';
import { unwrapIndexRoot, wrapIndexRoot, wrappedKekVersion, type KeyRing } from '../archive/keyring.js';
import { memzero } from '../archive/sodium.js';
import { reportDecryptFailure, type DecryptWatch } from '../core/decrypt-failures.js';
import { RelaisError, errorCode } from '../core/errors.js';
import type { Db } from '../db/client.js';
import { customerKeys, quarantine, settings } from '../db/schema/index.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { appendAudit } from './audit.js';
import { listKeyringMembers, type KeyringMember } from './keyring-heartbeat.js';
import { keyUsage, type KeyUsage } from './key-status.js';

/** Default rows per transaction for data keys. */
export const DEFAULT_BATCH = 500;
/** Quarantined payloads can be up to 3 MB each: smaller batches bound memory. */
const QUARANTINE_BATCH = 20;
/** Passes over what is left (rows skipped because another run held them, or created meanwhile). */
const MAX_PASSES = 3;

export interface RotationDeps {
  db: Db;
  ring: KeyRing;
  logger?: Logger;
  metrics?: Pick<Metrics, 'decryptFailures'>;
}

export interface RotationProgress {
  phase: 'data_keys' | 'quarantine';
  done: number;
  total: number;
}

export interface RotateOptions {
  /** Who runs it, for the audit log (`cli:<user>`). */
  actor: string;
  batchSize?: number;
  /** Skip the replica check (see `checkReplicas`) and rewrap even when rows use a KEK not loaded here (those are left as they are). */
  force?: boolean;
  /** Called after every committed batch. An exception stops the run (committed batches stay done). */
  onProgress?: (p: RotationProgress) => void;
  /** Aborting stops the run after the current batch; the report says `interrupted`. */
  signal?: AbortSignal;
}

export interface RotationReport {
  toVersion: number;
  /** Data keys per KEK version before the run. */
  before: Record<string, number>;
  dataKeys: { rewrapped: number; failed: number };
  indexRoot: 'rewrapped' | 'already_current' | 'absent' | 'failed' | 'not_loaded';
  quarantine: { resealed: number; failed: number };
  /** Still not under `toVersion` after the run (failed rows, rows under unloaded KEKs, rows added meanwhile). */
  remaining: { dataKeys: number; indexRoot: boolean; quarantine: number };
  /** `complete`: nothing left; `incomplete`: something left (see `remaining`); `interrupted`: aborted. */
  outcome: 'complete' | 'incomplete' | 'interrupted';
  warnings: string[];
}

/** Running replicas that matter to a rotation to `toVersion`. */
export interface ReplicaCheck {
  live: KeyringMember[];
  /** Live replicas that have not loaded `toVersion`: they could not read rewrapped keys. */
  missing: KeyringMember[];
  /** Live replicas that can read `toVersion` but still wrap new data keys with another version. */
  behind: KeyringMember[];
}

/** Reads the heartbeats and sorts live replicas by what they mean for a rotation. Read-only. */
export async function checkReplicas(db: Db, toVersion: number): Promise<ReplicaCheck> {
  const live = (await listKeyringMembers(db)).filter((m) => m.live);
  return {
    live,
    missing: live.filter((m) => !m.kekVersions.includes(toVersion)),
    behind: live.filter((m) => m.kekVersions.includes(toVersion) && m.currentKekVersion !== toVersion),
  };
}

const describeMember = (m: KeyringMember) => `${m.instanceId} (current ${m.currentKekVersion}, loaded ${m.kekVersions.join(', ')})`;

/**
 * Rewraps everything not under `ring.currentKekVersion`, in batches; see the module comment.
 * Writes `keys.rotate.start` and `keys.rotate.complete` audit entries (versions and counts only).
 *
 * Throws before changing anything: `RelaisError('rotation_unsafe')` when a running replica has
 * not loaded the current version, `RelaisError('key_missing')` when stored keys use a KEK this
 * ring does not have (both skipped with `force`). Rows that fail to unwrap are counted, logged
 * and reported (never skipped silently); the run goes on with the others.
 */
export async function rotateMasterKey(deps: RotationDeps, opts: RotateOptions): Promise<RotationReport> {
  const { db, ring } = deps;
  const to = ring.currentKekVersion;
  const batchSize = opts.batchSize ?? DEFAULT_BATCH;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
    throw new RelaisError('invalid_argument', 'the batch size must be an integer from 1 to 10000', { retryable: false });
  }
  const watch: DecryptWatch = { logger: deps.logger, metrics: deps.metrics };
  const warnings: string[] = [];

  const replicas = await checkReplicas(db, to);
  if (replicas.missing.length > 0) {
    const msg = `${replicas.missing.length} running replica(s) have not loaded master key version ${to}: ${replicas.missing.map(describeMember).join('; ')}. They could not read data keys rewrapped to it. Deploy the new key list to every replica first (new key added after the current one, then moved first), wait a minute for their heartbeats, then run "relais keys rotate" again`;
    if (!opts.force) throw new RelaisError('rotation_unsafe', `${msg}; --force skips this check`, { retryable: false });
    warnings.push(`--force: ${msg}`);
  }
  for (const m of replicas.behind) {
    warnings.push(`Replica ${m.instanceId} still wraps new data keys with version ${m.currentKekVersion}: put the new key first in its key list, then run "relais keys rotate" again to rewrap what it created meanwhile`);
  }

  const usage = await keyUsage(db);
  const loaded = new Set(ring.kekVersions);
  const unloaded = unloadedVersions(usage, loaded);
  if (unloaded.length > 0) {
    const msg = `stored keys use master key version(s) ${unloaded.join(', ')}, which this command has not loaded; they cannot be rewrapped. Add those keys after the current one in RELAIS_MASTER_KEY for this command`;
    if (!opts.force) throw new RelaisError('key_missing', `${msg} (or use --force to rewrap everything else)`, { retryable: false });
    warnings.push(`--force: ${msg}`);
  }
  const readable = ring.kekVersions.filter((v) => v !== to);
  const before = Object.fromEntries([...usage.dataKeys].map(([v, n]) => [String(v), n]));
  await appendAudit(db, ring, {
    actor: opts.actor, action: 'keys.rotate.start', target: `kek:${to}`,
    details: { toVersion: to, dataKeysByVersion: before, indexRootVersion: usage.indexRoot, quarantineByVersion: Object.fromEntries(usage.quarantine), force: Boolean(opts.force), batchSize },
  }, { logger: deps.logger });

  const report: RotationReport = {
    toVersion: to, before,
    dataKeys: { rewrapped: 0, failed: 0 },
    indexRoot: 'absent',
    quarantine: { resealed: 0, failed: 0 },
    remaining: { dataKeys: 0, indexRoot: false, quarantine: 0 },
    outcome: 'complete',
    warnings,
  };
  let interrupted = false;
  try {
    const dataTotal = readable.reduce((n, v) => n + (usage.dataKeys.get(v) ?? 0), 0);
    const dk = await inBatches<DataKeyCursor>({
      total: dataTotal, batchSize, signal: opts.signal,
      onProgress: (done, total) => opts.onProgress?.({ phase: 'data_keys', done, total }),
      batch: (tx, after, limit, skip) => rewrapDataKeys(tx, ring, readable, after, limit, skip, watch),
      db,
    });
    report.dataKeys = { rewrapped: dk.done, failed: dk.failed };
    interrupted = dk.interrupted;
    if (!interrupted) report.indexRoot = await rewrapIndexRoot(db, ring, watch);
    if (!interrupted) {
      const quarantineTotal = readable.reduce((n, v) => n + (usage.quarantine.get(v) ?? 0), 0);
      const q = await inBatches<string>({
        total: quarantineTotal, batchSize: Math.min(batchSize, QUARANTINE_BATCH), signal: opts.signal,
        onProgress: (done, total) => opts.onProgress?.({ phase: 'quarantine', done, total }),
        batch: (tx, after, limit, skip) => resealQuarantine(tx, ring, readable, after, limit, skip, watch),
        db,
      });
      report.quarantine = { resealed: q.done, failed: q.failed };
      interrupted = q.interrupted;
    }
  } catch (err) {
    await appendAudit(db, ring, {
      actor: opts.actor, action: 'keys.rotate.complete', target: `kek:${to}`,
      details: { toVersion: to, outcome: 'failed', code: errorCode(err), dataKeysRewrapped: report.dataKeys.rewrapped, quarantineResealed: report.quarantine.resealed },
    }, { logger: deps.logger }).catch(() => undefined);
    throw err;
  }

  const after = await keyUsage(db);
  report.remaining = {
    dataKeys: [...after.dataKeys].filter(([v]) => v !== to).reduce((n, [, c]) => n + c, 0),
    indexRoot: after.indexRoot !== null && after.indexRoot !== to,
    quarantine: [...after.quarantine].filter(([v]) => v !== to).reduce((n, [, c]) => n + c, 0),
  };
  const left = report.remaining.dataKeys > 0 || report.remaining.indexRoot || report.remaining.quarantine > 0;
  report.outcome = interrupted ? 'interrupted' : left ? 'incomplete' : 'complete';
  await appendAudit(db, ring, {
    actor: opts.actor, action: 'keys.rotate.complete', target: `kek:${to}`,
    details: {
      toVersion: to, outcome: report.outcome,
      dataKeysRewrapped: report.dataKeys.rewrapped, dataKeysFailed: report.dataKeys.failed,
      indexRoot: report.indexRoot, quarantineResealed: report.quarantine.resealed, quarantineFailed: report.quarantine.failed,
      remaining: report.remaining,
    },
  }, { logger: deps.logger });
  deps.logger?.info({ toVersion: to, outcome: report.outcome, rewrapped: report.dataKeys.rewrapped, failed: report.dataKeys.failed, remaining: report.remaining }, 'master-key rotation finished');
  return report;
}

function unloadedVersions(usage: KeyUsage, loaded: Set<number>): number[] {
  const used = new Set<number>([...usage.dataKeys.keys(), ...usage.quarantine.keys()]);
  if (usage.indexRoot !== null) used.add(usage.indexRoot);
  return [...used].filter((v) => !loaded.has(v)).sort((a, b) => a - b);
}

/** What one batch did: rows changed, rows that failed, and the last key seen (the keyset cursor). */
interface BatchResult<K> { done: number; failed: number; last: K | undefined }

/**
 * Runs `batch` in its own transaction until it returns no rows, then starts over from the
 * beginning (rows skipped because another run held them) up to `MAX_PASSES` times while a pass
 * still changed something. Rows that failed once are passed over (`skip`) by later passes.
 */
async function inBatches<K>(o: {
  db: Db; total: number; batchSize: number; signal?: AbortSignal;
  onProgress: (done: number, total: number) => void;
  batch: (tx: Db, after: K | undefined, limit: number, skip: ReadonlySet<string>) => Promise<BatchResult<K> & { failedKeys: string[] }>;
}): Promise<{ done: number; failed: number; interrupted: boolean }> {
  let done = 0;
  const failed = new Set<string>();
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    let after: K | undefined;
    let changedThisPass = 0;
    for (;;) {
      if (o.signal?.aborted) return { done, failed: failed.size, interrupted: true };
      const r = await o.db.transaction((tx) => o.batch(tx, after, o.batchSize, failed));
      for (const k of r.failedKeys) failed.add(k);
      done += r.done;
      changedThisPass += r.done;
      if (r.last === undefined) break;
      after = r.last;
      o.onProgress(done, Math.max(o.total, done));
    }
    if (changedThisPass === 0) break;
  }
  o.onProgress(done, Math.max(o.total, done));
  return { done, failed: failed.size, interrupted: false };
}

type DataKeyCursor = { customerId: string; version: number };

async function rewrapDataKeys(tx: Db, ring: KeyRing, readable: number[], after: DataKeyCursor | undefined, limit: number, skip: ReadonlySet<string>, watch: DecryptWatch) {
  if (readable.length === 0) return { done: 0, failed: 0, last: undefined, failedKeys: [] };
  const where: SQL[] = [inArray(customerKeys.kekVersion, readable)];
  if (after) where.push(sql`(${customerKeys.customerId}, ${customerKeys.version}) > (${after.customerId}::uuid, ${after.version}::integer)`);
  const rows = await tx.select({ customerId: customerKeys.customerId, version: customerKeys.version, wrapped: customerKeys.wrapped })
    .from(customerKeys).where(and(...where))
    .orderBy(asc(customerKeys.customerId), asc(customerKeys.version)).limit(limit)
    .for('update', { skipLocked: true });
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
  return { done: updates.length, failed: failedKeys.length, last: lastRow && { customerId: lastRow.customerId, version: lastRow.version }, failedKeys };
}

async function resealQuarantine(tx: Db, ring: KeyRing, readable: number[], after: string | undefined, limit: number, skip: ReadonlySet<string>, watch: DecryptWatch) {
  if (readable.length === 0) return { done: 0, failed: 0, last: undefined, failedKeys: [] };
  const where: SQL[] = [inArray(quarantine.kekVersion, readable)];
  if (after) where.push(sql`${quarantine.id} > ${after}::uuid`);
  const rows = await tx.select({ id: quarantine.id, payloadEnc: quarantine.payloadEnc, kekVersion: quarantine.kekVersion })
    .from(quarantine).where(and(...where)).orderBy(asc(quarantine.id)).limit(limit)
    .for('update', { skipLocked: true });
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
  return { done, failed: failedKeys.length, last: rows.at(-1)?.id, failedKeys };
}

/** Rewraps the blind-index root under the current KEK (row locked; a concurrent run waits, then finds it current). */
async function rewrapIndexRoot(db: Db, ring: KeyRing, watch: DecryptWatch): Promise<RotationReport['indexRoot']> {
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
