/**
 * Gathers everything Relais holds on one person into an `ExportDocument` plus the media files:
 * every customer row found for their number, each conversation's messages in both directions
 * (customer messages from `messages`, agents' replies from `outbox`), delivery status histories
 * (`status_events`), and the stored media, decrypted with the customer's data key using the same
 * readers as the relay and send workers (envelope, media-store). Read-only.
 */
import { createHash } from 'node:crypto';
import { and, asc, eq, inArray, ne, sql } from 'drizzle-orm';
import { openFieldText, openJson } from '../archive/envelope.js';
import { reportDecryptFailure } from '../core/decrypt-failures.js';
import type { RelaisConfig } from '../config/load.js';
import type { Language } from '../core/i18n.js';
import type { StoredContent } from '../core/inbox.js';
import { loadMediaBytes } from '../core/media-store.js';
import type { OutboundContent } from '../core/outbound-content.js';
import { errorCode } from '../core/errors.js';
import type { Db } from '../db/client.js';
import { legalHolds, media, messages, outbox, statusEvents } from '../db/schema/index.js';
import type { ComplianceDeps } from './deps.js';
import { type ExportCustomer, type ExportMedia, type ExportMessage } from './export-schema.js';
import { inboundText, outboundText, portableInbound, portableOutbound, zipSafeName } from './export-text.js';
import { openCustomerIdentity, type CustomerRow } from './subjects.js';

const PAGE = 1000;
type MessageRow = typeof messages.$inferSelect;
type StatusHistory = NonNullable<ExportMessage['status']>['history'];

const iso = (d: Date | null | undefined): string | undefined => (d ? d.toISOString() : undefined);

/** What one customer row contributes: its part of `export.json` and its files (ZIP path → bytes). */
export interface CollectedCustomer {
  customer: ExportCustomer;
  files: Map<string, Uint8Array>;
  unreadable: number;
}

/** Collects one customer row (one conversation). Database I/O and decryption; throws on database errors. */
export async function collectCustomer(deps: Pick<ComplianceDeps, 'db' | 'keys' | 'logger'> & { config: Pick<RelaisConfig, 'whatsapp'> }, c: CustomerRow, lang: Language): Promise<CollectedCustomer> {
  const { db, keys } = deps;
  const identity = await openCustomerIdentity(db, keys, c);
  const dekFor = (version: number) => keys.get(db, c.id, version);
  const files = new Map<string, Uint8Array>();
  let unreadable = 0;

  const inbound = await allMessages(db, c.id);
  const replies = await db.select().from(outbox)
    .where(and(eq(outbox.customerId, c.id), ne(outbox.kind, 'command'))).orderBy(asc(outbox.createdAt), asc(outbox.id));
  const mediaRows = inbound.length === 0 ? [] : await db.select().from(media)
    .where(inArray(media.messageId, db.select({ id: messages.id }).from(messages).where(eq(messages.customerId, c.id))));
  const mediaByMessage = new Map<string, typeof mediaRows>();
  for (const m of mediaRows) mediaByMessage.set(m.messageId, [...(mediaByMessage.get(m.messageId) ?? []), m]);
  const history = await statusHistories(db, [...inbound.map((m) => m.wamidBidx), ...replies.map((r) => r.wamidBidx)]);
  const idByWamid = new Map(inbound.filter((m) => m.wamidBidx).map((m) => [m.wamidBidx as string, m.id]));

  const entries: { at: number; seq: number; msg: ExportMessage }[] = [];
  for (const m of inbound) {
    const msg: ExportMessage = {
      id: m.id,
      direction: m.direction,
      author: m.direction === 'inbound' ? 'customer' : 'agent',
      type: m.type,
      timestamps: { sentAt: iso(m.waTimestamp), receivedAt: iso(m.receivedAt), relayedAt: iso(m.postedAt) },
      media: [],
    };
    const ref = m.refBidx ? idByWamid.get(m.refBidx) : undefined;
    if (ref) msg.replyTo = ref;
    if (m.status) msg.status = { current: m.status, at: iso(m.statusAt) ?? null, errorCode: m.statusErrorCode, history: (m.wamidBidx && history.get(m.wamidBidx)) || [] };
    if (m.contentPurgedAt) {
      msg.contentRemoved = { reason: 'retention', at: m.contentPurgedAt.toISOString() };
    } else {
      try {
        const dek = await dekFor(m.keyVersion);
        const stored = openJson<StoredContent>(dek, { table: 'messages', column: 'content_enc', rowId: m.id, keyVersion: m.keyVersion }, m.contentEnc);
        const text = inboundText(stored.content, lang);
        if (text !== undefined) msg.text = text;
        msg.content = { ...(portableInbound(stored.content) as object), markers: stored.markers };
        for (const row of mediaByMessage.get(m.id) ?? []) msg.media.push(await exportMedia(db, dek, row, files));
        if (stored.content.kind === 'media' && msg.media.length === 0) {
          msg.media.push({ kind: stored.content.media.kind, state: 'pending', ...(stored.content.media.filename && { name: stored.content.media.filename }) });
        }
      } catch (err) {
        unreadable++;
        msg.unreadable = errorCode(err);
        reportDecryptFailure(deps, { table: 'messages', column: 'content_enc', rowId: m.id, customerId: m.customerId, keyVersion: m.keyVersion }, err);
        deps.logger.warn({ messageId: m.id, code: errorCode(err) }, 'export: message content could not be opened');
      }
    }
    entries.push({ at: m.receivedAt.getTime(), seq: entries.length, msg });
  }
  for (const r of replies) {
    const msg: ExportMessage = {
      id: r.id,
      direction: 'outbound',
      author: 'agent',
      type: r.kind,
      timestamps: { sentAt: iso(r.createdAt), deliveredToWhatsAppAt: iso(r.sentAt) },
      media: [],
    };
    if (r.status) msg.status = { current: r.status, at: iso(r.statusAt) ?? null, errorCode: r.statusErrorCode, history: (r.wamidBidx && history.get(r.wamidBidx)) || [] };
    if (r.contentPurgedAt) {
      msg.contentRemoved = { reason: 'retention', at: r.contentPurgedAt.toISOString() };
    } else {
      try {
        const content = openJson<OutboundContent>(await dekFor(r.keyVersion), { table: 'outbox', column: 'content_enc', rowId: r.id, keyVersion: r.keyVersion }, r.contentEnc);
        const text = outboundText(content);
        if (text !== undefined) msg.text = text;
        msg.content = portableOutbound(content);
        if (content.kind === 'reaction') msg.replyTo = content.targetMessageId;
        if (content.kind === 'media') {
          msg.media = content.files.map((f) => ({ kind: 'document', state: 'held_by_chat' as const, name: f.name, mimeType: f.mimeType, size: f.size }));
        }
      } catch (err) {
        unreadable++;
        msg.unreadable = errorCode(err);
        reportDecryptFailure(deps, { table: 'outbox', column: 'content_enc', rowId: r.id, customerId: r.customerId, keyVersion: r.keyVersion }, err);
        deps.logger.warn({ outboxId: r.id, code: errorCode(err) }, 'export: agent reply could not be opened');
      }
    }
    entries.push({ at: r.createdAt.getTime(), seq: entries.length, msg });
  }
  entries.sort((a, b) => a.at - b.at || a.seq - b.seq);

  const [hold] = await db.select({ id: legalHolds.customerId }).from(legalHolds).where(eq(legalHolds.customerId, c.id)).limit(1);
  const label = deps.config.whatsapp.numbers.find((n) => n.phoneNumberId === c.phoneNumberId)?.label;
  return {
    customer: {
      id: c.id,
      businessNumber: { phoneNumberId: c.phoneNumberId, ...(label && { label }) },
      identity,
      createdAt: c.createdAt.toISOString(),
      lastInboundAt: iso(c.lastInboundAt) ?? null,
      conversation: { chatChannelId: c.chatChannelId, legalHold: Boolean(hold) },
      messages: entries.map((e) => e.msg),
    },
    files,
    unreadable,
  };
}

/**
 * Every message row of a customer, oldest first, read in pages (keyset on received_at, id). The
 * keyset is compared in SQL against the last row itself: received_at has microseconds, a JS Date
 * only milliseconds, so comparing with the Date would repeat rows.
 */
async function allMessages(db: Db, customerId: string): Promise<MessageRow[]> {
  const out: MessageRow[] = [];
  let last: MessageRow | undefined;
  for (;;) {
    const after = last ? sql`(${messages.receivedAt}, ${messages.id}) > (select m.received_at, m.id from ${messages} m where m.id = ${last.id})` : undefined;
    const page = await db.select().from(messages).where(and(eq(messages.customerId, customerId), after))
      .orderBy(asc(messages.receivedAt), asc(messages.id)).limit(PAGE);
    out.push(...page);
    if (page.length < PAGE) return out;
    last = page[page.length - 1];
  }
}

/** Delivery statuses per wamid index, oldest first. */
async function statusHistories(db: Db, bidxs: (string | null)[]): Promise<Map<string, StatusHistory>> {
  const wanted = [...new Set(bidxs.filter((b): b is string => Boolean(b)))];
  const out = new Map<string, StatusHistory>();
  for (let i = 0; i < wanted.length; i += PAGE) {
    const rows = await db.select().from(statusEvents).where(inArray(statusEvents.wamidBidx, wanted.slice(i, i + PAGE)))
      .orderBy(asc(statusEvents.rank), asc(statusEvents.id));
    for (const r of rows) {
      const list = out.get(r.wamidBidx) ?? [];
      list.push({ status: r.status, at: iso(r.waTimestamp) ?? null, errorCode: r.errorCode });
      out.set(r.wamidBidx, list);
    }
  }
  return out;
}

/** One media row: its description, and its decrypted bytes added to `files` when stored. */
async function exportMedia(db: Db, dek: Uint8Array, row: typeof media.$inferSelect, files: Map<string, Uint8Array>): Promise<ExportMedia> {
  const name = row.filenameEnc ? openFieldText(dek, { table: 'media', column: 'filename_enc', rowId: row.id, keyVersion: row.keyVersion }, row.filenameEnc) : undefined;
  const out: ExportMedia = {
    kind: row.kind,
    state: row.state,
    ...(name !== undefined && { name }),
    ...(row.mimeType && { mimeType: row.mimeType }),
    ...(row.size !== null && { size: row.size }),
  };
  if (row.state !== 'stored') return out;
  const bytes = await loadMediaBytes(db, dek, row);
  const path = `media/${row.messageId}-${zipSafeName(name, row.kind)}`;
  files.set(path, bytes);
  return { ...out, file: path, size: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') };
}
