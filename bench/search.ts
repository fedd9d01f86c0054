/**
 * `npm run bench -- search [--messages 1000000] [--customers 10000] [--queries 200] [--explain]`:
 * seeds an archive on PostgreSQL (a fresh database, dropped at the end), then times two-word
 * searches of mixed frequency through `searchMessages` — blind-index lookup, decryption of the
 * returned page, verification, audit append — one at a time, as a caller would see them.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { pino } from 'pino';
import { CustomerKeyStore } from '../src/archive/customer-keys.js';
import { createKeyRing, type KeyRing } from '../src/archive/keyring.js';
import { masterKeyVersion } from '../src/archive/master-key.js';
import { initSodium } from '../src/archive/sodium.js';
import { appendAudit } from '../src/compliance/audit.js';
import { parseQuery, searchMessages, type SearchOptions } from '../src/compliance/search.js';
import { candidatePageSql, planSource, SOURCES } from '../src/compliance/search-candidates.js';
import { hashTokens, indexInboundMessages, TOKEN_HASH_BITS } from '../src/compliance/search-index.js';
import { tokenize } from '../src/compliance/tokenizer.js';
import { loadConfig } from '../src/config/load.js';
import { openDatabase, type Db } from '../src/db/client.js';
import { runMigrations } from '../src/db/migrate.js';
import { generateMessage, prng, wordOfRank } from './search-corpus.js';
import { seedArchive, type SeedReport } from './search-seed.js';
import { percentile } from './load.js';

type Query = { cls: string; q: string; opts?: Partial<SearchOptions> };

/** 200 two-word queries by default: a quarter per frequency class, plus scoped one-word searches (reported apart). */
function buildQueries(seed: SeedReport, n: number): Query[] {
  const rand = prng(7);
  const pick = <T>(a: T[]) => a[Math.floor(rand() * a.length)]!;
  const rankIn = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo));
  // Ranks of words the tokenizer keeps (one-letter words like "a" are not searchable).
  const ok = (r: number) => { while (wordOfRank(r).length < 2) r++; return r; };
  const two = (a: number, b: number) => `${wordOfRank(ok(a))} ${wordOfRank(ok(b === a ? a + 1 : b))}`;
  const withOrders = seed.samples.filter((s) => s.order);
  const out: Query[] = [];
  const per = Math.max(1, Math.floor(n / 4));
  for (let i = 0; i < per; i++) out.push({ cls: 'common+common', q: two(rankIn(0, 60), rankIn(0, 60)) });
  for (let i = 0; i < per; i++) {
    if (i % 2 === 0 && withOrders.length) out.push({ cls: 'rare+common', q: `commande ${pick(withOrders).order}` });
    else {
      const s = pick(seed.samples);
      const rare = Math.max(...s.ranks);
      out.push({ cls: 'rare+common', q: two(rare > 3000 ? rare : rankIn(5000, 60000), rankIn(0, 60)) });
    }
  }
  for (let i = 0; i < per; i++) {
    if (i % 2 === 0) {
      const s = pick(seed.samples);
      const sorted = [...new Set(s.ranks)].sort((a, b) => b - a);
      out.push({ cls: 'rare+rare', q: two(sorted[0] ?? rankIn(3000, 60000), sorted[1] ?? rankIn(3000, 60000)) });
    } else out.push({ cls: 'rare+rare', q: two(rankIn(3000, 60000), rankIn(3000, 60000)) });
  }
  for (let i = 0; i < n - 3 * per; i++) out.push({ cls: 'mid+mid', q: two(rankIn(200, 3000), rankIn(200, 3000)) });
  for (let i = 0; i < 50; i++) out.push({ cls: 'one customer (1 word)', q: wordOfRank(ok(rankIn(0, 300))), opts: { customerId: pick(seed.customerIds.slice(0, 2000)) } });
  return out;
}

export async function benchSearch(opts: { messages: number; customers: number; queries: number; explain: boolean; freshDb: () => Promise<{ url: string; drop(): Promise<void> }> }) {
  await initSodium();
  const fresh = await opts.freshDb();
  const database = await openDatabase({ databaseUrl: fresh.url, dataDir: '', poolSize: 4 });
  const pg = postgres(fresh.url, { max: 6, onnotice: () => {} });
  try {
    await runMigrations(database);
    const key = new Uint8Array(randomBytes(32));
    const ring = createKeyRing([{ version: masterKeyVersion(key), key }], { indexRoot: new Uint8Array(randomBytes(32)) });
    ringForExplain = ring;
    console.log(`seeding ${opts.messages} messages across ${opts.customers} customers on PostgreSQL…`);
    const seed = await seedArchive(pg, ring, { messages: opts.messages, customers: opts.customers, outboundShare: 0.4, phoneNumberIds: ['106540352242922', '1122334455667'] }, (l) => console.log(l));
    const [sizes] = await pg`select pg_size_pretty(pg_total_relation_size('message_tokens') + pg_total_relation_size('outbox_tokens')) as postings,
      pg_size_pretty(pg_total_relation_size('messages') + pg_total_relation_size('outbox')) as rows`;
    console.log(`seeded: ${seed.inbound} customer messages + ${seed.outbound} agent replies, ${seed.postings} postings; load ${seed.loadSeconds.toFixed(1)} s, keys and indexes ${seed.indexSeconds.toFixed(1)} s, vacuum analyze and checkpoint ${seed.analyzeSeconds.toFixed(1)} s; on disk: postings ${sizes!.postings}, rows ${sizes!.rows}`);

    const indexing = await measureIndexing(database.db, pg, ring, 1000);
    console.log(`indexing on the webhook path: ${indexing.statementUs} µs per message for the postings statement (inside the transaction, p50; p95 ${indexing.statementP95Us} µs), of which ${indexing.cpuUs} µs tokenizing and hashing`);
    const { config } = await loadConfig({ MATTERMOST_URL: 'https://chat.example.com', MATTERMOST_TOKEN: 't', MATTERMOST_TEAM: 'support', WHATSAPP_PHONE_NUMBER_ID: '106540352242922' });
    const deps = { db: database.db, ring, keys: new CustomerKeyStore(ring), config: config!, logger: pino({ level: 'silent' }) };
    const queries = buildQueries(seed, opts.queries);
    // The durable audit append every search ends with (one commit, so one WAL flush): the floor.
    const audit: number[] = [];
    for (let i = 0; i < 50; i++) { const t = performance.now(); await appendAudit(deps.db, ring, { actor: 'bench', action: 'search', details: { probe: i } }); audit.push(performance.now() - t); }
    console.log(`audit append alone (one durable commit): p50 ${percentile(audit, 50).toFixed(1)} ms, p95 ${percentile(audit, 95).toFixed(1)} ms`);
    for (const q of queries.slice(0, 20)) await searchMessages(deps, q.q, { actor: 'bench', ...q.opts }); // warm-up, not counted
    const times = new Map<string, number[]>();
    const found = new Map<string, number[]>();
    for (const q of queries) {
      const t = performance.now();
      const r = await searchMessages(deps, q.q, { actor: 'bench', limit: 20, ...q.opts });
      const ms = performance.now() - t;
      (times.get(q.cls) ?? times.set(q.cls, []).get(q.cls)!).push(ms);
      (found.get(q.cls) ?? found.set(q.cls, []).get(q.cls)!).push(r.length);
    }
    if (opts.explain) await explainSamples(database.db, queries);
    const row = (name: string, v: number[], res: number[]) => `${name.padEnd(24)} ${String(v.length).padStart(4)} ${percentile(v, 50).toFixed(1).padStart(7)} ${percentile(v, 95).toFixed(1).padStart(7)} ${percentile(v, 99).toFixed(1).padStart(7)} ${(res.reduce((a, b) => a + b, 0) / res.length).toFixed(1).padStart(8)}`;
    console.log(`${'class'.padEnd(24)} ${'n'.padStart(4)} ${'p50 ms'.padStart(7)} ${'p95 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'results'.padStart(8)}`);
    const twoWord: number[] = [];
    const classes: Record<string, { n: number; p50Ms: number; p95Ms: number; p99Ms: number }> = {};
    for (const [cls, v] of times) {
      console.log(row(cls, v, found.get(cls)!));
      classes[cls] = { n: v.length, p50Ms: round(percentile(v, 50)), p95Ms: round(percentile(v, 95)), p99Ms: round(percentile(v, 99)) };
      if (cls.includes('+')) twoWord.push(...v);
    }
    console.log(row('all two-word', twoWord, [0]));
    console.log(JSON.stringify({
      bench: 'search', messages: seed.inbound + seed.outbound, customers: seed.customers, postings: seed.postings, tokenBits: TOKEN_HASH_BITS,
      queries: twoWord.length, p50Ms: round(percentile(twoWord, 50)), p95Ms: round(percentile(twoWord, 95)), p99Ms: round(percentile(twoWord, 99)),
      classes, seedSeconds: round(seed.loadSeconds + seed.indexSeconds + seed.analyzeSeconds), indexingUsPerMessage: indexing.statementUs, auditAppendP50Ms: round(percentile(audit, 50)), auditAppendP95Ms: round(percentile(audit, 95)),
    }));
  } finally {
    await pg.end({ timeout: 5 });
    await database.close();
    await fresh.drop();
  }
}

const round = (x: number) => Math.round(x * 10) / 10;

/**
 * What indexing adds to storing one message: its postings statement, timed inside the
 * transaction (the commit is shared with the message insert), for `n` stored messages whose
 * postings are removed first; and the tokenizing + hashing alone.
 */
async function measureIndexing(db: Db, pg: postgres.Sql, ring: KeyRing, n: number) {
  const rand = prng(99);
  const rows = await pg<{ id: string }[]>`select id from messages order by received_at desc limit ${n}`;
  await pg`delete from message_tokens where message_id = any(${rows.map((r) => r.id)}::uuid[])`;
  const texts = rows.map((_, i) => generateMessage(i, n, rand).text);
  const stmt: number[] = [];
  for (const [i, r] of rows.entries()) {
    await db.transaction(async (tx) => {
      const t = performance.now();
      await indexInboundMessages(tx, ring, [{ messageId: r.id, content: { kind: 'text', text: texts[i]! } }]);
      stmt.push(performance.now() - t);
    });
  }
  const t = performance.now();
  for (const text of texts) hashTokens(ring, tokenize(text));
  const cpuUs = Math.round(((performance.now() - t) / texts.length) * 1000);
  return { statementUs: Math.round(percentile(stmt, 50) * 1000), statementP95Us: Math.round(percentile(stmt, 95) * 1000), cpuUs };
}

/** EXPLAIN ANALYZE of the first page's driver walk, one query per class (for tuning; `--explain`). */
async function explainSamples(db: Db, queries: Query[]) {
  const seen = new Set<string>();
  for (const q of queries) {
    if (seen.has(q.cls)) continue;
    seen.add(q.cls);
    const parsed = parseQuery(q.q);
    const tokens = parsed.mode === 'words' ? hashTokens(ringForExplain!, parsed.tokens) : [];
    const scope = q.opts?.customerId ? { customerIds: [q.opts.customerId] } : {};
    for (const src of SOURCES) {
      const plan = await planSource(db, src, tokens, scope);
      if (!plan) { console.log(`-- ${q.cls} / ${src.rows}: a token has no posting`); continue; }
      const r = await db.execute(sql`explain (analyze, buffers, costs off) ${candidatePageSql(src, plan, scope, null, 25)}`);
      const lines = (Array.isArray(r) ? r : (r as { rows: unknown[] }).rows) as Record<string, string>[];
      console.log(`-- ${q.cls} / ${src.rows} (driver ${plan.driver === 'rows' ? 'customer rows' : 'token'}, ${plan.probes.length} probes)\n${lines.map((l) => Object.values(l)[0]).join('\n')}`);
    }
  }
}
let ringForExplain: KeyRing | undefined;
