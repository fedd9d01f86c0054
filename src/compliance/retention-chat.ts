/**
 * Retention on the chat side (RETENTION_PRUNE_CHAT): deletes the posts Relais created for purged
 * customer messages. A post is forgotten (`messages.chat_post_id` set to null) only once the
 * platform confirmed the deletion, so a failure is simply retried by the next run; failures never
 * hold back the purge of the archive, which happened before.
 */
import { and, asc, count, gt, inArray, isNotNull, sql } from 'drizzle-orm';
import type { ChatPlatform, ChatPostRef } from '../chat/platform.js';
import { errorCode, isRetryable, RelaisError } from '../core/errors.js';
import type { Db } from '../db/client.js';
import { legalHolds, messages } from '../db/schema/index.js';

/** Consecutive retryable failures after which the chat platform is taken as down for this run. */
const GIVE_UP_AFTER = 10;
/** Longest wait honoured when the platform answers 429 with Retry-After. */
const MAX_WAIT_MS = 60_000;

/** Purged messages whose chat post is still there, not under hold, and not shared with a message that keeps its content. */
function prunable() {
  return and(
    isNotNull(messages.contentPurgedAt),
    isNotNull(messages.chatPostId),
    sql`not exists (select 1 from ${legalHolds} where ${legalHolds.customerId} = ${messages.customerId})`,
    // A reaction relayed as a real reaction records its target's post: never delete a post some
    // message still shows.
    sql`not exists (select 1 from ${messages} as other where other.chat_post_id = ${messages.chatPostId} and other.content_purged_at is null)`,
  );
}

export interface PruneOutcome {
  deleted: number;
  failed: number;
  /** Failures by error code (for the audit entry and the log). */
  failures: Record<string, number>;
  /** The platform looked down (several retryable failures in a row): the rest waits for the next run. */
  gaveUp: boolean;
}

/**
 * Deletes the chat posts of purged messages, `batchSize` at a time. Each batch is claimed with
 * `FOR UPDATE SKIP LOCKED` (a concurrent run takes other rows) and holds its row locks while the
 * platform is called. Idempotent: `deletePost` treats a missing post as deleted.
 */
export async function pruneChatPosts(db: Db, platform: ChatPlatform, opts: { batchSize: number; onDeleted?: (n: number) => void; onFailed?: (code: string) => void; sleep?: (ms: number) => Promise<void> }): Promise<PruneOutcome> {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const out: PruneOutcome = { deleted: 0, failed: 0, failures: {}, gaveUp: false };
  let afterId: string | null = null;
  let streak = 0;
  for (;;) {
    const batch: { claimed: number; lastId: string | null } = await db.transaction(async (tx) => {
      const rows = await tx.select({ id: messages.id, post: messages.chatPostId }).from(messages)
        .where(and(prunable(), afterId ? gt(messages.id, afterId) : undefined))
        .orderBy(asc(messages.id)).limit(opts.batchSize)
        .for('update', { of: messages, skipLocked: true });
      const done: string[] = [];
      for (const post of new Set(rows.map((r) => r.post!))) {
        if (out.gaveUp) break;
        try {
          await deleteWithRetryAfter(platform, post as ChatPostRef, sleep);
          done.push(post);
          streak = 0;
        } catch (err) {
          const code = errorCode(err);
          out.failed++;
          out.failures[code] = (out.failures[code] ?? 0) + 1;
          opts.onFailed?.(code);
          streak = isRetryable(err) ? streak + 1 : 0;
          if (streak >= GIVE_UP_AFTER) out.gaveUp = true;
        }
      }
      if (done.length) {
        await tx.update(messages).set({ chatPostId: null })
          .where(and(inArray(messages.chatPostId, done), isNotNull(messages.contentPurgedAt)));
        out.deleted += done.length;
        opts.onDeleted?.(done.length);
      }
      return { claimed: rows.length, lastId: rows.at(-1)?.id ?? afterId };
    });
    afterId = batch.lastId;
    if (out.gaveUp || batch.claimed < opts.batchSize) return out;
  }
}

async function deleteWithRetryAfter(platform: ChatPlatform, post: ChatPostRef, sleep: (ms: number) => Promise<void>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await platform.deletePost(post);
    } catch (err) {
      const wait = err instanceof RelaisError && err.retryable ? err.retryAfterMs : undefined;
      if (wait === undefined || attempt >= 2) throw err;
      await sleep(Math.min(wait, MAX_WAIT_MS));
    }
  }
}

/** Chat posts of purged messages still waiting for deletion (not under hold). Read-only. */
export async function countPrunable(db: Db): Promise<number> {
  const [row] = await db.select({ n: count() }).from(messages).where(prunable());
  return row?.n ?? 0;
}
