/**
 * Erasure (GDPR Art. 17) of one person, found by phone number, in two steps:
 *
 * 1. Crypto-shredding, one transaction per customer row: the `erasures` row (proof, resume point,
 *    deny list) is written, the data keys (`customer_keys`) are deleted, then the customer row,
 *    which cascades to messages, media, outbox, search postings and holds; the delivery statuses
 *    of their wamids (`status_events`, not linked by key) go too; `erase` is audited in the same
 *    transaction. From the commit on, nothing of that person can be decrypted, including copies in
 *    backups once their master key is trimmed (docs/keys.md), and a data key restored from a
 *    backup is refused because its customer id is on the deny list (CustomerKeyStore).
 * 2. The chat side, per `config.compliance.eraseChatPolicy` (stored on the erasures row when the
 *    request was made): delete the customer channel with its posts and files, archive it, or keep
 *    it. Then the row is marked `complete` and `erase.chat` is audited.
 *
 * Idempotent and resumable: a run finds the erasures rows of the number (by phone index, even when
 * no customer row is left) and finishes every one still `shredded`; a chat failure leaves the row
 * `shredded` and the result says `pending`. Customer rows already on the deny list that reappear
 * (restored from a backup) are deleted again.
 */
import { eq, inArray } from 'drizzle-orm';
import { RelaisError, errorCode } from '../core/errors.js';
import type { ChatChannelRef } from '../chat/platform.js';
import type { Db } from '../db/client.js';
import { customerKeys, customers, erasures, messages, outbox, statusEvents } from '../db/schema/index.js';
import { appendAudit } from './audit.js';
import type { ComplianceDeps } from './deps.js';
import { heldIds } from './hold.js';
import { erasedIds, erasuresByPhone, findCustomersByPhone, phoneIndex, type CustomerRow } from './subjects.js';

export type ChatErasure = 'deleted' | 'archived' | 'kept' | 'pending';

export interface EraseResult {
  /** Customer rows (conversations) erased by this call. */
  customers: number;
  /** Messages (both directions) deleted by this call. */
  messagesDeleted: number;
  /** Where the chat side stands for every erasure of this number: `pending` means run again. */
  chat: ChatErasure;
  /** Why the chat step is pending, or why a channel was archived instead of deleted. */
  chatDetail?: string;
}

export interface EraseOptions {
  /** Who asked (`cli:<user>`, `api:<token>`); recorded in the audit log and the erasures rows. */
  actor: string;
  /** Test seam: runs between step 1 and step 2 (a throw simulates a crash there). */
  afterShred?: () => Promise<void>;
}

const CHUNK = 1000;

/**
 * Erases the person with phone number `phone` (see the module comment). Throws
 * `RelaisError('invalid_phone')`; `RelaisError('legal_hold')`, before anything is changed, when any
 * of their conversations is on legal hold; `RelaisError('not_found')` when Relais has neither data
 * nor an erasure record for the number. Database errors propagate (nothing half-done: each
 * customer row is shredded in its own transaction). Chat failures do not throw: `chat: 'pending'`.
 */
export async function eraseCustomer(deps: ComplianceDeps, phone: string, opts: EraseOptions): Promise<EraseResult> {
  const bidx = phoneIndex(deps.ring, phone);
  const rows = await findCustomersByPhone(deps.db, deps.ring, phone, { includeErased: true });
  const denied = await erasedIds(deps.db, rows.map((r) => r.id));
  const live = rows.filter((r) => !denied.has(r.id));
  const held = await heldIds(deps.db, live.map((r) => r.id));
  if (held.size > 0) {
    throw new RelaisError('legal_hold', `This person is under legal hold (${held.size} of ${live.length} conversations): erasure is refused until the hold is lifted with "relais hold --customer <number> off" (or the admin API); who set it and when is in the audit log ("relais audit list")`, { retryable: false });
  }
  const earlier = await erasuresByPhone(deps.db, bidx);
  if (rows.length === 0 && earlier.length === 0) {
    throw new RelaisError('not_found', 'Relais holds no data for this phone number and has no record of erasing it: check that the number has its country code', { retryable: false });
  }
  const policy = deps.config.compliance.eraseChatPolicy;
  let messagesDeleted = 0;
  for (const c of live) messagesDeleted += await shred(deps, c, bidx, policy, opts.actor);
  for (const c of rows.filter((r) => denied.has(r.id))) await removeRestored(deps, c, opts.actor);
  await opts.afterShred?.();
  const chat = await finishChat(deps, bidx, opts.actor);
  return { customers: live.length, messagesDeleted, ...chat };
}

/** Step 1 for one customer row, in one transaction. Returns the number of messages deleted. */
async function shred(deps: ComplianceDeps, c: CustomerRow, bidx: string, policy: string, actor: string): Promise<number> {
  const now = deps.now?.() ?? new Date();
  const deleted = await deps.db.transaction(async (tx) => {
    // Lock the row: a concurrent erasure waits and then finds nothing; a hold being set waits on
    // its foreign key and then fails, or committed first and is seen here.
    const [locked] = await tx.select({ id: customers.id }).from(customers).where(eq(customers.id, c.id)).for('update');
    if (!locked) return 0;
    if ((await heldIds(tx, [c.id])).size > 0) {
      throw new RelaisError('legal_hold', 'A legal hold was set on this person while the erasure was starting: nothing was erased; lift the hold first ("relais hold --customer <number> off")', { retryable: false });
    }
    const counted = await deleteRowsOf(tx, c.id);
    await tx.insert(erasures).values({
      customerId: c.id, phoneNumberId: c.phoneNumberId, phoneBidx: c.phoneBidx ?? bidx, chatChannelId: c.chatChannelId,
      chatPolicy: policy, state: 'shredded', messagesDeleted: counted, requestedBy: actor, requestedAt: now,
    }).onConflictDoNothing({ target: erasures.customerId });
    await appendAudit(tx, deps.ring, { actor, action: 'erase', target: c.id, details: { messages: counted, chatPolicy: policy } }, { now, logger: deps.logger });
    return counted;
  });
  deps.keys.forget(c.id);
  deps.logger.info({ customerId: c.id, messages: deleted }, 'customer erased (data key destroyed, rows deleted)');
  return deleted;
}

/** Deletes again a customer row on the deny list that came back (restored from a backup). Returns the messages deleted. */
async function removeRestored(deps: ComplianceDeps, c: Pick<CustomerRow, 'id'>, actor: string): Promise<number> {
  const counted = await deps.db.transaction(async (tx) => {
    const n = await deleteRowsOf(tx, c.id);
    await appendAudit(tx, deps.ring, { actor, action: 'erase', target: c.id, details: { messages: n, restoredRowsRemoved: true } }, { logger: deps.logger });
    return n;
  });
  deps.keys.forget(c.id);
  deps.logger.warn({ customerId: c.id }, 'rows of an erased customer reappeared (restored from a backup?) and were deleted again');
  return counted;
}

/**
 * Re-applies every recorded erasure, without phone numbers: deletes the rows of customers on the
 * deny list that reappeared (after restoring a database backup taken before an erasure) and
 * finishes every chat step still pending. Run it after any restore (`relais erase --reapply`).
 * Idempotent; audited like `eraseCustomer`. Chat failures leave erasures pending (counted).
 */
export async function reapplyErasures(deps: ComplianceDeps, opts: { actor: string }): Promise<{ customers: number; messagesDeleted: number; chatPending: number }> {
  const restored = await deps.db.select({ id: customers.id }).from(customers)
    .where(inArray(customers.id, deps.db.select({ id: erasures.customerId }).from(erasures)));
  let messagesDeleted = 0;
  for (const c of restored) messagesDeleted += await removeRestored(deps, c, opts.actor);
  const pending = await pendingErasures(deps.db);
  for (const bidx of new Set(pending.map((e) => e.phoneBidx).filter((b): b is string => Boolean(b)))) await finishChat(deps, bidx, opts.actor);
  return { customers: restored.length, messagesDeleted, chatPending: (await pendingErasures(deps.db)).length };
}

/**
 * Deletes everything of one customer inside `tx`: statuses of their wamids, data keys, then the
 * customer row (the foreign keys cascade to messages, media and frames, outbox, search postings,
 * legal holds). Returns how many messages (both directions) went.
 */
async function deleteRowsOf(tx: Db, customerId: string): Promise<number> {
  const inbound = await tx.select({ bidx: messages.wamidBidx }).from(messages).where(eq(messages.customerId, customerId));
  const replies = await tx.select({ bidx: outbox.wamidBidx, kind: outbox.kind }).from(outbox).where(eq(outbox.customerId, customerId));
  const bidxs = [...inbound, ...replies].map((r) => r.bidx).filter((b): b is string => Boolean(b));
  for (let i = 0; i < bidxs.length; i += CHUNK) await tx.delete(statusEvents).where(inArray(statusEvents.wamidBidx, bidxs.slice(i, i + CHUNK)));
  await tx.delete(customerKeys).where(eq(customerKeys.customerId, customerId));
  await tx.delete(customers).where(eq(customers.id, customerId));
  return inbound.length + replies.filter((r) => r.kind !== 'command').length;
}

/** Step 2 for every erasure of this number still `shredded`; then summarises all of them. */
async function finishChat(deps: ComplianceDeps, bidx: string, actor: string): Promise<Omit<EraseResult, 'customers' | 'messagesDeleted'>> {
  let detail: string | undefined;
  for (const e of (await erasuresByPhone(deps.db, bidx)).filter((x) => x.state === 'shredded')) {
    try {
      const r = await applyChatPolicy(deps, e.chatPolicy, e.chatChannelId);
      if (r.detail) detail = r.detail;
      await deps.db.transaction(async (tx) => {
        const now = deps.now?.() ?? new Date();
        await tx.update(erasures).set({ state: 'complete', chatOutcome: r.outcome, completedAt: now }).where(eq(erasures.customerId, e.customerId));
        await appendAudit(tx, deps.ring, { actor, action: 'erase.chat', target: e.customerId, details: { policy: e.chatPolicy, outcome: r.outcome, channel: Boolean(e.chatChannelId) } }, { now, logger: deps.logger });
      });
    } catch (err) {
      if (err instanceof RelaisError && err.code.startsWith('chat_')) {
        detail = err.message;
        deps.logger.warn({ customerId: e.customerId, code: errorCode(err) }, 'erasure chat step failed; run the erasure again to finish it');
        continue;
      }
      throw err;
    }
  }
  const all = await erasuresByPhone(deps.db, bidx);
  const outcomes = new Set(all.map((e) => (e.state === 'complete' ? e.chatOutcome ?? 'deleted' : 'pending')));
  const chat: ChatErasure = outcomes.has('pending') ? 'pending' : outcomes.has('archived') ? 'archived' : outcomes.has('deleted') ? 'deleted' : 'kept';
  return { chat, ...(detail && (chat === 'pending' || chat === 'archived') && { chatDetail: detail }) };
}

async function applyChatPolicy(deps: ComplianceDeps, policy: string, channelId: string | null): Promise<{ outcome: 'deleted' | 'archived' | 'kept'; detail?: string }> {
  if (policy === 'keep') return { outcome: 'kept' };
  if (!channelId) return { outcome: 'deleted' }; // never relayed: nothing on the chat side
  const platform = deps.platform;
  if (!platform) {
    throw new RelaisError('chat_not_configured', `The chat platform is not configured here, so the customer channel could not be ${policy === 'archive' ? 'archived' : 'deleted'}: run the erasure again where Mattermost or Rocket.Chat is configured`, { retryable: true });
  }
  const channel = channelId as ChatChannelRef;
  if (policy === 'archive') {
    await platform.archiveCustomerChannel(channel);
    return { outcome: 'archived' };
  }
  return platform.deleteCustomerChannel(channel);
}

/** Every erasure not finished (chat step pending), for monitoring and the admin API. Read-only. */
export async function pendingErasures(db: Db): Promise<(typeof erasures.$inferSelect)[]> {
  return db.select().from(erasures).where(eq(erasures.state, 'shredded'));
}
