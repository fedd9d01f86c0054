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
import type { KeyRing } from '../archive/keyring.js';
import type { DecryptWatch } from '../core/decrypt-failures.js';
import { RelaisError, errorCode } from '../core/errors.js';
import type { Db } from '../db/client.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { appendAudit } from './audit.js';
import { listKeyringMembers, type KeyringMember } from './keyring-heartbeat.js';
import { inBatches, resealQuarantine, rewrapDataKeys, rewrapIndexRoot, type DataKeyCursor } from './key-rewrap.js';
import { keyUsage, type KeyUsage } from './key-status.js';

/** Default rows per transaction for data keys. */
export const DEFAULT_BATCH = 500;
/** Quarantined payloads can be up to 3 MB each: smaller batches bound memory. */
const QUARANTINE_BATCH = 20;

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
      batch: (tx, page) => rewrapDataKeys(tx, ring, readable, page, watch),
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
        batch: (tx, page) => resealQuarantine(tx, ring, readable, page, watch),
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
