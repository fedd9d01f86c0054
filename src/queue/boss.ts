import { PgBoss, fromDrizzle, fromPglite, type SendOptions } from 'pg-boss';
import { sql } from 'drizzle-orm';
import type { Database, Db } from '../db/client.js';
import { dbErrorFields, type Logger } from '../log.js';

/** Queue names. Each has an explicit retry/expiry policy below: pg-boss defaults are too weak. */
export const QUEUES = {
  relay: 'relay',
  relayDead: 'relay_dlq',
  send: 'send',
  sendDead: 'send_dlq',
  indicator: 'indicator',
  templates: 'templates',
  retention: 'retention',
  erasures: 'erasures',
} as const;

/**
 * Relay queue policy. `key_strict_fifo` keyed by customer keeps each conversation in order. A
 * job's last allowed attempt is settled by the worker (dead-letter copy, job completed), never
 * failed: a failed job would hold its key and stall the conversation (see workInBatches). Only a
 * job whose worker dies on every attempt (expiry) ends `failed`; redrive it from the admin API.
 * Heartbeats make a SIGKILLed worker's job come back in ~30 s instead of pg-boss's 15 min.
 */
export const RELAY_QUEUE_OPTIONS = {
  policy: 'key_strict_fifo',
  retryLimit: 12,
  retryDelay: 2,
  retryBackoff: true,
  retryDelayMax: 600,
  expireInSeconds: 300,
  heartbeatSeconds: 30,
  retentionSeconds: 14 * 24 * 3600,
  deleteAfterSeconds: 7 * 24 * 3600,
  deadLetter: QUEUES.relayDead,
  // NOTIFY wakes the workers at once (webhook → chat post p50 ~10-20 ms instead of ~270 ms of
  // polling at 0.5 s). PostgreSQL serialises the commits of transactions that issued a NOTIFY, which
  // capped the webhook path when each webhook had its own transaction; with group commit one NOTIFY
  // covers a whole batch of webhooks (measured in docs/performance.md).
  notify: true,
} as const;

/** Agent → WhatsApp: FIFO per customer; rate limits are retried in place first (see send worker). */
export const SEND_QUEUE_OPTIONS = {
  ...RELAY_QUEUE_OPTIONS,
  retryLimit: 10,
  deadLetter: 'send_dlq',
} as const;

/** Delivery indicators on agents' posts: cheap, retried a few times, order does not matter (monotonic). */
export const INDICATOR_QUEUE_OPTIONS = {
  policy: 'standard', retryLimit: 5, retryDelay: 2, retryBackoff: true, retryDelayMax: 120,
  expireInSeconds: 60, retentionSeconds: 3 * 24 * 3600, deleteAfterSeconds: 24 * 3600, notify: false,
} as const;

/** Template sync: one at a time across replicas. */
export const TEMPLATES_QUEUE_OPTIONS = {
  policy: 'singleton', retryLimit: 5, retryDelay: 30, retryBackoff: true, retryDelayMax: 3600, expireInSeconds: 120,
} as const;

/**
 * Daily retention run (src/wiring/retention.ts): one active at a time across replicas; a run
 * that dies is retried (it resumes: every batch is committed on its own). Heartbeats bring a
 * SIGKILLed run back in a minute rather than after the expiry.
 */
export const RETENTION_QUEUE_OPTIONS = {
  policy: 'singleton', retryLimit: 3, retryDelay: 300, retryBackoff: true, retryDelayMax: 3600,
  expireInSeconds: 6 * 3600, heartbeatSeconds: 60, retentionSeconds: 14 * 24 * 3600, deleteAfterSeconds: 30 * 24 * 3600,
} as const;

/** Erasure upkeep (pending chat steps, rows restored from backups): one run at a time, hourly. */
export const ERASURES_QUEUE_OPTIONS = {
  policy: 'singleton', retryLimit: 2, retryDelay: 300, retryBackoff: true, expireInSeconds: 3600,
  retentionSeconds: 7 * 24 * 3600, deleteAfterSeconds: 7 * 24 * 3600,
} as const;

export interface Queue {
  boss: PgBoss;
  /** Enqueues inside the caller's transaction: the job exists only if the transaction commits. */
  sendInTx(tx: Db, queue: string, data: object, options?: SendOptions): Promise<string | null>;
  /** Like `sendInTx` for many jobs in one statement (the queue's policy and retry settings apply). */
  insertInTx(tx: Db, queue: string, jobs: { data: object; singletonKey?: string }[]): Promise<void>;
  stop(opts?: { graceful?: boolean; timeoutMs?: number }): Promise<void>;
}

/**
 * Starts pg-boss on the same database as the archive (PostgreSQL pool of its own, or the shared
 * PGlite engine) and creates the queues. Idempotent across replicas. Does I/O; throws if the
 * database is unreachable.
 */
export async function startQueue(database: Database, logger: Logger, opts: { supervise?: boolean } = {}): Promise<Queue> {
  const boss = database.kind === 'pglite'
    ? new PgBoss({ db: fromPglite(database.pglite!), backend: 'pglite', supervise: opts.supervise ?? true, schedule: true, useListenNotify: true, registerInstance: false })
    : new PgBoss({ connectionString: database.url!, max: 4, supervise: opts.supervise ?? true, schedule: true, useListenNotify: true, registerInstance: false });
  boss.on('error', (err: Error) => logger.error({ err }, 'job queue error'));
  boss.on('warning', (w: unknown) => logger.warn({ warning: typeof w === 'object' ? (w as { message?: string }).message : String(w) }, 'job queue warning'));
  await boss.start();
  await ensureQueue(boss, QUEUES.relayDead, { retentionSeconds: 30 * 24 * 3600 });
  await ensureQueue(boss, QUEUES.relay, RELAY_QUEUE_OPTIONS);
  await ensureQueue(boss, QUEUES.sendDead, { retentionSeconds: 30 * 24 * 3600 });
  await ensureQueue(boss, QUEUES.send, SEND_QUEUE_OPTIONS);
  await ensureQueue(boss, QUEUES.indicator, INDICATOR_QUEUE_OPTIONS);
  await ensureQueue(boss, QUEUES.templates, TEMPLATES_QUEUE_OPTIONS);
  await ensureQueue(boss, QUEUES.retention, RETENTION_QUEUE_OPTIONS);
  await ensureQueue(boss, QUEUES.erasures, ERASURES_QUEUE_OPTIONS);
  return {
    boss,
    sendInTx: (tx, queue, data, options) => boss.send(queue, data, { ...options, db: fromDrizzle(tx as never, sql as never) }),
    insertInTx: async (tx, queue, jobs) => {
      if (jobs.length) await boss.insert(queue, jobs, { db: fromDrizzle(tx as never, sql as never) });
    },
    stop: async ({ graceful = true, timeoutMs = 20_000 } = {}) => {
      await boss.stop({ graceful, timeout: timeoutMs, close: true, wait: true } as never);
    },
  };
}

/**
 * Registers a worker that fetches up to `batchSize` jobs per poll and runs them concurrently,
 * settling each on its own (a failure retries only that job). pg-boss workers poll: one job per
 * poll per worker would cap a queue at workers × 2 jobs/s. `key_strict_fifo` never hands out two
 * jobs of one key at once, so a batch never runs two jobs of the same conversation together.
 * `handle` throws to fail its job (retry per the queue policy). `attempt.last` is true on the
 * final attempt the policy allows: a `key_strict_fifo` job that fails then stays `failed` and
 * holds its key, blocking every later job of that conversation until someone deletes or retries
 * it, so handlers settle their last attempt themselves (dead-letter copy, notice) instead of
 * throwing.
 */
export async function workInBatches<T extends object>(
  boss: PgBoss,
  queue: string,
  opts: { workers: number; batchSize: number },
  handle: (data: T, jobId: string, attempt: { retryCount: number; last: boolean }) => Promise<void>,
): Promise<void> {
  await boss.work<T>(queue, {
    localConcurrency: opts.workers, batchSize: opts.batchSize, perJobResults: true, includeMetadata: true,
    pollingIntervalSeconds: 0.5, notifyPollingIntervalSeconds: 0.5, burstWhenBatchFull: true,
  } as never, (async (jobs: { id: string; data: T; retryCount: number; retryLimit: number }[]) => Promise.all(jobs.map(async (job) => {
    try {
      await handle(job.data, job.id, { retryCount: job.retryCount, last: job.retryCount >= job.retryLimit });
      return { id: job.id, status: 'completed' as const };
    } catch (err) {
      return { id: job.id, status: 'failed' as const, output: dbErrorFields(err) };
    }
  }))) as never);
}

/**
 * Deletes the still-queued jobs of `queue` under singleton key `key` whose `data[field]` is one of
 * `values`: jobs a drain made pointless (see the relay and send workers). Call it only from a job
 * of the same key on a key_strict_fifo queue, so none of them can be running meanwhile. Never
 * throws: a job left behind only finds nothing to do; the failure is logged.
 */
export async function removeQueuedJobs(boss: PgBoss, logger: Logger, queue: string, key: string, field: string, values: readonly string[]): Promise<void> {
  try {
    const wanted = new Set(values);
    const queued = await boss.findJobs<Record<string, unknown>>(queue, { key, queued: true, limit: 1000 });
    const done = queued.filter((j) => typeof j.data?.[field] === 'string' && wanted.has(j.data[field] as string)).map((j) => j.id);
    if (done.length) await boss.deleteJob(queue, done);
  } catch (err) {
    logger.warn({ queue, err: dbErrorFields(err) }, 'could not remove queued jobs made pointless by a drain; they will find nothing to do');
  }
}

async function ensureQueue(boss: PgBoss, name: string, options: object): Promise<void> {
  const existing = await boss.getQueue(name);
  if (!existing) {
    await boss.createQueue(name, options as never);
  } else {
    // A queue's policy is fixed at creation; everything else follows this release's settings.
    const { policy: _policy, ...rest } = options as { policy?: string };
    await boss.updateQueue(name, rest as never);
  }
}
