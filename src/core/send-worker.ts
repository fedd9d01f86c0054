import { and, asc, desc, eq, lt, sql } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import type { CustomerKeyStore } from '../archive/customer-keys.js';
import { blindIndex } from '../archive/blind-index.js';
import { sealField } from '../archive/envelope.js';
import type { KeyRing } from '../archive/keyring.js';
import type { ChatChannelRef, ChatPlatform, ChatPostRef } from '../chat/platform.js';
import type { Db } from '../db/client.js';
import { customers, messages, outbox, statusEvents } from '../db/schema/index.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { describeGraphError } from '../whatsapp/error-codes.js';
import { planOutboundMedia } from '../whatsapp/outbound-media.js';
import { markdownToWhatsApp, splitForWhatsApp } from '../whatsapp/to-whatsapp.js';
import { isDecryptFailure, openJsonWatched, openTextWatched } from './decrypt-failures.js';
import { RelaisError, errorCode, isRetryable } from './errors.js';
import { t, type Language } from './i18n.js';
import type { OutboundContent } from './outbound-content.js';
import type { KeyedBuckets } from './rate-limit.js';
import { serviceWindow } from './service-window.js';

/** The WhatsApp side as the send worker needs it (the Cloud API client). */
export interface WhatsAppSender {
  sendMessage(phoneNumberId: string, body: object): Promise<{ wamid: string }>;
  uploadMedia(phoneNumberId: string, media: { bytes: Uint8Array; mimeType: string; filename: string }): Promise<{ mediaId: string }>;
  markRead(phoneNumberId: string, wamid: string): Promise<void>;
}

export interface SendDeps {
  db: Db;
  ring: KeyRing;
  keys: CustomerKeyStore;
  platform: ChatPlatform;
  whatsapp: (phoneNumberId: string) => WhatsAppSender;
  metrics: Metrics;
  logger: Logger;
  lang: Language;
  perNumber: KeyedBuckets;
  perRecipient: KeyedBuckets;
  markReadOnReply: boolean;
  /** Templates that fit when the window is closed, for the notice (names and languages). */
  listTemplates(): Promise<{ name: string; language: string }[]>;
  /** Called after a send so the delivery indicator shows on the agent's post. */
  showIndicator(outboxId: string): Promise<void>;
  /** Called when the Graph API says the access token is invalid (flips /readyz). */
  onTokenInvalid(): void;
  /** How often one job retries a rate-limited send in place before handing back to the queue. */
  inPlaceRetries?: number;
  /** Called with the newer rows a job sent after its own: their queued jobs have nothing left to do. */
  onDrained?(customerId: string, outboxIds: string[]): Promise<void>;
  /** Test seam: sleeps (virtual in tests). */
  sleep?: (ms: number) => Promise<void>;
}

type OutboxRow = typeof outbox.$inferSelect;

/** How long a send job keeps sending the newer replies of its customer after its own. */
const DRAIN_BUDGET_MS = 10_000;

/**
 * Sends one outbox row to WhatsApp. Called by the `send` queue worker (FIFO per customer).
 * Idempotent: a sent or failed row is skipped; a row found in `sending` (the process died during
 * the Graph API call, so the outcome is unknown and WhatsApp has no idempotency key) is NOT sent
 * again: the agent gets a notice to check and resend, so a customer never receives a message twice.
 * Throws a retryable RelaisError for the queue to retry; permanent errors end in a notice.
 */
export function createSendWorker(deps: SendDeps) {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const readMarked = new Map<string, string>();

  async function notice(row: OutboxRow, text: string) {
    try {
      await deps.platform.postNotice(row.chatChannelId as ChatChannelRef, text, (row.chatPostId ?? undefined) as ChatPostRef | undefined);
    } catch (err) {
      deps.logger.warn({ code: errorCode(err), outboxId: row.id }, 'could not post a notice to the agents');
    }
  }

  async function fail(row: OutboxRow, code: string, text: string) {
    await deps.db.update(outbox).set({ state: 'failed', errorCode: code, status: 'failed', statusRank: 9 }).where(eq(outbox.id, row.id));
    deps.metrics.outboundFailures.inc({ code });
    await notice(row, text);
    await deps.showIndicator(row.id).catch(() => undefined);
  }

  async function replyContext(customerId: string, rootPost: ChatPostRef | undefined, dek: (v: number) => Promise<Uint8Array>): Promise<string | undefined> {
    if (!rootPost) return undefined;
    const [m] = await deps.db.select({ id: messages.id, wamidEnc: messages.wamidEnc, keyVersion: messages.keyVersion }).from(messages)
      .where(and(eq(messages.chatPostId, rootPost), eq(messages.customerId, customerId), eq(messages.direction, 'inbound'))).limit(1);
    if (m?.wamidEnc) return openTextWatched(deps, await dek(m.keyVersion), { table: 'messages', column: 'wamid_enc', rowId: m.id, keyVersion: m.keyVersion }, m.wamidEnc);
    const [o] = await deps.db.select({ id: outbox.id, wamidEnc: outbox.wamidEnc, keyVersion: outbox.keyVersion }).from(outbox)
      .where(and(eq(outbox.chatPostId, rootPost), eq(outbox.customerId, customerId))).limit(1);
    if (o?.wamidEnc) return openTextWatched(deps, await dek(o.keyVersion), { table: 'outbox', column: 'wamid_enc', rowId: o.id, keyVersion: o.keyVersion }, o.wamidEnc);
    return undefined;
  }

  /** One Graph call, paced and retried in place on rate limits (bounded), else thrown. */
  async function call<T>(phoneNumberId: string, recipient: string, fn: () => Promise<T>): Promise<T> {
    const attempts = deps.inPlaceRetries ?? 3;
    for (let i = 0; ; i++) {
      await deps.perNumber.get(phoneNumberId).take();
      await deps.perRecipient.get(`${phoneNumberId}:${recipient}`).take();
      try {
        return await fn();
      } catch (err) {
        if (!(err instanceof RelaisError) || !err.retryable || i >= attempts) throw err;
        const wait = Math.min(err.retryAfterMs ?? 1000 * 2 ** i, 30_000);
        if (err.code === 'whatsapp_131056') deps.perRecipient.get(`${phoneNumberId}:${recipient}`).pause(Math.max(wait, 6000));
        else if (err.code === 'whatsapp_130429' || err.code === 'whatsapp_http_429') deps.perNumber.get(phoneNumberId).pause(wait);
        deps.metrics.retries.inc({ queue: 'send' });
        deps.logger.info({ code: err.code, waitMs: wait }, 'WhatsApp asked to slow down; retrying');
        await sleep(wait);
      }
    }
  }

  /**
   * Sends the job's row after every earlier queued row of the same customer, oldest first. The
   * queue runs one job per customer at a time (key_strict_fifo), so this keeps the conversation in
   * order and spares later jobs a queue round-trip each (their jobs are removed, or find their row
   * already sent). A retryable error before the job's own row stops the drain: the job is retried
   * and the order is kept.
   */
  async function send(job: { outboxId: string; customerId?: string }, opts: { lastAttempt?: boolean } = {}): Promise<'sent' | 'skipped' | 'failed'> {
    let customerId = job.customerId;
    if (!customerId) {
      // Jobs enqueued before the payload carried the customer.
      const [self] = await deps.db.select({ customerId: outbox.customerId }).from(outbox).where(eq(outbox.id, job.outboxId)).limit(1);
      if (!self) return 'skipped';
      customerId = self.customerId;
    }
    // The queued backlog and its customer in one round trip.
    const rows = await deps.db.select({ o: outbox, c: customers }).from(outbox)
      .innerJoin(customers, eq(customers.id, outbox.customerId))
      .where(and(eq(outbox.customerId, customerId), eq(outbox.state, 'queued')))
      .orderBy(asc(outbox.createdAt)).limit(100);
    // Once the job's own row is done, the newer rows already loaded go too, and their queued jobs
    // are removed (onDrained): a burst of replies goes out at WhatsApp's pace, not at one queue
    // cycle per reply. A newer row that fails retryably is left to its own job.
    let own: 'sent' | 'skipped' | 'failed' | undefined;
    const drained: string[] = [];
    const started = Date.now();
    for (const r of rows) {
      if (r.o.id === job.outboxId) { own = await sendOne(r.o, r.c, opts.lastAttempt === true); continue; }
      if (!own) { await sendOne(r.o, r.c); continue; }
      // Per-recipient pacing can make each further reply wait seconds: the job stops well before
      // the queue would consider it expired, and the rest go with their own jobs.
      if (Date.now() - started > DRAIN_BUDGET_MS) break;
      try {
        await sendOne(r.o, r.c);
        drained.push(r.o.id);
      } catch {
        break;
      }
    }
    if (own) {
      if (drained.length && deps.onDrained) await deps.onDrained(customerId, drained);
      return own;
    }
    // Not queued any more (sent by an earlier job's drain, or left in `sending` by a crash), or
    // beyond this batch.
    const [row] = await deps.db.select({ o: outbox, c: customers }).from(outbox)
      .innerJoin(customers, eq(customers.id, outbox.customerId)).where(eq(outbox.id, job.outboxId)).limit(1);
    return row ? sendOne(row.o, row.c, opts.lastAttempt === true) : 'skipped';
  }
  return send;

  async function sendOne(row: OutboxRow, customer: typeof customers.$inferSelect, lastAttempt = false): Promise<'sent' | 'skipped' | 'failed'> {
    if (row.state === 'sent' || row.state === 'failed') return 'skipped';
    if (row.state === 'sending') {
      await fail(row, 'outcome_unknown', `:warning: ${t(deps.lang, 'sendOutcomeUnknown')}`);
      return 'failed';
    }
    const dekFor = (v: number) => deps.keys.get(deps.db, customer.id, v);
    let content: OutboundContent;
    let to: string | undefined;
    try {
      content = openJsonWatched<OutboundContent>(deps, await dekFor(row.keyVersion), { table: 'outbox', column: 'content_enc', rowId: row.id, keyVersion: row.keyVersion }, row.contentEnc);
      const cctx = { table: 'customers', rowId: customer.id, keyVersion: customer.keyVersion };
      const cdek = await dekFor(customer.keyVersion);
      to = customer.waIdEnc ? openTextWatched(deps, cdek, { ...cctx, column: 'wa_id_enc' }, customer.waIdEnc)
        : customer.bsuidEnc ? openTextWatched(deps, cdek, { ...cctx, column: 'bsuid_enc' }, customer.bsuidEnc) : undefined;
    } catch (err) {
      // Counted and logged already; retrying cannot help, so the agents are told instead.
      if (!isDecryptFailure(err)) throw err;
      await fail(row, err.code, `:x: ${t(deps.lang, 'sendFailed')} ${t(deps.lang, 'sendFailedGeneric')} (${err.code})`);
      return 'failed';
    }
    if (!to) { await fail(row, 'no_recipient', `:warning: ${t(deps.lang, 'noRecipient')}`); return 'failed'; }

    if (content.kind !== 'template') {
      const w = serviceWindow(customer.lastInboundAt);
      if (!w.open) {
        const list = (await deps.listTemplates().catch(() => [])).slice(0, 10).map((x) => `\`${x.name}\` (${x.language})`).join(', ');
        await fail(row, 'window_closed', `:hourglass: ${t(deps.lang, 'windowClosedNotice', { templates: list || t(deps.lang, 'noTemplates') })}`);
        return 'failed';
      }
    }

    await deps.db.update(outbox).set({ state: 'sending', attempts: row.attempts + 1 }).where(eq(outbox.id, row.id));
    const wa = deps.whatsapp(customer.phoneNumberId);
    const base = { recipient_type: 'individual', to };
    try {
      const bodies: object[] = [];
      const context = 'rootPost' in content ? await replyContext(customer.id, content.rootPost, dekFor) : undefined;
      const withContext = (b: object, first: boolean) => (context && first ? { ...b, context: { message_id: context } } : b);
      if (content.kind === 'text') {
        splitForWhatsApp(markdownToWhatsApp(content.text)).forEach((part, i) => bodies.push(withContext({ ...base, type: 'text', text: { body: part, preview_url: /https?:\/\//.test(part) } }, i === 0)));
      } else if (content.kind === 'media') {
        const caption = markdownToWhatsApp(content.text);
        const single = content.files.length === 1 && caption.length <= 1024;
        if (!single && caption) splitForWhatsApp(caption).forEach((part, i) => bodies.push(withContext({ ...base, type: 'text', text: { body: part } }, i === 0)));
        for (const [i, f] of content.files.entries()) {
          const plan = planOutboundMedia(f.mimeType, f.size);
          if (!plan.ok) {
            await fail(row, 'media_too_large', `:warning: ${t(deps.lang, 'outboundTooLarge', { name: f.name, limit: '100 MB' })}`);
            return 'failed';
          }
          const file = await deps.platform.downloadFile(f);
          const { mediaId } = await call(customer.phoneNumberId, to, () => wa.uploadMedia(customer.phoneNumberId, { bytes: file.data, mimeType: plan.mimeType, filename: f.name }));
          const media: Record<string, unknown> = { id: mediaId };
          if (plan.kind === 'document') media.filename = f.name;
          if (single && caption && plan.kind !== 'audio') media.caption = caption;
          bodies.push(withContext({ ...base, type: plan.kind, [plan.kind]: media }, i === 0 && (single || !caption)));
        }
      } else if (content.kind === 'reaction') {
        const [target] = await deps.db.select().from(messages).where(eq(messages.id, content.targetMessageId)).limit(1);
        if (!target?.wamidEnc) { await deps.db.update(outbox).set({ state: 'failed', errorCode: 'target_gone' }).where(eq(outbox.id, row.id)); return 'failed'; }
        const wamid = openTextWatched(deps, await dekFor(target.keyVersion), { table: 'messages', column: 'wamid_enc', rowId: target.id, keyVersion: target.keyVersion }, target.wamidEnc);
        bodies.push({ ...base, type: 'reaction', reaction: { message_id: wamid, emoji: content.emoji } });
      } else {
        bodies.push(withContext({ ...base, type: 'template', template: { name: content.name, language: { code: content.language }, components: content.components } }, true));
      }

      let wamid = '';
      for (const body of bodies) wamid = (await call(customer.phoneNumberId, to, () => wa.sendMessage(customer.phoneNumberId, body))).wamid;
      const wamidBidx = blindIndex(deps.ring, 'wamid', wamid);
      // Statuses that raced ahead of this answer are waiting in status_events: the newest rank
      // is applied in the same statement.
      const early = (column: AnyPgColumn) => sql`(select ${column} from ${statusEvents} where ${statusEvents.wamidBidx} = ${wamidBidx} order by ${statusEvents.rank} desc limit 1)`;
      await deps.db.update(outbox).set({
        state: 'sent', sentAt: new Date(), errorCode: null, wamidBidx,
        wamidEnc: sealField(await dekFor(row.keyVersion), { table: 'outbox', column: 'wamid_enc', rowId: row.id, keyVersion: row.keyVersion }, wamid),
        status: sql`coalesce(${early(statusEvents.status)}, 'accepted')`,
        statusRank: sql`coalesce(${early(statusEvents.rank)}, 1)`,
        statusAt: sql`coalesce(${early(statusEvents.waTimestamp)}, now())`,
        statusErrorCode: early(statusEvents.errorCode),
      }).where(eq(outbox.id, row.id));
      deps.metrics.outboundSent.inc({ kind: content.kind });
      await deps.showIndicator(row.id).catch((err) => deps.logger.warn({ code: errorCode(err) }, 'delivery indicator not updated'));
      if (deps.markReadOnReply && content.kind !== 'reaction') await markCustomerRead(customer.id, customer.phoneNumberId, wa, dekFor);
      return 'sent';
    } catch (err) {
      if (isRetryable(err) && !lastAttempt) {
        await deps.db.update(outbox).set({ state: 'queued', errorCode: errorCode(err) }).where(eq(outbox.id, row.id));
        throw err;
      }
      if (isRetryable(err)) {
        await fail(row, 'retries_exhausted', `:x: ${t(deps.lang, 'sendFailed')} ${t(deps.lang, 'sendRetriesExhausted')} (${errorCode(err)})`);
        return 'failed';
      }
      const code = errorCode(err);
      if (code === 'whatsapp_token_invalid') deps.onTokenInvalid();
      const graphCode = Number(/^whatsapp_(\d+)$/.exec(code)?.[1]);
      const hint = describeGraphError(Number.isFinite(graphCode) ? graphCode : code === 'whatsapp_token_invalid' ? 190 : undefined)?.agentHint[deps.lang]
        ?? (err instanceof RelaisError && err.agentMessage) ?? t(deps.lang, 'sendFailedGeneric');
      await fail(row, code, `:x: ${t(deps.lang, 'sendFailed')} ${hint} (${code})`);
      return 'failed';
    }
  }

  /** Marks the customer's latest message read (WhatsApp marks every earlier one too). Best effort. */
  async function markCustomerRead(customerId: string, phoneNumberId: string, wa: WhatsAppSender, dekFor: (v: number) => Promise<Uint8Array>) {
    try {
      const [m] = await deps.db.select({ id: messages.id, wamidEnc: messages.wamidEnc, keyVersion: messages.keyVersion }).from(messages)
        .where(and(eq(messages.customerId, customerId), eq(messages.direction, 'inbound'), lt(messages.receivedAt, new Date(Date.now() + 1000))))
        .orderBy(desc(messages.receivedAt)).limit(1);
      if (!m?.wamidEnc || readMarked.get(customerId) === m.id) return;
      const wamid = openTextWatched(deps, await dekFor(m.keyVersion), { table: 'messages', column: 'wamid_enc', rowId: m.id, keyVersion: m.keyVersion }, m.wamidEnc);
      await wa.markRead(phoneNumberId, wamid);
      readMarked.set(customerId, m.id);
    } catch (err) {
      deps.logger.info({ code: errorCode(err) }, 'could not mark the customer\'s messages as read');
    }
  }
}
