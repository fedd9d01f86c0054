/**
 * Finding candidate rows for a search in the postings tables, newest first, without decrypting
 * anything. One "source" per table pair: customer messages (`messages` + `message_tokens`) and
 * agent replies (`outbox` + `outbox_tokens`).
 *
 * Plan (docs/search.md, "How a search runs"): count each token's postings (capped), then walk
 * the rarest token's postings backwards in time — an ordered range of the (token, time, id)
 * primary key — and keep a row only if every other token has a posting with the same (time, id),
 * an exact primary-key probe. The walk stops as soon as a page is full, so a query costs about
 * (rows walked) × (tokens − 1) index probes, however common the tokens are. Within one customer
 * (or phone number), when the customer has fewer rows than the rarest token has postings, the
 * walk goes over the customer's rows instead. Probes are scalar subqueries, so PostgreSQL cannot
 * turn them into a hash join that would read a common token's whole posting list.
 */
import { sql, type SQL } from 'drizzle-orm';
import { textArray } from '../db/array-literal.js';
import type { Db } from '../db/client.js';

export interface SearchSource {
  direction: 'inbound' | 'outbound';
  rows: 'messages' | 'outbox';
  postings: 'message_tokens' | 'outbox_tokens';
  /** Id column in the postings table. */
  postingId: 'message_id' | 'outbox_id';
  /** Time column, same name in the rows and postings tables. */
  at: 'received_at' | 'created_at';
}

export const SOURCES: readonly SearchSource[] = [
  { direction: 'inbound', rows: 'messages', postings: 'message_tokens', postingId: 'message_id', at: 'received_at' },
  { direction: 'outbound', rows: 'outbox', postings: 'outbox_tokens', postingId: 'outbox_id', at: 'created_at' },
];

/** Which customers a search may return. Both empty: everyone. */
export interface SearchScope {
  /** Only these customers (from `customerId` or a phone number). Empty array: nobody. */
  customerIds?: string[];
  /** Only customers of this business number. */
  phoneNumberId?: string;
}

export interface Candidate {
  id: string;
  customerId: string;
  /** Microseconds since the epoch, exact (the keyset cursor). */
  atUs: bigint;
}

/**
 * Postings read per token to rank the tokens (an index-only range of the newest ones). Beyond it
 * a token is "common", and common tokens are ranked by how far back in time their newest
 * `COUNT_CAP` postings reach: the further back, the rarer.
 */
export const COUNT_CAP = 2_000;

const raw = (s: string) => sql.raw(s);
const atUsExpr = (col: SQL) => sql`(extract(epoch from ${col}) * 1000000)::bigint::text`;
const fromUs = (us: bigint) => sql`(timestamptz 'epoch' + ${us.toString()}::bigint * interval '1 microsecond')`;

function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

/**
 * The plan for one source: which driver to walk — the rarest token (fewest postings among its
 * newest `COUNT_CAP`, then the oldest reach), or the scope's customers' rows when they are fewer.
 * Null when some token has no posting at all (an AND that cannot match). One round trip.
 */
export async function planSource(db: Db, src: SearchSource, tokens: readonly number[], scope: SearchScope): Promise<{ driver: 'rows' | number; probes: number[] } | null> {
  if (scope.customerIds && scope.customerIds.length === 0) return null;
  const stats: SQL[] = tokens.map((t, i) => sql`(select count(*)::int as ${raw(`n${i}`)}, ${atUsExpr(sql`min(at)`)} as ${raw(`r${i}`)}
    from (select ${raw(src.at)} as at from ${raw(src.postings)} where token = ${t} order by ${raw(src.at)} desc limit ${COUNT_CAP}) s) ${raw(`t${i}`)}`);
  if (scope.customerIds) {
    stats.push(sql`(select count(*)::int as c from (select 1 from ${raw(src.rows)} where customer_id = any(${textArray(scope.customerIds)}::uuid[]) limit ${COUNT_CAP}) s) c`);
  }
  if (stats.length === 0) return null;
  const [row] = rowsOf<Record<string, number | string | null>>(await db.execute(sql`select * from ${sql.join(stats, sql`, `)}`));
  const ranked = tokens.map((t, i) => ({ t, n: Number(row![`n${i}`]), reach: row![`r${i}`] === null ? 0n : BigInt(row![`r${i}`] as string) }));
  if (ranked.some((x) => x.n === 0)) return null;
  const rowsCount = scope.customerIds ? Number(row!.c) : Infinity;
  if (rowsCount === 0) return null;
  ranked.sort((a, b) => a.n - b.n || (a.reach < b.reach ? -1 : a.reach > b.reach ? 1 : 0));
  if (ranked.length === 0 || rowsCount < ranked[0]!.n) return { driver: 'rows', probes: [...tokens] };
  return { driver: ranked[0]!.t, probes: ranked.slice(1).map((x) => x.t) };
}

/**
 * The statement `candidatePage` runs (exported for EXPLAIN in the benchmark). Pure.
 */
export function candidatePageSql(
  src: SearchSource, plan: { driver: 'rows' | number; probes: number[] }, scope: SearchScope,
  before: { atUs: bigint; id: string } | null, pageSize: number,
): SQL {
  const driving = plan.driver === 'rows';
  const alias = driving ? 'r' : 'p';
  const id = raw(`${alias}.${driving ? 'id' : src.postingId}`);
  const at = raw(`${alias}.${src.at}`);
  const customer = raw(`${alias}.customer_id`);
  const where: SQL[] = [];
  if (!driving) where.push(sql`p.token = ${plan.driver}`);
  else where.push(sql`r.content_purged_at is null`);
  if (before) where.push(sql`(${at}, ${id}) < (${fromUs(before.atUs)}, ${before.id}::uuid)`);
  if (scope.customerIds) where.push(sql`${customer} = any(${textArray(scope.customerIds)}::uuid[])`);
  if (scope.phoneNumberId) where.push(sql`${customer} in (select c.id from customers c where c.phone_number_id = ${scope.phoneNumberId})`);
  for (const t of plan.probes) {
    where.push(sql`(select 1 from ${raw(src.postings)} q where q.token = ${t} and q.${raw(src.at)} = ${at} and q.${raw(src.postingId)} = ${id}) is not null`);
  }
  const from = driving ? raw(`${src.rows} r`) : raw(`${src.postings} p`);
  return sql`
    select ${id} as id, ${customer} as customer_id, ${atUsExpr(at)} as at_us
    from ${from}
    where ${sql.join(where, sql` and `)}
    order by ${at} desc, ${id} desc
    limit ${pageSize}`;
}

/**
 * One page of candidates older than `before` (exclusive; null = from the newest), newest first,
 * at most `pageSize`. Rows whose content was purged by retention are never candidates.
 */
export async function candidatePage(
  db: Db, src: SearchSource, plan: { driver: 'rows' | number; probes: number[] }, scope: SearchScope,
  before: { atUs: bigint; id: string } | null, pageSize: number,
): Promise<Candidate[]> {
  const rows = rowsOf<{ id: string; customer_id: string; at_us: string }>(await db.execute(candidatePageSql(src, plan, scope, before, pageSize)));
  return rows.map((r) => ({ id: r.id, customerId: r.customer_id, atUs: BigInt(r.at_us) }));
}
