/**
 * Searching the encrypted archive (`relais search`, the admin API, `/wa search`): blind-index
 * candidates (search-candidates.ts), decrypted with each customer's key for the caller only,
 * verified by re-tokenising (truncated hashes collide on purpose), newest first, audited.
 * The query text is never stored, logged or audited; only its token count is.
 */
import { sql } from 'drizzle-orm';
import { textArray } from '../db/array-literal.js';
import { blindIndex, normalizePhone } from '../archive/blind-index.js';
import { chatLinker } from '../chat/permalink.js';
import { RelaisError } from '../core/errors.js';
import { appendAudit } from './audit.js';
import type { ComplianceDeps } from './deps.js';
import { candidatePage, planSource, SOURCES, type Candidate, type SearchScope, type SearchSource } from './search-candidates.js';
import { hashTokens, openSearchText, type TokenHashing } from './search-index.js';
import { foldText, tokenize } from './tokenizer.js';

export const DEFAULT_SEARCH_LIMIT = 20;
export const MAX_SEARCH_LIMIT = 100;
/** Words a query may hold (all must occur). */
export const MAX_QUERY_TOKENS = 16;
/** Candidates decrypted per source and search at most (bounds the cost of hash collisions). */
const MAX_DECRYPTED = 2_000;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface SearchOptions {
  /** Who searches, for the audit log: `cli:<user>`, `api:<token name>`, `chat:<user id>`. */
  actor: string;
  /** Results wanted (default 20, at most 100). */
  limit?: number;
  /** Only conversations with this phone number (international form, e.g. +33 6 12 34 56 78). */
  phone?: string;
  /** Only conversations on this business number. */
  phoneNumberId?: string;
  /** Only this customer (uuid). */
  customerId?: string;
  /**
   * Only messages in chat channels the caller can read: given candidate channel ids, returns
   * those visible. Applied before anything is decrypted. Absent: no channel restriction.
   */
  visibleChannels?: (channelIds: string[]) => Promise<Set<string>>;
  /** Test seam: the token hashing the index was written with. */
  hashing?: TokenHashing;
}

export interface SearchResult {
  /** `messages.id` for a customer message, `outbox.id` for an agent reply. */
  messageId: string;
  customerId: string;
  direction: 'inbound' | 'outbound';
  /** When Relais stored it. */
  at: Date;
  /** Up to about 160 characters of the message around the first match. */
  text: string;
  chat: { channelId: string | null; postId: string | null; link: string | null };
}

type Query = { mode: 'phone'; phone: string } | { mode: 'words'; tokens: string[] };

/** What a query means: a phone number alone (starting with + or 00) or words. Throws `search_query_empty` / `search_query_too_long`. */
export function parseQuery(query: string): Query {
  const q = (query ?? '').trim();
  if (/^(\+|00)[\d\s().-]+$/.test(q)) {
    try {
      return { mode: 'phone', phone: normalizePhone(q) };
    } catch { /* not a valid number: search it as words */ }
  }
  const tokens = tokenize(q);
  if (tokens.length === 0) {
    throw new RelaisError('search_query_empty', 'The search has no word to look for: words need at least 2 letters or digits (a phone number must start with + or 00)', { retryable: false });
  }
  if (tokens.length > MAX_QUERY_TOKENS) {
    throw new RelaisError('search_query_too_long', `The search has ${tokens.length} words; use at most ${MAX_QUERY_TOKENS} (all of them must occur)`, { retryable: false });
  }
  return { mode: 'words', tokens };
}

function invalid(message: string): RelaisError {
  return new RelaisError('invalid_argument', message, { retryable: false });
}

async function resolveScope(deps: ComplianceDeps, opts: SearchOptions, query: Query): Promise<SearchScope & { kind: string }> {
  const scope: SearchScope & { kind: string } = { kind: 'all' };
  if (opts.phoneNumberId !== undefined) {
    if (!/^\d{5,20}$/.test(opts.phoneNumberId)) throw invalid('phoneNumberId must be a WhatsApp phone_number_id (5 to 20 digits)');
    scope.phoneNumberId = opts.phoneNumberId;
    scope.kind = 'number';
  }
  const phone = query.mode === 'phone' ? query.phone : opts.phone;
  let ids: string[] | undefined;
  if (phone !== undefined) {
    const bidx = blindIndex(deps.ring, 'phone', phone);
    const rows = await deps.db.execute(sql`select id from customers where phone_bidx = ${bidx}`);
    ids = (Array.isArray(rows) ? rows : (rows as unknown as { rows: { id: string }[] }).rows).map((r: { id: string }) => r.id);
    scope.kind = 'phone';
  }
  if (opts.customerId !== undefined) {
    if (!UUID_RE.test(opts.customerId)) throw invalid('customerId must be a customer uuid');
    ids = ids ? ids.filter((x) => x === opts.customerId) : [opts.customerId];
    scope.kind = 'customer';
  }
  if (ids) scope.customerIds = ids;
  return scope;
}

interface Decrypted { result: SearchResult; atUs: bigint }

/**
 * The verified results of one source, newest first, decrypting page by page as they are pulled.
 */
async function* sourceResults(deps: ComplianceDeps, src: SearchSource, query: Query, scope: SearchScope, opts: SearchOptions, pageSize: number): AsyncGenerator<Decrypted> {
  const words = query.mode === 'words' ? query.tokens : [];
  const plan = await planSource(deps.db, src, hashTokens(deps.ring, words, opts.hashing), scope);
  if (!plan) return;
  const link = chatLinker(deps.config);
  let before: { atUs: bigint; id: string } | null = null;
  let decrypted = 0;
  for (;;) {
    const page: Candidate[] = await candidatePage(deps.db, src, plan, scope, before, pageSize);
    if (page.length === 0) return;
    const last = page[page.length - 1]!;
    before = { atUs: last.atUs, id: last.id };
    const rows = await loadRows(deps, src, page.map((c) => c.id));
    const channels = opts.visibleChannels ? await opts.visibleChannels([...new Set(rows.map((r) => r.channel_id).filter((c): c is string => !!c))]) : null;
    const readable = (r: Row | undefined): r is Row => !!r && !r.purged && (!channels || (!!r.channel_id && channels.has(r.channel_id)));
    // This page's customer keys in one query (cached ones need none); a key that cannot be had
    // (erased customer…) makes its rows skipped below.
    const keyOf = (r: Row) => `${r.customer_id}:${r.key_version}`;
    const dek = await deps.keys.getMany(deps.db, rows.filter(readable).map((r) => ({ customerId: r.customer_id, version: r.key_version })));
    for (const c of page) {
      const row = rows.find((r) => r.id === c.id);
      if (!readable(row) || !dek.has(keyOf(row))) continue;
      if (++decrypted > MAX_DECRYPTED) {
        deps.logger.warn({ source: src.direction, decrypted: MAX_DECRYPTED }, 'search stopped: too many candidates did not match after decryption');
        return;
      }
      const text = await openSearchText(deps, deps.db, src.rows, row);
      if (text === null) continue;
      const present = new Set(tokenize(text));
      if (!words.every((w) => present.has(w))) continue;
      yield {
        atUs: c.atUs,
        result: {
          messageId: row.id,
          customerId: row.customer_id,
          direction: src.direction,
          at: new Date(Number(c.atUs / 1000n)),
          text: snippet(text, words),
          chat: {
            channelId: row.channel_id,
            postId: row.chat_post_id,
            link: link({ phoneNumberId: row.phone_number_id, channelKey: row.channel_key, channelId: row.channel_id, postId: row.chat_post_id }),
          },
        },
      };
    }
    if (page.length < pageSize) return;
  }
}

interface Row {
  id: string; customer_id: string; key_version: number; content_enc: Uint8Array; chat_post_id: string | null;
  purged: boolean; channel_id: string | null; channel_key: string; phone_number_id: string;
}

async function loadRows(deps: ComplianceDeps, src: SearchSource, ids: string[]): Promise<Row[]> {
  const r = src.rows === 'messages'
    ? await deps.db.execute(sql`
        select m.id, m.customer_id, m.key_version, m.content_enc, m.chat_post_id, m.content_purged_at is not null as purged,
               c.chat_channel_id as channel_id, c.channel_key, c.phone_number_id
        from messages m join customers c on c.id = m.customer_id where m.id = any(${textArray(ids)}::uuid[])`)
    : await deps.db.execute(sql`
        select o.id, o.customer_id, o.key_version, o.content_enc, o.chat_post_id, o.content_purged_at is not null as purged,
               coalesce(o.chat_channel_id, c.chat_channel_id) as channel_id, c.channel_key, c.phone_number_id
        from outbox o join customers c on c.id = o.customer_id where o.id = any(${textArray(ids)}::uuid[])`);
  return (Array.isArray(r) ? r : (r as unknown as { rows: Row[] }).rows) as Row[];
}

/** About `max` characters of `text` around the first word matching a query token, whitespace collapsed. Pure. */
export function snippet(text: string, tokens: readonly string[], max = 160): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (Array.from(flat).length <= max) return flat;
  const wanted = new Set(tokens);
  let hit = 0;
  for (const m of flat.matchAll(/[\p{L}\p{N}\p{M}]+/gu)) {
    if (tokenize(m[0]).some((t) => wanted.has(t)) || wanted.has(foldText(m[0]))) { hit = m.index; break; }
  }
  const cps = Array.from(flat);
  const hitCp = Array.from(flat.slice(0, hit)).length;
  const start = Math.max(0, Math.min(hitCp - Math.floor(max / 3), cps.length - max));
  const cut = cps.slice(start, start + max).join('');
  return `${start > 0 ? '…' : ''}${cut}${start + max < cps.length ? '…' : ''}`;
}

/**
 * Searches customer messages and agent replies: every query word must occur (AND), newest first,
 * at most `limit`. A query that is only a phone number lists that number's conversations. Rows
 * purged by retention or of erased customers are never returned. Decrypts only what it returns
 * (plus hash collisions it discards). Appends one `search` audit entry (word count, result count,
 * scope, result customer ids; never the query) before returning; if the audit append fails,
 * nothing is returned. Throws `search_query_empty`, `search_query_too_long`, `invalid_argument`.
 */
export async function searchMessages(deps: ComplianceDeps, query: string, opts: SearchOptions): Promise<SearchResult[]> {
  const limit = opts.limit ?? DEFAULT_SEARCH_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_SEARCH_LIMIT) throw invalid(`limit must be an integer from 1 to ${MAX_SEARCH_LIMIT}`);
  if (!opts.actor) throw invalid('a search needs an actor for the audit log');
  const parsed = parseQuery(query);
  const started = performance.now();
  const scope = await resolveScope(deps, opts, parsed);
  const pageSize = Math.min(MAX_SEARCH_LIMIT, limit + 5);
  const streams = SOURCES.map((src) => sourceResults(deps, src, parsed, scope, opts, pageSize));
  // Both sources start at once; then a merge by time keeps the newest `limit`.
  const heads = await Promise.all(streams.map((s) => s.next()));
  const results: SearchResult[] = [];
  while (results.length < limit) {
    let best = -1;
    heads.forEach((h, i) => { if (!h.done && (best < 0 || h.value.atUs > (heads[best] as { value: Decrypted }).value.atUs)) best = i; });
    if (best < 0) break;
    results.push((heads[best] as { value: Decrypted }).value.result);
    heads[best] = await streams[best]!.next();
  }
  await Promise.all(streams.map((s) => s.return(undefined)));
  const customers = [...new Set(results.map((r) => r.customerId))].sort();
  await appendAudit(deps.db, deps.ring, {
    actor: opts.actor,
    action: 'search',
    target: scope.customerIds?.length === 1 ? scope.customerIds[0] : null,
    details: { mode: parsed.mode, tokens: parsed.mode === 'words' ? parsed.tokens.length : 0, scope: scope.kind, results: results.length, customers },
  }, { logger: deps.logger, now: deps.now?.() });
  deps.logger.info({ search: { mode: parsed.mode, tokens: parsed.mode === 'words' ? parsed.tokens.length : 0, scope: scope.kind, results: results.length, ms: Math.round(performance.now() - started) } }, 'search done');
  return results;
}
