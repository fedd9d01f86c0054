import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { PGlite } from '@electric-sql/pglite';
import { Hono } from 'hono';
import postgres from 'postgres';
import { sql } from 'drizzle-orm';
import { createMattermostPlatform } from '../src/chat/mattermost/index.js';
import { loadConfig } from '../src/config/load.js';
import { createLogger } from '../src/log.js';
import { startRuntime } from '../src/runtime.js';
import { startMattermostFake } from '../test/fakes/mattermost/index.js';
import { drive, freePort, percentile } from './load.js';

const SECRET = 'bench-app-secret';
const PHONE_ID = '106540352242922';
const sign = (b: Buffer) => 'sha256=' + createHmac('sha256', SECRET).update(b).digest('hex');

/** A signed text-message webhook from one of `customers` customers, with a unique wamid. */
export function webhookBody(i: number, customers = 500) {
  const waId = String(33600000000 + (i % customers));
  const payload = {
    object: 'whatsapp_business_account',
    entry: [{ id: '419561257915477', changes: [{ field: 'messages', value: {
      messaging_product: 'whatsapp',
      metadata: { display_phone_number: '15550783881', phone_number_id: PHONE_ID },
      contacts: [{ profile: { name: `Client ${i % customers}` }, wa_id: waId }],
      messages: [{ from: waId, id: `wamid.bench.${randomUUID()}`, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: `Bonjour, message numéro ${i}` } }],
    } }] }],
  };
  const body = Buffer.from(JSON.stringify(payload));
  return { body, headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(body) } };
}

async function listen(app: Hono): Promise<{ url: string; server: ServerType }> {
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => resolve({ url: `http://127.0.0.1:${info.port}`, server }));
  });
}

async function freshPostgres(base: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `relais_bench_${randomBytes(4).toString('hex')}`;
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(base); u.pathname = `/${name}`;
  return { url: u.toString(), drop: async () => { const a = postgres(base, { max: 1, onnotice: () => {} }); await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`); await a.end(); } };
}

/** The bare baseline: Hono + HMAC check + one INSERT per request, on the same database engine. */
async function baseline(kind: 'pglite' | 'postgres', pgUrl: string | undefined, seconds: number) {
  let insert: (id: string, body: Buffer) => Promise<void>;
  let close: () => Promise<void>;
  if (kind === 'pglite') {
    const db = await PGlite.create('memory://');
    await db.exec('create table inbox (id text primary key, body bytea not null, at timestamptz default now())');
    insert = async (id, body) => { await db.query('insert into inbox (id, body) values ($1, $2) on conflict do nothing', [id, body]); };
    close = () => db.close();
  } else {
    const db = postgres(pgUrl!, { max: 10, onnotice: () => {} });
    await db`create table inbox (id text primary key, body bytea not null, at timestamptz default now())`;
    insert = async (id, body) => { await db`insert into inbox (id, body) values (${id}, ${body}) on conflict do nothing`; };
    close = () => db.end();
  }
  const app = new Hono();
  app.post('/webhooks/whatsapp', async (c) => {
    const raw = Buffer.from(await c.req.arrayBuffer());
    const given = Buffer.from(c.req.header('x-hub-signature-256') ?? '');
    const want = Buffer.from(sign(raw));
    if (given.length !== want.length || !timingSafeEqual(given, want)) return c.text('no', 401);
    await insert(randomUUID(), raw);
    return c.json({ ok: true });
  });
  const { url, server } = await listen(app);
  const r = await drive({ url: `${url}/webhooks/whatsapp`, seconds, concurrency: 32, body: (i) => webhookBody(i) });
  server.close();
  await close();
  return r.perSec;
}

async function bridge(kind: 'pglite' | 'postgres', pgUrl: string | undefined, seconds: number, rate: number) {
  const mm = await startMattermostFake({ specDir: null });
  mm.addTeam('support');
  const bot = mm.addUser({ username: 'relais', isBot: true });
  mm.addToTeam('support', 'relais');
  const dir = await mkdtemp(path.join(tmpdir(), 'relais-bench-'));
  const logger = createLogger({ level: 'error' });
  const env: Record<string, string> = {
    RELAIS_MASTER_KEY: randomBytes(32).toString('base64'), RELAIS_DATA_DIR: dir, PORT: String(await freePort()),
    WHATSAPP_APP_SECRET: SECRET, WHATSAPP_VERIFY_TOKEN: 'v', WHATSAPP_ACCESS_TOKEN: 't', WHATSAPP_PHONE_NUMBER_ID: PHONE_ID,
    MATTERMOST_URL: mm.url, MATTERMOST_TOKEN: bot.token, MATTERMOST_TEAM: 'support', LOG_LEVEL: 'error', RELAY_CONCURRENCY: '16',
    ...(pgUrl ? { DATABASE_URL: pgUrl } : {}),
  };
  const { config } = await loadConfig(env);
  const platform = createMattermostPlatform({ url: mm.url, token: bot.token, logger });
  const rt = await startRuntime({ ...config!, host: '127.0.0.1' }, { logger, listen: true, inMemoryDb: kind === 'pglite', platform, listener: false });
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss); }, 200);
  const url = `${rt.url}/webhooks/whatsapp`;
  const sustained = await drive({ url, seconds, concurrency: 32, body: (i) => webhookBody(i) });
  const markAt = new Date();
  const offered = await drive({ url, seconds, rate, body: (i) => webhookBody(i + 10_000_000) });
  // Let the relay drain (bounded), then read webhook-receipt → chat-post latencies from the archive.
  const exec = async (q: string) => { const r = await rt.database.db.execute(sql.raw(q)); return (Array.isArray(r) ? r : (r as { rows: unknown[] }).rows) as Record<string, unknown>[]; };
  for (let i = 0; i < 600; i++) {
    const [row] = await exec(`select count(*)::int as n from messages where relay_state <> 'posted'`);
    if (Number(row!.n) === 0) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const lat = (await exec(`select extract(epoch from (posted_at - received_at)) * 1000 as ms from messages where posted_at is not null and received_at >= '${markAt.toISOString()}'`)).map((r) => Number(r.ms));
  const [pending] = await exec(`select count(*)::int as n from messages where relay_state <> 'posted'`);
  clearInterval(sampler);
  await rt.stop();
  await mm.close();
  await rm(dir, { recursive: true, force: true });
  return {
    msgsPerSec: sustained.perSec, sustainedFailed: sustained.failed,
    offeredRate: rate, offeredOk: offered.ok, offeredFailed: offered.failed,
    ackP50Ms: percentile(offered.latencies, 50), ackP99Ms: percentile(offered.latencies, 99),
    e2eP50Ms: percentile(lat, 50), e2eP99Ms: percentile(lat, 99), unposted: Number(pending!.n),
    rssMb: peakRss / (1024 * 1024),
  };
}

/** `npm run bench -- inbound`: prints figures for PGlite and PostgreSQL; last line = JSON for PostgreSQL. */
export async function benchInbound(opts: { seconds: number; rate: number; pgBase?: string }) {
  const results: Record<string, unknown> = {};
  for (const kind of ['pglite', 'postgres'] as const) {
    let pg: { url: string; drop(): Promise<void> } | undefined;
    let pgBase: string | undefined;
    if (kind === 'postgres') {
      pgBase = opts.pgBase;
      if (!pgBase) { console.log('postgres: skipped (set BENCH_DATABASE_URL or start PostgreSQL on 127.0.0.1:5432)'); continue; }
    }
    if (pgBase) pg = await freshPostgres(pgBase);
    const base = await baseline(kind, pg?.url, opts.seconds);
    if (pg) { await pg.drop(); pg = await freshPostgres(pgBase!); }
    const b = await bridge(kind, pg?.url, opts.seconds, opts.rate);
    if (pg) await pg.drop();
    const ratio = b.msgsPerSec / base;
    results[kind] = { ...b, baselinePerSec: base, ratio };
    console.log(`\n[inbound · ${kind}]`);
    console.log(`  baseline (Hono + HMAC + 1 INSERT): ${base.toFixed(0)} req/s`);
    console.log(`  bridge sustained accepted:         ${b.msgsPerSec.toFixed(0)} msgs/s  (ratio ${ratio.toFixed(2)}; ${b.sustainedFailed} non-200)`);
    console.log(`  ack at ${opts.rate}/s offered:           p50 ${b.ackP50Ms.toFixed(1)} ms · p99 ${b.ackP99Ms.toFixed(1)} ms (${b.offeredOk} ok, ${b.offeredFailed} non-200)`);
    console.log(`  webhook → Mattermost post:         p50 ${b.e2eP50Ms.toFixed(0)} ms · p99 ${b.e2eP99Ms.toFixed(0)} ms (${b.unposted} not yet posted when measured)`);
    console.log(`  peak RSS (bench process, fakes included): ${b.rssMb.toFixed(0)} MB`);
  }
  const pg = results.postgres as Record<string, number> | undefined;
  if (pg) {
    console.log(JSON.stringify({ bench: 'inbound', db: 'postgres', msgsPerSec: round(pg.msgsPerSec), baselinePerSec: round(pg.baselinePerSec), ratio: round(pg.ratio, 2), ackP99Ms: round(pg.ackP99Ms, 1), e2eP99Ms: round(pg.e2eP99Ms), rssMb: round(pg.rssMb) }));
  } else {
    const p = results.pglite as Record<string, number>;
    console.log(JSON.stringify({ bench: 'inbound', db: 'pglite', msgsPerSec: round(p.msgsPerSec), baselinePerSec: round(p.baselinePerSec), ratio: round(p.ratio, 2), ackP99Ms: round(p.ackP99Ms, 1), e2eP99Ms: round(p.e2eP99Ms), rssMb: round(p.rssMb) }));
  }
}

function round(n: number | undefined, d = 0): number { return Number((n ?? NaN).toFixed(d)); }
