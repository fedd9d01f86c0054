/**
 * Retention (GDPR Art. 5(1)(e), storage limitation): removes message content older than the
 * configured limit, per business number. See docs/retention.md for what is deleted and what stays.
 *
 * One run, in order, for every business number that has a limit (its `retentionDays`, else
 * RETENTION_DAYS):
 * 1. customer messages received before the cutoff: content emptied, wamid, reply index, media
 *    (frames) and search postings deleted, `content_purged_at` set; metadata stays;
 * 2. agent messages (outbox) created before the cutoff: the same;
 * then, with RETENTION_PRUNE_CHAT, 3. the chat posts of purged messages are deleted (a failure
 *    is retried by the next run);
 * 4. customers with nothing left but purged messages (and, with chat pruning, no post left to
 *    delete) and quiet since the cutoff are retired: sealed identity, phone index and data key
 *    deleted (see `retireCustomerBatch`), their channel archived with chat pruning.
 * Customers under legal hold are left untouched at every step.
 */
import { RelaisError, errorCode } from '../core/errors.js';
import { dbErrorFields } from '../log.js';
import type { ChatChannelRef } from '../chat/platform.js';
import { appendAudit } from './audit.js';
import type { ComplianceDeps } from './deps.js';
import { countPrunable, pruneChatPosts } from './retention-chat.js';
import { retentionPlan, type NumberRetention } from './retention-policy.js';
import { archivedNumbers, countDue, countDuePostsFor, countHeld, purgeMessageBatch, purgeOutboxBatch, retireCustomerBatch } from './retention-purge.js';

/** What a run did (or, dry, would do) for one business number. No personal data. */
export interface NumberOutcome {
  days: number;
  /** ISO instant: content received before it is purged. */
  cutoff: string;
  messages: number;
  media: number;
  outbox: number;
  customersRetired: number;
  /** Customers with content past the cutoff kept by a legal hold. */
  held: number;
}

export interface RetentionResult {
  dryRun: boolean;
  messagesPurged: number;
  mediaDeleted: number;
  outboxPurged: number;
  customersRetired: number;
  chatPostsPruned: number;
  /** Chat deletions (posts, channels) that failed this run; retried by the next. */
  chatFailures: number;
  /** Chat posts of purged messages still to delete after this run (0 when pruning is off: nothing is due). */
  chatPostsPending: number;
  heldSkipped: number;
  perNumber: Record<string, NumberOutcome>;
}

/**
 * Runs retention now (`deps.now`, default the clock). Idempotent: a second run at the same
 * instant finds nothing to do. Safe to run concurrently (other replicas, the CLI): rows are claimed
 * with SKIP LOCKED, so each is purged and counted once. `dryRun` only counts, writes nothing
 * (no audit entry, no metrics). A completed run appends one `retention.run` audit entry; a run that
 * fails part-way appends one with `outcome: "failed"` and the counts so far (what was done is
 * committed), counts `relais_retention_failures_total{stage="run"}` and rethrows.
 * Chat deletions are attempted only with RETENTION_PRUNE_CHAT on and `deps.platform` set.
 */
export async function runRetention(deps: ComplianceDeps, opts: { dryRun?: boolean; batchSize?: number; actor: string }): Promise<RetentionResult> {
  const now = deps.now?.() ?? new Date();
  const batchSize = opts.batchSize ?? 500;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RelaisError('invalid_argument', 'retention batch size must be a positive integer', { retryable: false });
  const { db, metrics } = deps;
  const plan = retentionPlan(deps.config, await archivedNumbers(db), now);
  const result: RetentionResult = {
    dryRun: Boolean(opts.dryRun), messagesPurged: 0, mediaDeleted: 0, outboxPurged: 0, customersRetired: 0,
    chatPostsPruned: 0, chatFailures: 0, chatPostsPending: 0, heldSkipped: 0, perNumber: {},
  };
  const pruneChat = deps.config.compliance.retentionPruneChat;

  if (opts.dryRun) {
    for (const r of plan) {
      const due = await countDue(db, r);
      result.perNumber[r.phoneNumberId] = { days: r.days, cutoff: r.cutoff.toISOString(), messages: due.messages, media: due.media, outbox: due.outbox, customersRetired: due.customers, held: due.held };
      add(result, due.messages, due.media, due.outbox, due.customers, due.held);
    }
    // Already purged posts plus those this run would purge (posted messages among the due ones).
    if (pruneChat) result.chatPostsPending = await countPrunable(db) + await countDuePosts(deps, plan);
    return result;
  }

  const chatFailures: Record<string, number> = {};
  const failedChat = (stage: 'chat_post' | 'chat_channel', code: string) => {
    result.chatFailures++;
    chatFailures[code] = (chatFailures[code] ?? 0) + 1;
    metrics?.retentionFailures.inc({ stage });
  };
  try {
    // 1. The archive first, every number; 2. chat posts; 3. retirements last, because archiving a
    // channel makes its posts undeletable on Mattermost.
    for (const r of plan) {
      const n: NumberOutcome = { days: r.days, cutoff: r.cutoff.toISOString(), messages: 0, media: 0, outbox: 0, customersRetired: 0, held: await countHeld(db, r) };
      result.perNumber[r.phoneNumberId] = n;
      for (;;) {
        const b = await purgeMessageBatch(db, r, now, batchSize);
        n.messages += b.messages;
        n.media += b.media;
        metrics?.retentionPurged.inc({ kind: 'messages' }, b.messages);
        metrics?.retentionPurged.inc({ kind: 'media' }, b.media);
        if (b.claimed < batchSize) break;
      }
      for (;;) {
        const b = await purgeOutboxBatch(db, r, now, batchSize);
        n.outbox += b.outbox;
        metrics?.retentionPurged.inc({ kind: 'outbox' }, b.outbox);
        if (b.claimed < batchSize) break;
      }
    }
    if (pruneChat && deps.platform) {
      const p = await pruneChatPosts(db, deps.platform, {
        batchSize: Math.min(batchSize, 100),
        onDeleted: (k) => metrics?.retentionPurged.inc({ kind: 'chat_posts' }, k),
        onFailed: (code) => failedChat('chat_post', code),
      });
      result.chatPostsPruned = p.deleted;
      if (p.gaveUp) deps.logger.warn({ failures: p.failures }, 'retention: the chat platform kept failing; the remaining chat posts are deleted by the next run');
    }
    for (const r of plan) {
      const n = result.perNumber[r.phoneNumberId]!;
      await retireCustomers(deps, r, now, Math.min(batchSize, 100), n, pruneChat, failedChat);
      add(result, n.messages, n.media, n.outbox, n.customersRetired, n.held);
    }
    if (pruneChat) result.chatPostsPending = await countPrunable(db);
  } catch (err) {
    metrics?.retentionFailures.inc({ stage: 'run' });
    deps.logger.error({ code: errorCode(err), err: dbErrorFields(err) }, 'retention run failed; what was purged so far stays purged, the next run continues');
    await appendAudit(db, deps.ring, { actor: opts.actor, action: 'retention.run', details: auditDetails(result, 'failed', chatFailures, pruneChat, errorCode(err)) }, { logger: deps.logger, now: deps.now?.() })
      .catch((e: unknown) => deps.logger.error({ code: errorCode(e) }, 'retention: the audit entry of a failed run could not be written'));
    throw err;
  }
  await appendAudit(db, deps.ring, { actor: opts.actor, action: 'retention.run', details: auditDetails(result, 'completed', chatFailures, pruneChat) }, { logger: deps.logger, now: deps.now?.() });
  metrics?.retentionLastRun.set((deps.now?.() ?? new Date()).getTime() / 1000);
  deps.logger.info({
    messages: result.messagesPurged, media: result.mediaDeleted, outbox: result.outboxPurged, customers: result.customersRetired,
    chatPosts: result.chatPostsPruned, chatFailures: result.chatFailures, chatPending: result.chatPostsPending, held: result.heldSkipped,
  }, 'retention run completed');
  return result;
}

function add(r: RetentionResult, messages: number, media: number, outbox: number, customers: number, held: number) {
  r.messagesPurged += messages;
  r.mediaDeleted += media;
  r.outboxPurged += outbox;
  r.customersRetired += customers;
  r.heldSkipped += held;
}

/** Retires the number's customers page by page; with chat pruning, archives their channel first (a failure keeps the customer for the next run). */
async function retireCustomers(
  deps: ComplianceDeps, r: NumberRetention, now: Date, batchSize: number, n: NumberOutcome, pruneChat: boolean,
  failedChat: (stage: 'chat_channel', code: string) => void,
): Promise<void> {
  const platform = pruneChat ? deps.platform : undefined;
  const prepare = platform ? async (rows: { id: string; chatChannelId: string | null }[]) => {
    const keep = new Set<string>();
    for (const row of rows) {
      if (!row.chatChannelId) continue;
      try {
        await platform.archiveCustomerChannel(row.chatChannelId as ChatChannelRef);
      } catch (err) {
        keep.add(row.id);
        failedChat('chat_channel', errorCode(err));
      }
    }
    return keep;
  } : undefined;
  let afterId: string | null = null;
  for (;;) {
    const b = await retireCustomerBatch(deps.db, r, now, batchSize, afterId, { prepare, waitForChatPosts: pruneChat });
    for (const id of b.retired) deps.keys.forget(id);
    n.customersRetired += b.retired.length;
    deps.metrics?.retentionPurged.inc({ kind: 'customers' }, b.retired.length);
    afterId = b.lastId;
    if (b.claimed < batchSize) return;
  }
}

/** Dry run: posted messages among those due now (their posts would become prunable). */
async function countDuePosts(deps: ComplianceDeps, plan: NumberRetention[]): Promise<number> {
  let total = 0;
  for (const r of plan) total += await countDuePostsFor(deps.db, r);
  return total;
}

function auditDetails(r: RetentionResult, outcome: 'completed' | 'failed', chatFailures: Record<string, number>, pruneChat: boolean, error?: string) {
  return {
    outcome, error, pruneChat,
    messages: r.messagesPurged, media: r.mediaDeleted, outbox: r.outboxPurged, customersRetired: r.customersRetired,
    chatPosts: r.chatPostsPruned, chatFailures, chatPending: r.chatPostsPending, held: r.heldSkipped,
    perNumber: r.perNumber,
  };
}
