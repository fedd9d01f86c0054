/**
 * The database side of retention: one batch per call, each in its own transaction, rows claimed
 * with `FOR UPDATE SKIP LOCKED` so two runs at once (two replicas, or the job and
 * `relais retention run`) never work on the same row; a row another run has just purged no longer
 * matches when it is re-checked, so each row is purged (and counted) once. Every function is
 * idempotent: a second call finds nothing left to do. No network I/O; no decryption.
 */
import { and, count, countDistinct, eq, exists, gt, inArray, isNotNull, isNull, lt, notExists, or, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { customerKeys, customers, legalHolds, media, messageTokens, messages, outbox, outboxTokens, statusEvents } from '../db/schema/index.js';
import type { NumberRetention } from './retention-policy.js';

const EMPTY = new Uint8Array(0);
const ts = (d: Date) => sql`${d.toISOString()}::timestamptz`;

/** The customer of the row is under legal hold. */
const heldCustomer = (customerId: typeof messages.customerId | typeof outbox.customerId | typeof customers.id) =>
  sql`exists (select 1 from ${legalHolds} where ${legalHolds.customerId} = ${customerId})`;

export interface MessageBatch {
  /** Rows claimed (purged now or index cleared); 0 means nothing is left for this number. */
  claimed: number;
  messages: number;
  media: number;
}

/**
 * Purges up to `limit` messages of the number that are older than the cutoff and still hold
 * content, and clears the wamid index of purged messages past the redelivery horizon. Skips
 * customers under legal hold. Deletes media (frames cascade) and search postings in the same
 * transaction as the purge.
 */
export async function purgeMessageBatch(db: Db, r: NumberRetention, now: Date, limit: number): Promise<MessageBatch> {
  return db.transaction(async (tx) => {
    const rows = await tx.select({ id: messages.id, purgedAt: messages.contentPurgedAt }).from(messages)
      .innerJoin(customers, eq(customers.id, messages.customerId))
      .where(and(
        eq(customers.phoneNumberId, r.phoneNumberId),
        or(isNull(messages.contentPurgedAt), isNotNull(messages.wamidBidx)),
        lt(messages.receivedAt, r.cutoff > r.indexCutoff ? r.cutoff : r.indexCutoff),
        or(
          and(isNull(messages.contentPurgedAt), lt(messages.receivedAt, r.cutoff)),
          and(isNotNull(messages.contentPurgedAt), lt(messages.receivedAt, r.indexCutoff)),
        ),
        sql`not ${heldCustomer(messages.customerId)}`,
      ))
      .limit(limit)
      .for('update', { of: messages, skipLocked: true });
    const fresh = rows.filter((x) => !x.purgedAt).map((x) => x.id);
    const late = rows.filter((x) => x.purgedAt).map((x) => x.id);
    let mediaDeleted = 0;
    if (fresh.length) {
      await tx.delete(messageTokens).where(inArray(messageTokens.messageId, fresh));
      mediaDeleted = (await tx.delete(media).where(inArray(media.messageId, fresh)).returning({ id: media.id })).length;
      await tx.update(messages).set({
        contentEnc: EMPTY, wamidEnc: null, refBidx: null, contentPurgedAt: now,
        wamidBidx: sql`case when ${messages.receivedAt} < ${ts(r.indexCutoff)} then null else ${messages.wamidBidx} end`,
      }).where(inArray(messages.id, fresh));
    }
    if (late.length) await tx.update(messages).set({ wamidBidx: null }).where(inArray(messages.id, late));
    return { claimed: rows.length, messages: fresh.length, media: mediaDeleted };
  });
}

/**
 * Purges up to `limit` agent messages (outbox rows) of the number created before the cutoff, as
 * for messages (search postings included). A row still queued or sending (abandoned: far older than the 24-hour window) is
 * closed as failed / `content_purged` so no worker ever opens its empty content. Status events of
 * a cleared wamid index go with it.
 */
export async function purgeOutboxBatch(db: Db, r: NumberRetention, now: Date, limit: number): Promise<{ claimed: number; outbox: number }> {
  return db.transaction(async (tx) => {
    const rows = await tx.select({ id: outbox.id, purgedAt: outbox.contentPurgedAt, createdAt: outbox.createdAt, wamidBidx: outbox.wamidBidx }).from(outbox)
      .innerJoin(customers, eq(customers.id, outbox.customerId))
      .where(and(
        eq(customers.phoneNumberId, r.phoneNumberId),
        or(isNull(outbox.contentPurgedAt), isNotNull(outbox.wamidBidx)),
        lt(outbox.createdAt, r.cutoff > r.indexCutoff ? r.cutoff : r.indexCutoff),
        or(
          and(isNull(outbox.contentPurgedAt), lt(outbox.createdAt, r.cutoff)),
          and(isNotNull(outbox.contentPurgedAt), lt(outbox.createdAt, r.indexCutoff)),
        ),
        sql`not ${heldCustomer(outbox.customerId)}`,
      ))
      .limit(limit)
      .for('update', { of: outbox, skipLocked: true });
    const fresh = rows.filter((x) => !x.purgedAt).map((x) => x.id);
    const cleared = rows.filter((x) => x.wamidBidx && x.createdAt < r.indexCutoff).map((x) => x.wamidBidx!);
    if (fresh.length) {
      await tx.delete(outboxTokens).where(inArray(outboxTokens.outboxId, fresh));
      await tx.update(outbox).set({
        contentEnc: EMPTY, wamidEnc: null, contentPurgedAt: now,
        wamidBidx: sql`case when ${outbox.createdAt} < ${ts(r.indexCutoff)} then null else ${outbox.wamidBidx} end`,
        errorCode: sql`case when ${outbox.state} in ('queued', 'sending') then 'content_purged' else ${outbox.errorCode} end`,
        state: sql`case when ${outbox.state} in ('queued', 'sending') then 'failed' else ${outbox.state} end`,
      }).where(inArray(outbox.id, fresh));
    }
    const late = rows.filter((x) => x.purgedAt).map((x) => x.id);
    if (late.length) await tx.update(outbox).set({ wamidBidx: null }).where(inArray(outbox.id, late));
    if (cleared.length) await tx.delete(statusEvents).where(inArray(statusEvents.wamidBidx, cleared));
    return { claimed: rows.length, outbox: fresh.length };
  });
}

/** Customers of the number a retirement may apply to: not retired, not held, quiet since the cutoff. */
function retirable(r: NumberRetention) {
  return and(
    eq(customers.phoneNumberId, r.phoneNumberId),
    isNull(customers.identityShreddedAt),
    lt(customers.createdAt, r.cutoff),
    sql`coalesce(${customers.lastInboundAt}, ${customers.createdAt}) < ${ts(r.cutoff)}`,
    sql`not ${heldCustomer(customers.id)}`,
  );
}

/**
 * Retires up to `limit` customers of the number whose every message and agent message is purged
 * and who have been inactive since the cutoff, in id order after `afterId` (the caller pages).
 * Retiring removes the last personal data the archive holds on them: sealed wa_id, BSUID and
 * profile name, the phone index, the data key (crypto-shredding), the chat channel link; the
 * customer and channel indexes become a tombstone that matches nothing, so the same person
 * writing again becomes a new customer. The row and its purged messages stay for reports.
 */
export async function retireCustomerBatch(
  db: Db, r: NumberRetention, now: Date, limit: number, afterId: string | null,
  opts: {
    /** Runs before the rows change, inside the transaction (chat clean-up); returns the ids to leave for the next run. */
    prepare?: (rows: { id: string; chatChannelId: string | null }[]) => Promise<Set<string>>;
    /**
     * Leave customers whose purged messages still have a chat post to delete (RETENTION_PRUNE_CHAT):
     * archiving their channel first would make those posts undeletable (Mattermost refuses to
     * delete a post in an archived channel).
     */
    waitForChatPosts?: boolean;
  } = {},
): Promise<{ claimed: number; retired: string[]; lastId: string | null }> {
  return db.transaction(async (tx) => {
    const rows = await tx.select({ id: customers.id, chatChannelId: customers.chatChannelId }).from(customers)
      .where(and(
        retirable(r),
        afterId ? gt(customers.id, afterId) : undefined,
        notExists(tx.select({ x: sql`1` }).from(messages).where(and(eq(messages.customerId, customers.id), isNull(messages.contentPurgedAt)))),
        notExists(tx.select({ x: sql`1` }).from(outbox).where(and(eq(outbox.customerId, customers.id), isNull(outbox.contentPurgedAt)))),
        opts.waitForChatPosts ? notExists(tx.select({ x: sql`1` }).from(messages).where(and(eq(messages.customerId, customers.id), isNotNull(messages.chatPostId)))) : undefined,
      ))
      .orderBy(customers.id)
      .limit(limit)
      .for('update', { of: customers, skipLocked: true });
    const keep = opts.prepare && rows.length ? await opts.prepare(rows) : new Set<string>();
    const ids = rows.map((x) => x.id).filter((id) => !keep.has(id));
    if (ids.length) {
      await tx.update(customers).set({
        waIdEnc: null, bsuidEnc: null, profileNameEnc: null, phoneBidx: null,
        customerBidx: sql`'retired:' || ${customers.id}::text`,
        channelKey: sql`'retired:' || ${customers.id}::text`,
        chatChannelId: null, chatCursor: null, identityShreddedAt: now, updatedAt: now,
      }).where(inArray(customers.id, ids));
      await tx.delete(customerKeys).where(inArray(customerKeys.customerId, ids));
    }
    return { claimed: rows.length, retired: ids, lastId: rows.at(-1)?.id ?? afterId };
  });
}

export interface DueCounts {
  messages: number;
  media: number;
  outbox: number;
  customers: number;
  /** Customers with content past the cutoff that a legal hold keeps. */
  held: number;
}

/**
 * What a run would do for one number now (dry run), and how many customers a hold keeps.
 * Read-only. `customers` counts those that would be retired once this run's purge is done.
 */
export async function countDue(db: Db, r: NumberRetention): Promise<DueCounts> {
  const dueMessage = and(eq(customers.phoneNumberId, r.phoneNumberId), isNull(messages.contentPurgedAt), lt(messages.receivedAt, r.cutoff));
  const [m] = await db.select({ n: count() }).from(messages).innerJoin(customers, eq(customers.id, messages.customerId))
    .where(and(dueMessage, sql`not ${heldCustomer(messages.customerId)}`));
  const [md] = await db.select({ n: count() }).from(media).innerJoin(messages, eq(messages.id, media.messageId))
    .innerJoin(customers, eq(customers.id, messages.customerId))
    .where(and(dueMessage, sql`not ${heldCustomer(messages.customerId)}`));
  const [o] = await db.select({ n: count() }).from(outbox).innerJoin(customers, eq(customers.id, outbox.customerId))
    .where(and(eq(customers.phoneNumberId, r.phoneNumberId), isNull(outbox.contentPurgedAt), lt(outbox.createdAt, r.cutoff), sql`not ${heldCustomer(outbox.customerId)}`));
  const [c] = await db.select({ n: count() }).from(customers).where(and(
    retirable(r),
    notExists(db.select({ x: sql`1` }).from(messages).where(and(eq(messages.customerId, customers.id), isNull(messages.contentPurgedAt), sql`${messages.receivedAt} >= ${ts(r.cutoff)}`))),
    notExists(db.select({ x: sql`1` }).from(outbox).where(and(eq(outbox.customerId, customers.id), isNull(outbox.contentPurgedAt), sql`${outbox.createdAt} >= ${ts(r.cutoff)}`))),
  ));
  return { messages: m?.n ?? 0, media: md?.n ?? 0, outbox: o?.n ?? 0, customers: c?.n ?? 0, held: await countHeld(db, r) };
}

/** Customers of the number with content past the cutoff that a legal hold keeps. Read-only. */
export async function countHeld(db: Db, r: NumberRetention): Promise<number> {
  const [h] = await db.select({ n: countDistinct(messages.customerId) }).from(messages).innerJoin(customers, eq(customers.id, messages.customerId))
    .where(and(
      eq(customers.phoneNumberId, r.phoneNumberId), isNull(messages.contentPurgedAt), lt(messages.receivedAt, r.cutoff),
      exists(db.select({ x: sql`1` }).from(legalHolds).where(eq(legalHolds.customerId, messages.customerId))),
    ));
  return h?.n ?? 0;
}

/** Dry run: messages due now that have a chat post (their posts become prunable once purged). Read-only. */
export async function countDuePostsFor(db: Db, r: NumberRetention): Promise<number> {
  const [row] = await db.select({ n: count() }).from(messages).innerJoin(customers, eq(customers.id, messages.customerId))
    .where(and(
      eq(customers.phoneNumberId, r.phoneNumberId), isNull(messages.contentPurgedAt), lt(messages.receivedAt, r.cutoff),
      isNotNull(messages.chatPostId), sql`not ${heldCustomer(messages.customerId)}`,
    ));
  return row?.n ?? 0;
}

/** Business numbers that have customers in the archive (retention applies per number). */
export async function archivedNumbers(db: Db): Promise<string[]> {
  const rows = await db.selectDistinct({ n: customers.phoneNumberId }).from(customers);
  return rows.map((x) => x.n);
}
