import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startMattermostFake } from '../test/fakes/mattermost/index.js';
import { buildRelais, startChild } from './child.js';
import { drive, freePort, percentile } from './load.js';
import { freshBenchDatabase } from './fresh-db.js';

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


/** The bare baseline in its own process: Hono + HMAC check + one INSERT per request. */
async function baseline(pgUrl: string | undefined, seconds: number) {
  const port = await freePort();
  const srv = await startChild('bench/baseline-server.ts', pgUrl ? [String(port), pgUrl] : [String(port)], {}, port);
  const r = await drive({ url: `${srv.url}/webhooks/whatsapp`, seconds, concurrency: 32, body: (i) => webhookBody(i) });
  await srv.stop();
  return r.perSec;
}

/** Relais in its own process (`relais serve`), the Mattermost fake and the load generator here. */
async function bridge(pgUrl: string | undefined, seconds: number, rate: number) {
  const mm = await startMattermostFake({ specDir: null });
  mm.addTeam('support');
  const bot = mm.addUser({ username: 'relais', isBot: true });
  mm.addToTeam('support', 'relais', { admin: true });
  const dir = await mkdtemp(path.join(tmpdir(), 'relais-bench-'));
  const port = await freePort();
  const relais = await startChild(buildRelais(), ['serve'], {
    RELAIS_MASTER_KEY: randomBytes(32).toString('base64'), RELAIS_DATA_DIR: dir, PORT: String(port), HOST: '127.0.0.1',
    WHATSAPP_APP_SECRET: SECRET, WHATSAPP_VERIFY_TOKEN: 'v', WHATSAPP_ACCESS_TOKEN: 't', WHATSAPP_PHONE_NUMBER_ID: PHONE_ID,
    MATTERMOST_URL: mm.url, MATTERMOST_TOKEN: bot.token, MATTERMOST_TEAM: 'support', LOG_LEVEL: 'error', RELAY_CONCURRENCY: '16',
    ...(pgUrl ? { DATABASE_URL: pgUrl } : {}),
  }, port);
  const url = `${relais.url}/webhooks/whatsapp`;
  const sentAt = new Map<number, number>();
  const stamp = (i: number) => { sentAt.set(i, Date.now()); return webhookBody(i); };
  const cpu0 = relais.cpuMs();
  const sustained = await drive({ url, seconds, concurrency: 32, body: stamp });
  const firstOffered = 10_000_000;
  const offered = await drive({ url, seconds, rate, body: (i) => stamp(i + firstOffered) });
  // Webhook sent → bot post created in Mattermost, for the open-loop phase (drain bounded to 5 min).
  const posted = () => mm.channels().flatMap((c) => mm.posts(c.id)).filter((p) => p.props?.relais_id);
  const expected = sustained.ok + offered.ok;
  for (let i = 0; i < 600 && posted().length < expected; i++) await new Promise((r) => setTimeout(r, 500));
  const lat: number[] = [];
  for (const p of posted()) {
    const n = Number(/numéro (\d+)/.exec(p.message)?.[1]);
    if (n >= firstOffered && sentAt.has(n)) lat.push(p.create_at - sentAt.get(n)!);
  }
  const rssMb = relais.peakRssMb();
  // Everything Relais did for these messages: acknowledging, storing, relaying to Mattermost.
  const cpuMsPerMessage = (relais.cpuMs() - cpu0) / Math.max(1, posted().length);
  await relais.stop();
  await mm.close();
  await rm(dir, { recursive: true, force: true });
  return {
    msgsPerSec: sustained.perSec, sustainedFailed: sustained.failed,
    offeredOk: offered.ok, offeredFailed: offered.failed,
    ackP50Ms: percentile(offered.latencies, 50), ackP99Ms: percentile(offered.latencies, 99),
    e2eP50Ms: percentile(lat, 50), e2eP99Ms: percentile(lat, 99), unposted: expected - posted().length, rssMb, cpuMsPerMessage,
  };
}

/** `npm run bench -- inbound`: PGlite and PostgreSQL; last line = JSON for PostgreSQL. */
export async function benchInbound(opts: { seconds: number; rate: number; pgBase?: string }) {
  const results: Record<string, Record<string, number>> = {};
  for (const kind of ['pglite', 'postgres'] as const) {
    if (kind === 'postgres' && !opts.pgBase) { console.log('postgres: skipped (set BENCH_DATABASE_URL or start PostgreSQL on 127.0.0.1:5432)'); continue; }
    let pg = kind === 'postgres' ? await freshBenchDatabase('inbound', opts.pgBase!) : undefined;
    const base = await baseline(pg?.url, opts.seconds);
    if (pg) { await pg.drop(); pg = await freshBenchDatabase('inbound', opts.pgBase!); }
    const b = await bridge(pg?.url, opts.seconds, opts.rate);
    if (pg) await pg.drop();
    const ratio = b.msgsPerSec / base;
    results[kind] = { ...b, baselinePerSec: base, ratio };
    console.log(`\n[inbound · ${kind}]`);
    console.log(`  baseline (Hono + HMAC + 1 INSERT): ${base.toFixed(0)} req/s`);
    console.log(`  bridge sustained accepted:         ${b.msgsPerSec.toFixed(0)} msgs/s  (ratio ${ratio.toFixed(2)}; ${b.sustainedFailed} non-200)`);
    console.log(`  ack at ${opts.rate}/s offered:           p50 ${b.ackP50Ms.toFixed(1)} ms · p99 ${b.ackP99Ms.toFixed(1)} ms (${b.offeredOk} ok, ${b.offeredFailed} non-200)`);
    console.log(`  webhook → Mattermost post:         p50 ${b.e2eP50Ms.toFixed(0)} ms · p99 ${b.e2eP99Ms.toFixed(0)} ms (${b.unposted} not posted within the 5-min drain)`);
    console.log(`  peak RSS of the Relais process:    ${b.rssMb.toFixed(0)} MB`);
    console.log(`  Relais CPU per message (end to end): ${b.cpuMsPerMessage.toFixed(2)} ms`);
  }
  const kind = results.postgres ? 'postgres' : 'pglite';
  const r = results[kind]!;
  console.log(JSON.stringify({ bench: 'inbound', db: kind, msgsPerSec: Math.round(r.msgsPerSec!), baselinePerSec: Math.round(r.baselinePerSec!), ratio: Number(r.ratio!.toFixed(2)), ackP99Ms: Number(r.ackP99Ms!.toFixed(1)), e2eP99Ms: Math.round(r.e2eP99Ms!), rssMb: Math.round(r.rssMb!), cpuMsPerMessage: Number(r.cpuMsPerMessage!.toFixed(2)) }));
}
