import { randomUUID } from 'node:crypto';
import type { CustomerKeyStore } from '../archive/customer-keys.js';
import { sealField } from '../archive/envelope.js';
import type { KeyRing } from '../archive/keyring.js';
import type { ChatPlatform } from '../chat/platform.js';
import { routeForNumber, type RelaisConfig } from '../config/load.js';
import { errorCode, isRetryable } from '../core/errors.js';
import { persistWebhooks } from '../core/inbox.js';
import { createGroupCommit } from '../db/group-commit.js';
import type { ParsedWebhook } from '../core/messages.js';
import { createRelayWorker, type MediaSource } from '../core/relay-worker.js';
import type { Database, Db } from '../db/client.js';
import { quarantine as quarantineTable } from '../db/schema/index.js';
import { dbErrorFields, type Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { QUEUES, removeQueuedJobs, workInBatches, type Queue } from '../queue/boss.js';
import { mediaCap } from '../whatsapp/media-limits.js';

/**
 * What the webhook route calls to make a verified webhook durable: one transaction with the
 * messages, their relay jobs, statuses (and indicator jobs) and, for what cannot be routed, a
 * sealed quarantine row. Resolves only once committed; throws when the database is unavailable.
 */
export function createWebhookStore(d: {
  database: Database; queue: Queue; ring: KeyRing; keys: CustomerKeyStore; metrics: Metrics; logger: Logger;
  customerCache: Map<string, { id: string; keyVersion: number }>;
  isKnownNumber(phoneNumberId: string): boolean;
  outbound?: { enqueueIndicator(tx: Db, job: { outboxId: string; customerId: string }): Promise<void>; enqueueTemplateSync(tx: Db): Promise<void> };
}) {
  type Outcome = { stored: number; duplicates: number; statuses: number; quarantined: boolean };
  type Item = { raw: Uint8Array; parsed: ParsedWebhook };

  /**
   * One transaction for a batch of webhooks: one multi-row message insert, one job insert. When it
   * fails on a foreign key, a cached customer was erased meanwhile (by `relais erase` in another
   * process): the cache is dropped and the batch runs once more, so the person becomes a new
   * customer at once instead of the webhook failing until Meta retries it.
   */
  const persistBatch = (items: Item[]): Promise<Outcome[]> => persistOnce(items).catch((err: unknown) => {
    if (dbErrorFields(err).code !== FOREIGN_KEY_VIOLATION) throw err;
    d.logger.info({ size: items.length }, 'webhook batch referenced a customer erased meanwhile; retrying without the customer cache');
    return persistOnce(items);
  });
  const persistOnce = async (items: Item[]): Promise<Outcome[]> => {
    const committed = await d.database.db.transaction(async (tx) => {
      const results = await persistWebhooks(tx, {
        ring: d.ring, keys: d.keys, customerCache: d.customerCache, isKnownNumber: d.isKnownNumber,
        enqueueRelays: (t, jobs) => d.queue.insertInTx(t, QUEUES.relay, jobs.map((job) => ({ data: job, singletonKey: job.customerId }))),
        enqueueIndicator: d.outbound?.enqueueIndicator,
      }, items.map((i) => i.parsed));
      const reasons: (string | undefined)[] = [];
      for (const [i, { raw, parsed }] of items.entries()) {
        const r = results[i]!;
        if (d.outbound && parsed.otherFields.some((f) => f.field === 'message_template_status_update')) await d.outbound.enqueueTemplateSync(tx);
        const reason = r.unroutable > 0 ? 'unknown_phone_number_id' : r.anonymous > 0 ? 'no_customer_identity' : undefined;
        if (reason) await insertQuarantine(tx, d.ring, raw, reason, parsed.phoneNumberIds.find((id) => !d.isKnownNumber(id)));
        reasons.push(reason);
      }
      return { results, reasons };
    }).catch((err: unknown) => {
      // The customer cache may hold a customer this transaction created and rolled back
      // (a webhook with two messages of a new customer finds it uncommitted).
      d.customerCache.clear();
      throw err;
    });
    // Counted once committed: a rolled-back webhook (answered 503, retried by Meta) is not counted twice.
    return committed.results.map((r, i) => {
      const reason = committed.reasons[i];
      for (const s of r.stored) d.metrics.inboundMessages.inc({ type: s.type.split(':')[0]!, duplicate: 'false' });
      for (const x of r.duplicates) d.metrics.inboundMessages.inc({ type: x.type.split(':')[0]!, duplicate: 'true' });
      for (const s of r.statuses) d.metrics.statusUpdates.inc({ status: s.status });
      if (reason) {
        d.metrics.webhooksQuarantined.inc({ reason });
        d.logger.warn({ reason, unroutable: r.unroutable, anonymous: r.anonymous }, 'webhook had messages Relais cannot route; quarantined');
      }
      return { stored: r.stored.length, duplicates: r.duplicates.length, statuses: r.statuses.length, quarantined: Boolean(reason) };
    });
  };
  const accept = createGroupCommit<Item, Outcome>({
    maxBatch: GROUP_COMMIT_MAX_BATCH,
    // PGlite runs one transaction at a time anyway; PostgreSQL keeps a few going at once.
    maxInFlight: d.database.kind === 'pglite' ? 1 : GROUP_COMMIT_IN_FLIGHT,
    run: persistBatch,
    onBatchFailure: (err, size) => d.logger.warn({ size, err: dbErrorFields(err) }, 'a batch of webhooks failed to commit; retrying each on its own'),
  });

  return {
    accept: (raw: Uint8Array, parsed: ParsedWebhook) => accept({ raw, parsed }),
    quarantine: async (raw: Uint8Array, reason: string) => { await insertQuarantine(d.database.db, d.ring, raw, reason); },
  };
}

/** SQLSTATE foreign_key_violation. */
const FOREIGN_KEY_VIOLATION = '23503';

/** Webhooks committed together at most (bounds a transaction's size and lock time). */
const GROUP_COMMIT_MAX_BATCH = 64;
/** Webhook transactions under way at once on PostgreSQL (the pool has 10 connections). */
const GROUP_COMMIT_IN_FLIGHT = 3;

/** Keeps signed bytes Relais could not use, sealed with the quarantine system key. */
async function insertQuarantine(db: Db, ring: KeyRing, raw: Uint8Array, reason: string, phoneNumberId?: string): Promise<void> {
  const { key, kekVersion } = ring.systemKey('quarantine');
  const id = randomUUID();
  const payloadEnc = sealField(key, { table: 'quarantine', column: 'payload_enc', rowId: id, keyVersion: kekVersion }, raw);
  await db.insert(quarantineTable).values({ id, reason, phoneNumberId: phoneNumberId ?? null, payloadEnc, kekVersion });
}

/**
 * Runs the relay queue in this process: retryable failures go back to the queue (backoff per the
 * queue policy), permanent ones are parked in the dead-letter queue and counted.
 */
export async function startRelayWorkers(d: {
  database: Database; queue: Queue; keys: CustomerKeyStore; platform: ChatPlatform; mediaSource: MediaSource;
  metrics: Metrics; logger: Logger; config: RelaisConfig; afterPostBeforeCommit?: (messageId: string) => Promise<void>;
}): Promise<void> {
  const { config, metrics, logger, queue } = d;
  const relay = createRelayWorker({
    db: d.database.db, keys: d.keys, platform: d.platform, media: d.mediaSource, metrics, logger, lang: config.language,
    route: (id) => {
      const r = routeForNumber(config, id);
      return r && { ...r, label: config.whatsapp.numbers.find((n) => n.phoneNumberId === id)?.label };
    },
    mediaCap: (m) => Math.min(config.mediaMaxBytes, mediaCap(m.kind, { animated: m.animated })),
    afterPostBeforeCommit: d.afterPostBeforeCommit,
    notePrefix: config.notePrefix,
    // The jobs of messages a drain already relayed are deleted while still queued. Safe under
    // key_strict_fifo: no other job of this customer can be active while this one runs. A job
    // missed here (or deleted twice) is harmless: it would find its message posted.
    onDrained: (customerId, messageIds) => removeQueuedJobs(queue.boss, logger, QUEUES.relay, customerId, 'messageId', messageIds),
  });
  await workInBatches<{ messageId: string; customerId?: string }>(queue.boss, QUEUES.relay, { workers: 2, batchSize: config.relayConcurrency }, async (data, jobId, attempt) => {
    try {
      await relay(data);
    } catch (err) {
      const retryable = isRetryable(err);
      metrics.relayFailures.inc({ code: errorCode(err), retryable: String(retryable) });
      logger.warn({ job: jobId, messageId: data.messageId, code: errorCode(err), retryable, attempt: attempt.retryCount, err: dbErrorFields(err) }, 'relay attempt failed');
      if (retryable && !attempt.last) { metrics.retries.inc({ queue: QUEUES.relay }); throw err; }
      // Permanent, or retries exhausted: park a copy in the dead-letter queue and let the
      // conversation go on. A message left pending is posted, in order, by the customer's next
      // relay job (it drains the backlog), or by a redrive.
      await queue.boss.send(QUEUES.relayDead, { ...data, code: retryable ? 'retries_exhausted' : errorCode(err), cause: errorCode(err) });
      metrics.deadLetters.inc({ queue: QUEUES.relay });
    }
  });
}
