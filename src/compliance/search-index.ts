/**
 * Writing the search index: keyed hashes of a message's tokens ("postings") in `message_tokens`
 * (customer messages) and `outbox_tokens` (agent replies), inside the transaction that stores the
 * message. No plaintext word ever reaches the database: a posting holds a truncated keyed hash,
 * the row id, the customer id and the row's time. See docs/search.md for what that leaks.
 */
import { intArray, textArray } from '../db/array-literal.js';
import { sql } from 'drizzle-orm';
import { openJson } from '../archive/envelope.js';
import { reportDecryptFailure } from '../core/decrypt-failures.js';
import type { KeyRing } from '../archive/keyring.js';
import { keyedHash, memzero } from '../archive/sodium.js';
import { RelaisError } from '../core/errors.js';
import type { StoredContent } from '../core/inbox.js';
import type { InboundContent } from '../core/messages.js';
import type { OutboundContent } from '../core/outbound-content.js';
import type { Db } from '../db/client.js';
import type { ComplianceDeps } from './deps.js';
import { tokenize } from './tokenizer.js';

/**
 * Bits of the keyed hash kept per token (2^20 = 1,048,576 buckets). Fewer bits hide more (more
 * distinct words share a bucket), more bits cost less decryption of false candidates; the choice
 * is explained in docs/search.md. Changing it requires `relais search reindex --restart`.
 */
export const TOKEN_HASH_BITS = 20;

/** How tokens are hashed. Tests force a tiny `bits` to provoke collisions. */
export interface TokenHashing {
  bits: number;
}

export const DEFAULT_HASHING: TokenHashing = { bits: TOKEN_HASH_BITS };

const encoder = new TextEncoder();

/**
 * The stored values of `tokens`: keyed BLAKE2b-128 under the ring's `token` index key, first
 * `bits` bits as an integer (signed 32-bit when bits = 32, so it fits PostgreSQL `integer`).
 * Distinct values, in the order of the tokens. Pure; needs `initSodium()`.
 */
export function hashTokens(ring: KeyRing, tokens: readonly string[], hashing: TokenHashing = DEFAULT_HASHING): number[] {
  if (!Number.isInteger(hashing.bits) || hashing.bits < 1 || hashing.bits > 32) throw new RangeError('token hash bits must be 1..32');
  if (tokens.length === 0) return [];
  const key = ring.indexKey('token');
  try {
    const out = new Set<number>();
    for (const token of tokens) {
      const h = keyedHash(key, encoder.encode(token), 16);
      const word = ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0;
      out.add(hashing.bits === 32 ? word | 0 : word >>> (32 - hashing.bits));
    }
    return [...out];
  } finally {
    memzero(key);
  }
}

/** The words of a customer message that agents can read in the chat: text, caption, file name, place, names, choice, order note. Pure. */
export function inboundSearchText(content: InboundContent): string {
  switch (content.kind) {
    case 'text': return content.text;
    case 'media': return [content.media.caption, content.media.filename].filter(Boolean).join('\n');
    case 'location': return [content.name, content.address].filter(Boolean).join('\n');
    case 'contacts': return content.contacts.map((c) => [c.name, c.org].filter(Boolean).join(' ')).join('\n');
    case 'choice': return [content.title, content.description].filter(Boolean).join('\n');
    case 'order': return content.text ?? '';
    case 'system': return content.text ?? '';
    default: return '';
  }
}

/** The words of an agent reply: its text and file names, or the template as the agent saw it. Pure. */
export function outboundSearchText(content: OutboundContent): string {
  switch (content.kind) {
    case 'text': return content.text;
    case 'media': return [content.text, ...content.files.map((f) => f.name)].filter(Boolean).join('\n');
    case 'template': return content.summary;
    default: return '';
  }
}

/**
 * Decrypts a stored row's searchable text with its customer's key (`messages` or `outbox`
 * content), or returns null — after logging the error code and row id — when it cannot be
 * decrypted (erased customer, master key not loaded, corrupt row). Other errors are thrown.
 */
export async function openSearchText(
  deps: Pick<ComplianceDeps, 'keys' | 'logger' | 'metrics'>, db: Db, table: 'messages' | 'outbox',
  r: { id: string; customer_id: string; key_version: number; content_enc: Uint8Array },
): Promise<string | null> {
  try {
    const dek = await deps.keys.get(db, r.customer_id, r.key_version);
    const ctx = { table, column: 'content_enc', rowId: r.id, keyVersion: r.key_version };
    return table === 'messages'
      ? inboundSearchText(openJson<StoredContent>(dek, ctx, r.content_enc).content)
      : outboundSearchText(openJson<OutboundContent>(dek, ctx, r.content_enc));
  } catch (err) {
    if (!(err instanceof RelaisError)) throw err;
    // Counted in relais_decrypt_failures_total and logged as an error (tampering, missing key);
    // the search goes on with the rows it can read.
    reportDecryptFailure(deps, { table, column: 'content_enc', rowId: r.id, customerId: r.customer_id, keyVersion: r.key_version }, err);
    deps.logger.warn({ code: err.code, table, rowId: r.id }, 'search skipped a row it cannot decrypt');
    return null;
  }
}

/**
 * Inserts postings (`tokens[i]` of row `ids[i]`) for rows of `table`, in one statement; the time
 * and customer columns are copied from the row. Idempotent (ON CONFLICT DO NOTHING).
 */
export async function writePostings(tx: Db, table: 'messages' | 'outbox', tokens: readonly number[], ids: readonly string[]): Promise<void> {
  if (tokens.length === 0) return;
  const pairs = sql`unnest(${intArray(tokens)}::int[], ${textArray(ids)}::uuid[]) as t(token, id)`;
  await tx.execute(table === 'messages'
    ? sql`insert into message_tokens (token, received_at, message_id, customer_id)
        select t.token, m.received_at, m.id, m.customer_id from ${pairs} join messages m on m.id = t.id on conflict do nothing`
    : sql`insert into outbox_tokens (token, created_at, outbox_id, customer_id)
        select t.token, o.created_at, o.id, o.customer_id from ${pairs} join outbox o on o.id = t.id on conflict do nothing`);
}

/**
 * Stores the postings of customer messages just inserted in `tx`, all in one statement (none when
 * no message has a searchable word). Idempotent. Call it in the transaction that inserted the
 * messages, after the insert, with the messages really inserted. Returns the number of postings.
 */
export async function indexInboundMessages(tx: Db, ring: KeyRing, items: readonly { messageId: string; content: InboundContent }[], hashing?: TokenHashing): Promise<number> {
  const tokens: number[] = [];
  const ids: string[] = [];
  for (const it of items) {
    for (const t of hashTokens(ring, tokenize(inboundSearchText(it.content)), hashing)) { tokens.push(t); ids.push(it.messageId); }
  }
  await writePostings(tx, 'messages', tokens, ids);
  return tokens.length;
}

/** `indexInboundMessages` for one message. */
export function indexInboundMessage(tx: Db, ring: KeyRing, messageId: string, content: InboundContent, hashing?: TokenHashing): Promise<number> {
  return indexInboundMessages(tx, ring, [{ messageId, content }], hashing);
}

/** The postings (token hashes) of a customer message, for a caller that writes them itself. Pure. */
export function inboundTokenHashes(ring: KeyRing, content: InboundContent, hashing?: TokenHashing): number[] {
  return hashTokens(ring, tokenize(inboundSearchText(content)), hashing);
}

/** The postings (token hashes) of an agent reply, for a caller that writes them itself. Pure. */
export function outboxTokenHashes(ring: KeyRing, content: OutboundContent, hashing?: TokenHashing): number[] {
  return hashTokens(ring, tokenize(outboundSearchText(content)), hashing);
}

/** As `indexInboundMessage`, for an agent reply just inserted in `outbox` (call it in that transaction). */
export async function indexOutboxRow(tx: Db, ring: KeyRing, outboxId: string, content: OutboundContent, hashing?: TokenHashing): Promise<number> {
  const tokens = hashTokens(ring, tokenize(outboundSearchText(content)), hashing);
  await writePostings(tx, 'outbox', tokens, tokens.map(() => outboxId));
  return tokens.length;
}
