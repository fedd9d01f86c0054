import { and, asc, eq, inArray, notInArray } from 'drizzle-orm';
import type { CustomerKeyStore } from '../archive/customer-keys.js';
import type { ChatChannelRef, ChatFile, ChatPlatform, ChatPostRef } from '../chat/platform.js';
import type { Db } from '../db/client.js';
import { customers, messages } from '../db/schema/index.js';
import { maskPhone, type Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { openJsonWatched, openTextWatched, watchDecrypt } from './decrypt-failures.js';
import { RelaisError, errorCode, isRetryable } from './errors.js';
import { t, type Language } from './i18n.js';
import type { StoredContent } from './inbox.js';
import { findMedia, loadMediaBytes, markMediaUnavailable, storeMedia } from './media-store.js';
import type { MediaRef } from './messages.js';
import { renderInbound } from './render-inbound.js';

/** Where inbound media comes from (the Cloud API client, or the simulator). */
export interface MediaSource {
  download(phoneNumberId: string, mediaId: string, maxBytes: number, expectedSha256?: string): Promise<{ mimeType: string; size?: number; stream: ReadableStream<Uint8Array> }>;
}

export interface RelayDeps {
  db: Db;
  keys: CustomerKeyStore;
  platform: ChatPlatform;
  media: MediaSource;
  metrics: Metrics;
  logger: Logger;
  lang: Language;
  /** Team and agents for a business number (config routing). */
  route(phoneNumberId: string): { team?: string; agents: string[]; label?: string } | undefined;
  /** Caps inbound media per WhatsApp type (and the global MEDIA_MAX_BYTES). */
  mediaCap(media: MediaRef): number;
  /** Called after each message is posted (plugins, events). Failures are logged, never fatal. */
  onRelayed?(event: { messageId: string; customerId: string; type: string }): Promise<void>;
  /** Test seam: runs after the chat post exists and before it is recorded (crash simulation). */
  afterPostBeforeCommit?(messageId: string): Promise<void>;
  /** Internal-note prefix shown in the channel purpose. */
  notePrefix: string;
  /**
   * Called after a job's drain relayed messages of the customer beyond the job's own: their own
   * jobs, still queued behind this one, now have nothing to do (and the queue would hand them out
   * one at a time, in order, at a full claim/complete cycle each).
   */
  onDrained?(customerId: string, messageIds: string[]): Promise<void>;
}

/** Pending messages of one customer relayed by one job, oldest first. */
const BACKLOG_BATCH = 100;
/** How long a relay job keeps posting the newer messages of its customer after its own. */
const DRAIN_BUDGET_MS = 10_000;

/** How long a channel is trusted to exist (not archived) before ensureCustomerChannel runs again. */
const CHANNEL_RECHECK_MS = 5 * 60_000;

/**
 * Relays one stored customer message to the chat platform, exactly once.
 *
 * Called by the `relay` queue worker, one job per message, in order per customer. Idempotent:
 * a posted message is skipped; a message left in `sending` (crash or timeout after the chat API
 * call) is reconciled with `findPostByRelaisId` before anything is posted again.
 * Throws RelaisError; the queue retries when `retryable`.
 */
export function createRelayWorker(deps: RelayDeps) {
  const channelCheckedAt = new Map<string, number>();

  async function ensureChannel(customer: typeof customers.$inferSelect, name: string, waId?: string, force = false): Promise<ChatChannelRef> {
    const fresh = !force && customer.chatChannelId && Date.now() - (channelCheckedAt.get(customer.id) ?? 0) < CHANNEL_RECHECK_MS;
    if (fresh) return customer.chatChannelId as ChatChannelRef;
    const route = deps.route(customer.phoneNumberId);
    if (!route) {
      throw new RelaisError('unknown_number', `Business number ${customer.phoneNumberId} is no longer configured: add it back to WHATSAPP_PHONE_NUMBER_ID or relais.config.yaml`, { retryable: true });
    }
    const masked = maskPhone(waId);
    const channel = await deps.platform.ensureCustomerChannel({
      key: customer.channelKey,
      displayName: `${name} ${masked}`.trim(),
      team: route.team ?? '',
      agents: route.agents,
      header: t(deps.lang, 'channelHeader', { number: masked, line: route.label ?? customer.phoneNumberId }),
      purpose: t(deps.lang, 'channelPurpose', { notePrefix: deps.notePrefix }),
    });
    if (channel !== customer.chatChannelId) {
      await deps.db.update(customers).set({ chatChannelId: channel, updatedAt: new Date() }).where(eq(customers.id, customer.id));
      customer.chatChannelId = channel;
    }
    channelCheckedAt.set(customer.id, Date.now());
    return channel;
  }

  async function resolveRef(refBidx: string | null): Promise<ChatPostRef | undefined> {
    if (!refBidx) return undefined;
    const rows = await deps.db.select({ chatPostId: messages.chatPostId }).from(messages).where(eq(messages.wamidBidx, refBidx)).limit(1);
    return (rows[0]?.chatPostId ?? undefined) as ChatPostRef | undefined;
  }

  async function mediaFiles(msg: typeof messages.$inferSelect, customer: typeof customers.$inferSelect, dek: Uint8Array, ref: MediaRef) {
    const existing = await watchDecrypt(deps, { table: 'media', column: 'filename_enc', messageId: msg.id }, () => findMedia(deps.db, dek, msg.id));
    const filename = ref.filename ?? `${ref.kind}-${msg.id.slice(0, 8)}`;
    if (existing?.state === 'stored') {
      const bytes = await watchDecrypt(deps, { table: 'media_frames', rowId: existing.id, messageId: msg.id }, () => loadMediaBytes(deps.db, dek, existing));
      return { files: [{ name: existing.filename ?? filename, mimeType: existing.mimeType ?? 'application/octet-stream', data: bytes }] };
    }
    if (existing?.state === 'too_large') return { files: [], problem: { reason: 'too_large' as const, size: existing.size ?? undefined } };
    try {
      const cap = deps.mediaCap(ref);
      const dl = await deps.media.download(customer.phoneNumberId, ref.mediaId, cap, ref.sha256);
      const mimeType = dl.mimeType || ref.mimeType || 'application/octet-stream';
      const { bytes } = await storeMedia(deps.db, dek, msg.keyVersion, { messageId: msg.id, kind: ref.kind, mimeType, filename }, dl.stream);
      deps.metrics.mediaBytes.inc(bytes.byteLength);
      return { files: [{ name: filename, mimeType, data: bytes }] };
    } catch (err) {
      if (err instanceof RelaisError && err.code === 'media_too_large') {
        await markMediaUnavailable(deps.db, msg.id, ref.kind, msg.keyVersion, 'too_large');
        return { files: [], problem: { reason: 'too_large' as const } };
      }
      if (isRetryable(err)) throw err;
      // Permanent (expired media id, refused redirect…): tell the agents instead of blocking the conversation.
      await markMediaUnavailable(deps.db, msg.id, ref.kind, msg.keyVersion, 'failed');
      return { files: [], problem: { reason: 'unavailable' as const, code: errorCode(err) } };
    }
  }

  /**
   * Relays the job's message after every earlier pending message of the same customer, then the
   * newer ones of the same batch. The queue runs one job per customer at a time (key_strict_fifo),
   * so draining the backlog here keeps the conversation in order and spares the later jobs a round
   * of queue latency each: their jobs are removed, or find their message already posted.
   */
  async function relay(job: { messageId: string; customerId?: string }): Promise<'posted' | 'already' | 'reacted'> {
    let customerId = job.customerId;
    if (!customerId) {
      // Jobs enqueued before the payload carried the customer.
      const [self] = await deps.db.select({ customerId: messages.customerId }).from(messages).where(eq(messages.id, job.messageId)).limit(1);
      if (!self) return 'already';
      customerId = self.customerId;
    }
    // A long backlog is drained batch by batch, oldest first, until the job's own message is done.
    const skip = new Set<string>();
    const drained: string[] = [];
    for (;;) {
      const r = await relayBatch(customerId, job.messageId, skip, drained);
      if (r !== 'more') {
        if (drained.length && deps.onDrained) await deps.onDrained(customerId, drained);
        return r;
      }
    }
  }

  /**
   * Relays one batch of a customer's pending messages, oldest first. Returns the outcome for
   * `messageId` when it was in the batch, 'already' when it is no longer pending, 'more' when it
   * lies beyond a full batch.
   */
  async function relayBatch(customerId: string, messageId: string, skip: Set<string>, drained: string[]): Promise<'posted' | 'already' | 'reacted' | 'more'> {
    // The pending backlog and its customer in one round trip.
    const rows = await deps.db.select({ m: messages, c: customers }).from(messages)
      .innerJoin(customers, eq(customers.id, messages.customerId))
      .where(and(
        eq(messages.customerId, customerId), eq(messages.direction, 'inbound'), inArray(messages.relayState, ['pending', 'sending']),
        skip.size ? notInArray(messages.id, [...skip]) : undefined,
      ))
      .orderBy(asc(messages.receivedAt), asc(messages.waTimestamp)).limit(BACKLOG_BATCH);
    if (!rows.length) return 'already'; // posted by an earlier job's drain, or erased since it was queued
    const customer = rows[0]!.c;
    const backlog: (typeof messages.$inferSelect & { reconcile?: boolean })[] = rows.map((r) => r.m);
    const mine = backlog.some((m) => m.id === messageId);
    if (!mine && backlog.length < BACKLOG_BATCH) return 'already';
    // One statement marks the whole batch `sending` before any chat call (the exactly-once
    // protocol: a crash from here on is reconciled by relais_id before posting again).
    const pending = backlog.filter((m) => m.relayState === 'pending').map((m) => m.id);
    if (pending.length) {
      const at = new Date();
      await deps.db.update(messages).set({ relayState: 'sending', relayAttemptAt: at }).where(and(inArray(messages.id, pending), eq(messages.relayState, 'pending')));
      for (const m of backlog) if (m.relayState === 'pending') { m.relayState = 'sending'; m.relayAttemptAt = at; m.reconcile = false; }
    }
    // Oldest first. The job's own message waits for every earlier one; once it is posted, the
    // newer messages already loaded go too (their queued jobs are then removed by onDrained), so a
    // backlog drains at chat speed rather than at one queue cycle per message.
    let own: 'posted' | 'already' | 'reacted' | undefined;
    const started = Date.now();
    for (const m of backlog) {
      // A slow chat server must not hold the job near the queue's expiry: the rest go with their own jobs.
      if (own && Date.now() - started > DRAIN_BUDGET_MS) break;
      try {
        const r = await relayOne(m, customer);
        if (m.id === messageId) own = r;
        else drained.push(m.id);
      } catch (err) {
        if (m.id === messageId) {
          if (!isRetryable(err)) await markFailed(m.id, errorCode(err));
          throw err;
        }
        // A newer message that fails is left to its own job (still queued: it was not drained).
        if (own) break;
        // An earlier one: retry the job later to keep the order, unless it failed for good, which
        // is that message's own job's business.
        if (isRetryable(err)) throw err;
        skip.add(m.id);
      }
    }
    return own ?? 'more';
  }
  return relay;

  /** Records a permanent failure so the backlog moves on (the job goes to the dead-letter queue). */
  async function markFailed(messageId: string, code: string) {
    await deps.db.update(messages).set({ relayState: 'failed', relayError: code }).where(eq(messages.id, messageId));
  }

  /**
   * `msg.reconcile === false` marks a message this very call just moved to `sending` (nothing
   * can have been posted for it yet, so no lookup is needed); any other `sending` row is looked
   * up by relais_id before it is posted again.
   */
  async function relayOne(msg: typeof messages.$inferSelect & { reconcile?: boolean }, customer: typeof customers.$inferSelect): Promise<'posted' | 'already' | 'reacted'> {
    if (msg.relayState === 'posted' || msg.relayState === 'failed') return 'already';
    // Retention emptied it before it was ever posted (a long outage): agents get a notice instead
    // of the content; a retired customer has no identity or channel left, so nothing is posted.
    if (msg.contentPurgedAt && customer.identityShreddedAt) { await markFailed(msg.id, 'content_purged'); return 'already'; }
    const dek = await deps.keys.get(deps.db, customer.id, msg.keyVersion);
    const ctx = { table: 'messages', rowId: msg.id, keyVersion: msg.keyVersion };
    const stored: StoredContent = msg.contentPurgedAt
      ? { content: { kind: 'system', event: 'content_purged', text: t(deps.lang, 'contentPurged', { date: (msg.waTimestamp ?? msg.receivedAt).toISOString().slice(0, 10) }) }, markers: {} }
      : openJsonWatched<StoredContent>(deps, dek, { ...ctx, column: 'content_enc' }, msg.contentEnc);
    const custDek = customer.keyVersion === msg.keyVersion ? dek : await deps.keys.get(deps.db, customer.id, customer.keyVersion);
    const cctx = { table: 'customers', rowId: customer.id, keyVersion: customer.keyVersion };
    const waId = customer.waIdEnc ? openTextWatched(deps, custDek, { ...cctx, column: 'wa_id_enc' }, customer.waIdEnc) : undefined;
    const storedName = customer.profileNameEnc ? openTextWatched(deps, custDek, { ...cctx, column: 'profile_name_enc' }, customer.profileNameEnc) : undefined;
    const name = stored.customerName ?? storedName ?? t(deps.lang, 'unknownCustomer');
    let channel = await ensureChannel(customer, name, waId);

    const target = await resolveRef(msg.refBidx);
    // A reaction on a message that has a post becomes a real reaction when the platform knows the emoji.
    if (stored.content.kind === 'reaction' && target && deps.platform.capabilities.reactions) {
      const emoji = stored.content.emoji;
      const done = emoji ? await deps.platform.setReaction(target, emoji, true) : false;
      if (done) {
        await deps.db.update(messages).set({ relayState: 'posted', chatPostId: target, postedAt: new Date() }).where(eq(messages.id, msg.id));
        deps.metrics.messagesRelayed.inc({ type: msg.type, platform: deps.platform.kind });
        return 'reacted';
      }
    }

    if (msg.relayState === 'sending' && msg.relayAttemptAt && msg.reconcile !== false) {
      // The previous attempt may have posted and died before recording it: look before posting again.
      const since = new Date(msg.relayAttemptAt.getTime() - 60_000);
      const found = await deps.platform.findPostByRelaisId(channel, msg.id, since);
      if (found) {
        await markPosted(msg.id, found);
        return 'already';
      }
    }

    let files: ChatFile[] = [];
    let mediaProblem;
    if (stored.content.kind === 'media') {
      const r = await mediaFiles(msg, customer, dek, stored.content.media);
      files = r.files;
      mediaProblem = r.problem;
    }
    const rootPost = target && deps.platform.capabilities.threads ? await deps.platform.threadRootOf(target) : undefined;
    const text = renderInbound({
      content: stored.content,
      markers: stored.markers,
      customerName: name,
      lang: deps.lang,
      replyTargetMissing: Boolean(stored.markers.replyToWamid) && !target,
      mediaProblem,
    });

    if (msg.relayState !== 'sending') {
      await deps.db.update(messages).set({ relayState: 'sending', relayAttemptAt: new Date() }).where(eq(messages.id, msg.id));
    }
    let post: ChatPostRef;
    try {
      post = await deps.platform.postMessage(channel, { relaisId: msg.id, text, rootPost, files });
    } catch (err) {
      if (isRetryable(err)) throw err;
      // Refused for good: the channel may have been archived or deleted since it was verified.
      // Verify (and restore) it, then try once more; a second refusal is final.
      channel = await ensureChannel(customer, name, waId, true);
      post = await deps.platform.postMessage(channel, { relaisId: msg.id, text, rootPost, files });
    }
    if (deps.afterPostBeforeCommit) await deps.afterPostBeforeCommit(msg.id);
    await markPosted(msg.id, post);
    deps.metrics.messagesRelayed.inc({ type: msg.type, platform: deps.platform.kind });
    deps.metrics.relayLatency.observe((Date.now() - msg.receivedAt.getTime()) / 1000);
    if (deps.onRelayed) {
      try {
        await deps.onRelayed({ messageId: msg.id, customerId: customer.id, type: msg.type });
      } catch (err) {
        deps.logger.warn({ err, messageId: msg.id }, 'relay hook failed');
      }
    }
    return 'posted';
  }

  async function markPosted(messageId: string, post: ChatPostRef) {
    await deps.db.update(messages)
      .set({ relayState: 'posted', chatPostId: post, postedAt: new Date(), relayError: null })
      .where(and(eq(messages.id, messageId)));
  }
}
