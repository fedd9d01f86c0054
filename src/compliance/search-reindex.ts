/**
 * `relais search reindex`: (re)builds the search postings of stored messages and agent replies —
 * for an archive that predates search, or after the tokenizer or the hash truncation changed.
 * Batched and resumable: each batch decrypts rows in id order, replaces their postings and moves
 * a cursor kept in `settings` (key `search.reindex`), all in one transaction, so a stopped run
 * continues where it stopped and two runs never process the same batch twice at once. New
 * messages are indexed as they arrive, so the run can happen while Relais serves traffic.
 */
import { eq, sql } from 'drizzle-orm';
import { textArray } from '../db/array-literal.js';
import type { Db } from '../db/client.js';
import { settings } from '../db/schema/index.js';
import { appendAudit } from './audit.js';
import type { ComplianceDeps } from './deps.js';
import { DEFAULT_HASHING, hashTokens, openSearchText, writePostings, type TokenHashing } from './search-index.js';
import { TOKENIZER_VERSION, tokenize } from './tokenizer.js';

const STATE_KEY = 'search.reindex';
const PHASES = ['messages', 'outbox'] as const;
type Phase = (typeof PHASES)[number];

/** Progress of a reindex, as stored between batches and reported. */
export interface ReindexState {
  /** Tokenizer version and hash bits the postings are written with, e.g. `t1-b20`. */
  format: string;
  phase: Phase;
  /** Last row id done in `phase` (rows are walked in id order). */
  afterId: string | null;
  rows: number;
  postings: number;
  /** Rows that could not be decrypted (erased customer, missing master key): left without postings. */
  skipped: number;
  done: boolean;
}

/** The index format this build writes; a stored index of another format must be rebuilt. */
export function indexFormat(hashing: TokenHashing = DEFAULT_HASHING): string {
  return `t${TOKENIZER_VERSION}-b${hashing.bits}`;
}

function rowsOf<T>(r: unknown): T[] {
  return (Array.isArray(r) ? r : (r as { rows: T[] }).rows) as T[];
}

async function readState(db: Db, forUpdate: boolean): Promise<ReindexState | null> {
  const q = db.select({ value: settings.value }).from(settings).where(eq(settings.key, STATE_KEY));
  const [row] = forUpdate ? await q.for('update') : await q;
  return row ? JSON.parse(Buffer.from(row.value).toString('utf8')) as ReindexState : null;
}

async function writeState(db: Db, s: ReindexState): Promise<void> {
  const value = new Uint8Array(Buffer.from(JSON.stringify(s), 'utf8'));
  await db.insert(settings).values({ key: STATE_KEY, value }).onConflictDoUpdate({ target: settings.key, set: { value, updatedAt: new Date() } });
}

/** The stored reindex progress, or null when no reindex ever ran. Read-only. */
export function reindexStatus(db: Db): Promise<ReindexState | null> {
  return readState(db, false);
}

/**
 * Runs (or resumes) a reindex until every row is done; `restart` starts over (also implied when
 * the stored format differs from this build's). Returns the final state; `alreadyDone` when there
 * was nothing to do. Appends one `search.reindex` audit entry (counts only) when it finishes.
 * `onBatch` is called after each committed batch. Does database I/O and decryption.
 */
export async function reindexSearch(
  deps: ComplianceDeps,
  opts: { actor: string; batchSize?: number; restart?: boolean; onBatch?: (s: ReindexState) => void; hashing?: TokenHashing },
): Promise<ReindexState & { alreadyDone: boolean }> {
  const batchSize = opts.batchSize ?? 500;
  const format = indexFormat(opts.hashing);
  const fresh = (): ReindexState => ({ format, phase: 'messages', afterId: null, rows: 0, postings: 0, skipped: 0, done: false });
  const initial = await readState(deps.db, false);
  if (initial?.done && initial.format === format && !opts.restart) return { ...initial, alreadyDone: true };
  if (!initial || initial.format !== format || opts.restart) await writeState(deps.db, fresh());
  for (;;) {
    const state = await deps.db.transaction((tx) => reindexBatch(deps, tx, batchSize, format, opts.hashing));
    opts.onBatch?.(state);
    if (state.done) {
      await appendAudit(deps.db, deps.ring, { actor: opts.actor, action: 'search.reindex', details: { format, rows: state.rows, postings: state.postings, skipped: state.skipped } }, { logger: deps.logger, now: deps.now?.() });
      return { ...state, alreadyDone: false };
    }
  }
}

async function reindexBatch(deps: ComplianceDeps, tx: Db, batchSize: number, format: string, hashing?: TokenHashing): Promise<ReindexState> {
  // The state row is locked for the batch: a second run waits, then continues after this batch.
  const state = (await readState(tx, true))!;
  if (state.done || state.format !== format) return state;
  const table = state.phase;
  const after = state.afterId ? sql`and id > ${state.afterId}::uuid` : sql``;
  const rows = rowsOf<{ id: string; customer_id: string; key_version: number; content_enc: Uint8Array; purged: boolean }>(await tx.execute(sql`
    select id, customer_id, key_version, content_enc, content_purged_at is not null as purged
    from ${sql.raw(table)} where true ${after} order by id limit ${batchSize}`));
  if (rows.length === 0) {
    const next = PHASES[PHASES.indexOf(table) + 1];
    const s: ReindexState = next ? { ...state, phase: next, afterId: null } : { ...state, done: true };
    await writeState(tx, s);
    return s;
  }
  const tokens: number[] = [];
  const ids: string[] = [];
  for (const r of rows) {
    if (r.purged) continue;
    const text = await openSearchText(deps, tx, table, r);
    if (text === null) { state.skipped++; continue; }
    for (const t of hashTokens(deps.ring, tokenize(text), hashing)) { tokens.push(t); ids.push(r.id); }
  }
  const postings = table === 'messages' ? sql.raw('message_tokens where message_id') : sql.raw('outbox_tokens where outbox_id');
  await tx.execute(sql`delete from ${postings} = any(${textArray(rows.map((r) => r.id))}::uuid[])`);
  await writePostings(tx, table, tokens, ids);
  const s: ReindexState = { ...state, afterId: rows[rows.length - 1]!.id, rows: state.rows + rows.length, postings: state.postings + tokens.length };
  await writeState(tx, s);
  return s;
}
