import { randomUUID } from 'node:crypto';
import { and, eq, lt, sql } from 'drizzle-orm';
import { blindIndex } from '../archive/blind-index.js';
import type { CustomerKeyStore } from '../archive/customer-keys.js';
import { sealField, sealJson } from '../archive/envelope.js';
import type { KeyRing } from '../archive/keyring.js';
import { inboundTokenHashes } from '../compliance/search-index.js';
import { byteaArray, intArray, textArray } from '../db/array-literal.js';
import type { Db } from '../db/client.js';
import { customers, messages, outbox, statusEvents } from '../db/schema/index.js';
import { RelaisError, errorCode } from './errors.js';
import type { InboundMessage, InboundStatus, ParsedWebhook } from './messages.js';
import { STATUS_RANK } from './messages.js';

export interface InboxDeps {
  ring: KeyRing;
  keys: CustomerKeyStore;
  /** Enqueues the relay jobs (one per stored message, in order) inside the transaction. */
  enqueueRelays(tx: Db, jobs: { messageId: string; customerId: string }[]): Promise<void>;
  /** Business numbers Relais serves. */
  isKnownNumber(phoneNumberId: string): boolean;
  /**
   * Known customers by (number, customer index), to skip a lookup per message. Only rows read
   * from the database (hence committed) are cached; erasure must delete the entry.
   */
  customerCache?: Map<string, { id: string; keyVersion: number }>;
  /** Enqueues a delivery-indicator refresh for an agent message whose status changed (in the transaction). */
  enqueueIndicator?(tx: Db, job: { outboxId: string; customerId: string }): Promise<void>;
}

export interface InboxResult {
  stored: { messageId: string; type: string }[];
  duplicates: { type: string }[];
  statuses: { status: string; applied: boolean }[];
  /** Messages and statuses addressed to a number Relais does not serve. */
  unroutable: number;
  /** Messages without any customer identity (neither wa_id nor BSUID). */
  anonymous: number;
}

/** The content columns stored for a message: what the relay worker needs to render it. */
export interface StoredContent {
  content: InboundMessage['content'];
  markers: InboundMessage['markers'];
  customerName?: string;
}

/**
 * Persists everything one webhook carried, inside the caller's transaction: customers (with a
 * fresh data key on first contact), messages sealed with the customer's key, relay jobs, and
 * statuses. A message whose wamid is already stored is a no-op (UNIQUE keyed hash), so Meta's
 * redeliveries never relay twice. Does database I/O only: no network call happens here.
 */
export async function persistWebhook(tx: Db, deps: InboxDeps, parsed: ParsedWebhook): Promise<InboxResult> {
  return (await persistWebhooks(tx, deps, [parsed]))[0]!;
}

/**
 * `persistWebhook` for several webhooks in one transaction (group commit): every message row
 * goes in one multi-row statement and every relay job in one insert, so the database round
 * trips per webhook fall as the batch grows. Results are in the order of `batch`.
 */
export async function persistWebhooks(tx: Db, deps: InboxDeps, batch: ParsedWebhook[]): Promise<InboxResult[]> {
  const results: InboxResult[] = batch.map(() => ({ stored: [], duplicates: [], statuses: [], unroutable: 0, anonymous: 0 }));
  const rows: (InboundRow & { result: InboxResult })[] = [];
  for (const [i, parsed] of batch.entries()) {
    const result = results[i]!;
    for (const m of parsed.messages) {
      if (!deps.isKnownNumber(m.phoneNumberId)) { result.unroutable++; continue; }
      const customerKey = m.customer.bsuid ?? m.customer.waId;
      if (!customerKey) { result.anonymous++; continue; }
      const customer = await upsertCustomer(tx, deps, m, customerKey);
      const messageId = randomUUID();
      const type = m.content.kind === 'unsupported' ? `unsupported:${m.content.waType}` : m.content.kind;
      const stored: StoredContent = { content: m.content, markers: m.markers, customerName: m.customer.profileName };
      const ctx = { table: 'messages', rowId: messageId, keyVersion: customer.keyVersion };
      const refWamid = m.content.kind === 'reaction' ? m.content.targetWamid : m.markers.replyToWamid;
      rows.push({
        result,
        id: messageId,
        customerId: customer.id,
        wamidBidx: blindIndex(deps.ring, 'wamid', m.wamid),
        wamidEnc: sealField(customer.dek, { ...ctx, column: 'wamid_enc' }, m.wamid),
        type,
        contentEnc: sealJson(customer.dek, { ...ctx, column: 'content_enc' }, stored),
        refBidx: refWamid ? blindIndex(deps.ring, 'wamid', refWamid) : null,
        keyVersion: customer.keyVersion,
        waTimestamp: new Date(m.timestamp * 1000),
        tokens: inboundTokenHashes(deps.ring, m.content),
      });
    }
  }
  const inserted = rows.length ? await insertInboundMessages(tx, rows) : new Set<string>();
  const jobs: { messageId: string; customerId: string }[] = [];
  for (const r of rows) {
    if (!inserted.has(r.id)) { r.result.duplicates.push({ type: r.type }); continue; }
    jobs.push({ messageId: r.id, customerId: r.customerId });
    r.result.stored.push({ messageId: r.id, type: r.type });
  }
  if (jobs.length) await deps.enqueueRelays(tx, jobs);
  for (const [i, parsed] of batch.entries()) {
    for (const s of parsed.statuses) {
      if (!deps.isKnownNumber(s.phoneNumberId)) { results[i]!.unroutable++; continue; }
      const r = await recordStatus(tx, deps.ring, s);
      results[i]!.statuses.push({ status: r.status, applied: r.applied });
      if (r.outbox && deps.enqueueIndicator) await deps.enqueueIndicator(tx, r.outbox);
    }
  }
  return results;
}

interface InboundRow {
  id: string; customerId: string; wamidBidx: string; wamidEnc: Uint8Array; type: string; contentEnc: Uint8Array;
  refBidx: string | null; keyVersion: number; waTimestamp: Date;
  /** Search postings (token hashes, see compliance/search-index.ts). */
  tokens: number[];
}

/**
 * Inserts inbound messages with their search postings and moves each customer's `last_inbound_at` forward, in one
 * statement. Rows whose wamid is already stored (redeliveries, also twice in one batch) are
 * skipped. `received_at` is `clock_timestamp()`, which advances row by row, so messages keep
 * their arrival order even when a batch shares one transaction. Returns the inserted ids.
 */
async function insertInboundMessages(tx: Db, rows: InboundRow[]): Promise<Set<string>> {
  // One statement text whatever the batch size (array parameters, see db/array-literal.ts):
  // prepared once per connection, eleven parameters whatever the number of rows.
  const result = await tx.execute<{ id: string; retired: number }>(sql`
    with m as (
      insert into ${messages} (id, customer_id, direction, wamid_bidx, wamid_enc, type, content_enc, ref_bidx, key_version, wa_timestamp, received_at)
      select v.id, v.customer_id, 'inbound', v.wamid_bidx, v.wamid_enc, v.type, v.content_enc, v.ref_bidx, v.key_version, v.wa_timestamp, clock_timestamp()
      from unnest(${textArray(rows.map((v) => v.id))}::uuid[], ${textArray(rows.map((v) => v.customerId))}::uuid[],
        ${textArray(rows.map((v) => v.wamidBidx))}::text[], ${byteaArray(rows.map((v) => v.wamidEnc))}::bytea[],
        ${textArray(rows.map((v) => v.type))}::text[], ${byteaArray(rows.map((v) => v.contentEnc))}::bytea[],
        ${textArray(rows.map((v) => v.refBidx))}::text[], ${intArray(rows.map((v) => v.keyVersion))}::int[],
        ${textArray(rows.map((v) => v.waTimestamp.toISOString()))}::timestamptz[])
        as v(id, customer_id, wamid_bidx, wamid_enc, type, content_enc, ref_bidx, key_version, wa_timestamp)
      on conflict (wamid_bidx) do nothing
      returning id, customer_id, wa_timestamp, received_at
    ), p as (
      -- Search postings of the rows really inserted (a redelivery adds none).
      insert into message_tokens (token, received_at, message_id, customer_id)
      select t.token, m.received_at, m.id, m.customer_id
      from unnest(${intArray(rows.flatMap((v) => v.tokens))}::int[], ${textArray(rows.flatMap((v) => v.tokens.map(() => v.id)))}::uuid[]) as t(token, id)
      join m on m.id = t.id
      on conflict do nothing
    ), c as (
      update ${customers} set last_inbound_at = greatest(${customers}.last_inbound_at, latest.at), updated_at = now()
      from (select customer_id, max(wa_timestamp) as at from m group by customer_id) as latest
      where ${customers}.id = latest.customer_id
      returning ${customers}.identity_shredded_at as retired
    )
    select id, (select count(*) from c where retired is not null)::int as retired from m`);
  const list = Array.isArray(result) ? result : (result as unknown as { rows: { id: string; retired: number }[] }).rows;
  // Retention retired one of these customers while this transaction waited on its row (its data
  // key is gone): refuse, so Meta redelivers and the message goes to a new customer record.
  if (list.some((r) => Number(r.retired) > 0)) {
    throw new RelaisError('customer_retired', 'a customer was retired by retention while this webhook was stored; Meta redelivers it and it is stored under a new customer record', { retryable: true });
  }
  return new Set(list.map((r) => r.id));
}

async function upsertCustomer(tx: Db, deps: InboxDeps, m: InboundMessage, customerKey: string) {
  const customerBidx = blindIndex(deps.ring, 'customer', customerKey);
  const cacheKey = `${m.phoneNumberId}:${customerBidx}`;
  const cached = deps.customerCache?.get(cacheKey);
  const found = cached ? [cached] : await tx.select({ id: customers.id, keyVersion: customers.keyVersion }).from(customers)
    .where(and(eq(customers.phoneNumberId, m.phoneNumberId), eq(customers.customerBidx, customerBidx))).limit(1);
  if (found[0]) {
    let dek: Uint8Array;
    try {
      dek = await deps.keys.get(tx, found[0].id, found[0].keyVersion);
    } catch (err) {
      // A cached customer retired by retention or erased since (its data key is gone): the
      // database no longer matches it, so look again (a returning person becomes a new customer).
      if (!cached || errorCode(err) !== 'key_destroyed') throw err;
      deps.customerCache?.delete(cacheKey);
      return upsertCustomer(tx, deps, m, customerKey);
    }
    deps.customerCache?.set(cacheKey, found[0]);
    return { id: found[0].id, keyVersion: found[0].keyVersion, dek };
  }
  const id = randomUUID();
  const keyVersion = 1;
  // Two webhooks for a new customer may race: the UNIQUE constraint picks one; the loser re-reads.
  const inserted = await tx.insert(customers).values({
    id,
    phoneNumberId: m.phoneNumberId,
    customerBidx,
    phoneBidx: m.customer.waId ? blindIndex(deps.ring, 'phone', m.customer.waId) : null,
    keyVersion,
    channelKey: blindIndex(deps.ring, 'channel', `${m.phoneNumberId}:${customerKey}`).slice(0, 26),
  }).onConflictDoNothing({ target: [customers.phoneNumberId, customers.customerBidx] }).returning({ id: customers.id });
  if (inserted.length === 0) return upsertCustomer(tx, deps, m, customerKey);
  const { dek } = await deps.keys.create(tx, id);
  const ctx = { table: 'customers', rowId: id, keyVersion };
  await tx.update(customers).set({
    waIdEnc: m.customer.waId ? sealField(dek, { ...ctx, column: 'wa_id_enc' }, m.customer.waId) : null,
    bsuidEnc: m.customer.bsuid ? sealField(dek, { ...ctx, column: 'bsuid_enc' }, m.customer.bsuid) : null,
    profileNameEnc: m.customer.profileName ? sealField(dek, { ...ctx, column: 'profile_name_enc' }, m.customer.profileName) : null,
  }).where(eq(customers.id, id));
  return { id, keyVersion, dek };
}

/**
 * Records a delivery status and applies it to the message if it outranks the current one
 * (sent < delivered < read; failed has the top rank, so it is terminal). Statuses for messages Relais does not know
 * yet stay in `status_events` and are applied when the message is recorded.
 */
export async function recordStatus(tx: Db, ring: KeyRing, s: InboundStatus): Promise<{ status: string; applied: boolean; outbox?: { outboxId: string; customerId: string } }> {
  const wamidBidx = blindIndex(ring, 'wamid', s.wamid);
  const rank = STATUS_RANK[s.status] ?? 1;
  const errorCode = s.errors[0]?.code ?? null;
  const at = new Date(s.timestamp * 1000);
  await tx.insert(statusEvents).values({ wamidBidx, status: s.status, rank, waTimestamp: at, errorCode })
    .onConflictDoNothing({ target: [statusEvents.wamidBidx, statusEvents.status] });
  const updated = await tx.update(messages)
    .set({ status: s.status, statusRank: rank, statusAt: at, statusErrorCode: errorCode })
    .where(and(eq(messages.wamidBidx, wamidBidx), lt(messages.statusRank, rank)))
    .returning({ id: messages.id });
  const updatedOutbox = await tx.update(outbox)
    .set({ status: s.status, statusRank: rank, statusAt: at, statusErrorCode: errorCode })
    .where(and(eq(outbox.wamidBidx, wamidBidx), lt(outbox.statusRank, rank)))
    .returning({ outboxId: outbox.id, customerId: outbox.customerId });
  return { status: s.status, applied: updated.length + updatedOutbox.length > 0, outbox: updatedOutbox[0] };
}
