import { and, desc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import { openFieldText } from '../archive/envelope.js';
import { RelaisError } from '../core/errors.js';
import { customers, legalHolds, messages, outbox } from '../db/schema/index.js';
import { maskPhone } from '../log.js';
import type { ComplianceDeps } from './deps.js';

/** One customer conversation as the admin API lists it. */
export interface ConversationSummary {
  customerId: string;
  phoneNumberId: string;
  /** The business number's label from the configuration, when it has one. */
  businessLabel: string | null;
  /** `+33••••••78`; null when the identity is gone (retired or erased) or the customer has no phone number (BSUID only). */
  maskedNumber: string | null;
  /** Full E.164 number, only when the caller asked for it (gdpr scope). */
  number?: string | null;
  chatChannelId: string | null;
  lastInboundAt: Date | null;
  createdAt: Date;
  inboundMessages: number;
  outboundMessages: number;
  legalHold: boolean;
  /** Retention retired this customer's identity (its messages were purged). */
  retired: boolean;
}

export interface ConversationPage {
  conversations: ConversationSummary[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

const sortKey = sql<Date>`coalesce(${customers.lastInboundAt}, ${customers.createdAt})`;

/** The cursor carries the sort key as PostgreSQL's own text (microseconds kept: a JS Date would round them away and skip rows). */
function encodeCursor(at: string, id: string): string {
  return Buffer.from(`${at}|${id}`, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): { at: string; id: string } {
  const [at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (!at || !id || !/^\d{4}-\d\d-\d\d[ T][\d:.]+(Z|[+-]\d\d(:?\d\d)?)?$/.test(at) || !/^[0-9a-f-]{36}$/i.test(id)) {
    throw new RelaisError('invalid_request', 'cursor is not one this API returned; start again without it', { retryable: false });
  }
  return { at, id };
}

/**
 * Customers, most recently active first, with message counts and the legal-hold flag, one page
 * at a time (keyset pagination: stable while new messages arrive). Decrypts each customer's
 * number to show it masked (or in full with `fullNumbers`). Read-only; does not audit (the
 * route decides). Throws RelaisError('invalid_request') for a cursor it did not issue.
 */
export async function listConversations(deps: ComplianceDeps, opts: { limit: number; cursor?: string; phoneNumberId?: string; fullNumbers: boolean }): Promise<ConversationPage> {
  const { db } = deps;
  const where: SQL[] = [];
  if (opts.phoneNumberId) where.push(eq(customers.phoneNumberId, opts.phoneNumberId));
  if (opts.cursor) {
    const c = decodeCursor(opts.cursor);
    where.push(sql`(${sortKey}, ${customers.id}) < (${c.at}::timestamptz, ${c.id}::uuid)`);
  }
  const rows = await db.select({
    id: customers.id, phoneNumberId: customers.phoneNumberId, chatChannelId: customers.chatChannelId,
    lastInboundAt: customers.lastInboundAt, createdAt: customers.createdAt, waIdEnc: customers.waIdEnc,
    keyVersion: customers.keyVersion, retiredAt: customers.identityShreddedAt, sortAt: sql<string>`${sortKey}::text`,
  }).from(customers).where(where.length ? and(...where) : undefined).orderBy(desc(sortKey), desc(customers.id)).limit(opts.limit + 1);
  const page = rows.slice(0, opts.limit);
  const ids = page.map((r) => r.id);
  const inbound = new Map<string, number>();
  const outbound = new Map<string, number>();
  const held = new Set<string>();
  if (ids.length) {
    for (const r of await db.select({ id: messages.customerId, n: sql<number>`count(*)::int` }).from(messages)
      .where(and(inArray(messages.customerId, ids), eq(messages.direction, 'inbound'))).groupBy(messages.customerId)) inbound.set(r.id, Number(r.n));
    for (const r of await db.select({ id: outbox.customerId, n: sql<number>`count(*)::int` }).from(outbox)
      .where(inArray(outbox.customerId, ids)).groupBy(outbox.customerId)) outbound.set(r.id, Number(r.n));
    for (const r of await db.select({ id: legalHolds.customerId }).from(legalHolds).where(inArray(legalHolds.customerId, ids))) held.add(r.id);
  }
  const labels = new Map(deps.config.whatsapp.numbers.map((n) => [n.phoneNumberId, n.label ?? null]));
  const conversations: ConversationSummary[] = [];
  for (const r of page) {
    let digits: string | null = null;
    if (r.waIdEnc && !r.retiredAt) {
      try {
        const dek = await deps.keys.get(db, r.id, r.keyVersion);
        digits = openFieldText(dek, { table: 'customers', column: 'wa_id_enc', rowId: r.id, keyVersion: r.keyVersion }, r.waIdEnc);
      } catch (err) {
        if (!(err instanceof RelaisError) || err.code !== 'key_destroyed') throw err;
      }
    }
    conversations.push({
      customerId: r.id, phoneNumberId: r.phoneNumberId, businessLabel: labels.get(r.phoneNumberId) ?? null,
      maskedNumber: digits ? maskPhone(digits) : null,
      ...(opts.fullNumbers ? { number: digits ? `+${digits}` : null } : {}),
      chatChannelId: r.chatChannelId, lastInboundAt: r.lastInboundAt, createdAt: r.createdAt,
      inboundMessages: inbound.get(r.id) ?? 0, outboundMessages: outbound.get(r.id) ?? 0,
      legalHold: held.has(r.id), retired: r.retiredAt !== null,
    });
  }
  const last = page[page.length - 1];
  const nextCursor = rows.length > opts.limit && last ? encodeCursor(String(last.sortAt), last.id) : null;
  return { conversations, nextCursor };
}
