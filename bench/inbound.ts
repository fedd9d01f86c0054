import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startMattermostFake } from '../test/fakes/mattermost/index.js';
import { RELAIS_NODE_OPTIONS, buildRelais, startChild } from './child.js';
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

/** Settings of one Relais process under test; `workers: false` makes it a webhook-only replica. */
function relaisEnv(mmUrl: string, botToken: string, dir: string, port: number, pgUrl: string | undefined, masterKey: string, workers: boolean): Record<string, string> {
  return {
    RELAIS_MASTER_KEY: masterKey, RELAIS_DATA_DIR: dir, PORT: String(port), HOST: '127.0.0.1',
    WHATSAPP_APP_SECRET: SECRET, WHATSAPP_VERIFY_TOKEN: 'v', WHATSAPP_ACCESS_TOKEN: 't', WHATSAPP_PHONE_NUMBER_ID: PHONE_ID,
    MATTERMOST_URL: mmUrl, MATTERMOST_TOKEN: botToken, MATTERMOST_TEAM: 'support', LOG_LEVEL: 'error', RELAY_CONCURRENCY: '16',
    ...(workers ? {} : { RELAIS_WORKERS: 'false' }),
    ...(RELAIS_NODE_OPTIONS ? { NODE_OPTIONS: RELAIS_NODE_OPTIONS } : {}),
    ...(pgUrl ? { DATABASE_URL: pgUrl } : {}),
  };
}

/**
 * Relais as it runs in production, each replica in its own process, with the Mattermost fake and
 * the load generator here. `split`: one webhook-only replica (RELAIS_WORKERS=false) takes every
 * webhook and one worker replica relays to Mattermost (PostgreSQL only); else one process does both.
 */
async function bridge(pgUrl: string | undefined, seconds: number, rate: number, split: boolean, steadyRate = 100) {
  const mm = await startMattermostFake({ specDir: null });
  // When each post was created, by this process's clock (the fake's create_at runs ahead of the
  // wall clock when it creates more than one post per millisecond: it keeps them strictly ordered).
  const relayed = new Map<string, { at: number; n: number }>();
  mm.onBroadcast((b) => {
    if (b.event !== 'posted' || typeof b.data.post !== 'string') return;
    const post = JSON.parse(b.data.post) as { id: string; message: string; props?: Record<string, unknown> };
    if (post.props?.relais_id) relayed.set(post.id, { at: Date.now(), n: Number(/numéro (\d+)/.exec(post.message)?.[1]) });
  });
  mm.addTeam('support');
  const bot = mm.addUser({ username: 'relais', isBot: true });
  mm.addToTeam('support', 'relais', { admin: true });
  const dir = await mkdtemp(path.join(tmpdir(), 'relais-bench-'));
  const masterKey = randomBytes(32).toString('base64');
  const port = await freePort();
  const relais = await startChild(buildRelais(), ['serve'], relaisEnv(mm.url, bot.token, dir, port, pgUrl, masterKey, !split), port);
  const url = `${relais.url}/webhooks/whatsapp`;
  const sentAt = new Map<number, number>();
  const stamp = (i: number) => { sentAt.set(i, Date.now()); return webhookBody(i); };
  const cpu0 = relais.cpuMs();
  const sustained = await drive({ url, seconds, concurrency: 32, body: stamp });
  // CPU of the process that answered the webhooks, per accepted webhook, during the closed loop.
  const ackCpuMs = (relais.cpuMs() - cpu0) / Math.max(1, sustained.ok);
  const burstStart = 10_000_000;
  const offered = await drive({ url, seconds, rate, body: (i) => stamp(i + burstStart) });
  // Split: the worker replica starts now, as if it ran on other nodes during the two phases above
  // (on this machine it would take the cores the webhook replica is being measured on).
  let worker: Awaited<ReturnType<typeof startChild>> | undefined;
  if (split) {
    const workerPort = await freePort();
    worker = await startChild(buildRelais(), ['serve'], relaisEnv(mm.url, bot.token, dir, workerPort, pgUrl, masterKey, true), workerPort);
  }
  const processes = [relais, ...(worker ? [worker] : [])];
  const cpuAll = () => processes.reduce((a, p) => a + p.cpuMs(), 0);
  const workerCpu0 = worker?.cpuMs() ?? 0;
  /** Waits (bounded to 5 min) until `expected` posts exist; returns the relay rate seen meanwhile. */
  const drain = async (expected: number) => {
    const t0 = performance.now();
    const n0 = relayed.size;
    for (let i = 0; i < 600 && relayed.size < expected; i++) await new Promise((r) => setTimeout(r, 500));
    return (relayed.size - n0) / Math.max(0.5, (performance.now() - t0) / 1000);
  };
  const latencies = (from: number, to: number) => [...relayed.values()].flatMap(({ at, n }) => (n >= from && n < to && sentAt.has(n) ? [at - sentAt.get(n)!] : []));
  // Webhook sent → bot post created in Mattermost: for the burst (a backlog forms at 1,000/s), then
  // in steady state at `steadyRate`/s once the backlog is gone.
  const relayedPerSec = await drain(sustained.ok + offered.ok);
  const burstLat = latencies(burstStart, burstStart + offered.sent);
  const steadyStart = 20_000_000;
  const steady = await drive({ url, seconds, rate: steadyRate, body: (i) => stamp(i + steadyStart) });
  await drain(sustained.ok + offered.ok + steady.ok);
  const steadyLat = latencies(steadyStart, steadyStart + steady.sent);
  const expected = sustained.ok + offered.ok + steady.ok;
  const rssMb = Math.max(...processes.map((p) => p.peakRssMb()));
  // Everything Relais did for these messages: acknowledging, storing, relaying to Mattermost.
  const cpuMsPerMessage = (cpuAll() - cpu0 - workerCpu0) / Math.max(1, relayed.size);
  for (const p of processes) await p.stop();
  await mm.close();
  await rm(dir, { recursive: true, force: true });
  return {
    msgsPerSec: sustained.perSec, sustainedFailed: sustained.failed,
    offeredOk: offered.ok, offeredFailed: offered.failed,
    ackP50Ms: percentile(offered.latencies, 50), ackP99Ms: percentile(offered.latencies, 99),
    e2eP50Ms: percentile(burstLat, 50), e2eP99Ms: percentile(burstLat, 99), steadyP50Ms: percentile(steadyLat, 50), steadyP99Ms: percentile(steadyLat, 99),
    unposted: expected - relayed.size, rssMb, cpuMsPerMessage, ackCpuMs, relayedPerSec,
  };
}

/**
 * `npm run bench -- inbound`: PGlite and PostgreSQL (`--db` picks one). On PostgreSQL, Relais runs
 * twice: as one process, then split into a webhook-only replica and a worker replica. Last line:
 * JSON for PostgreSQL, split run (one-process figures under "oneProcess").
 */
export async function benchInbound(opts: { seconds: number; rate: number; pgBase?: string; db?: 'pglite' | 'postgres' }) {
  type Run = Awaited<ReturnType<typeof bridge>> & { baselinePerSec: number; ratio: number };
  const results: Record<string, Run> = {};
  const runs = [
    { name: 'pglite', db: 'pglite', split: false },
    { name: 'postgres · one process', db: 'postgres', split: false },
    { name: 'postgres · webhook replica + worker replica', db: 'postgres', split: true },
  ] as const;
  let pgBaseline: number | undefined;
  for (const run of runs) {
    if (opts.db && opts.db !== run.db) continue;
    if (run.db === 'postgres' && !opts.pgBase) { console.log('postgres: skipped (set BENCH_DATABASE_URL or start PostgreSQL on 127.0.0.1:5432)'); continue; }
    let pg = run.db === 'postgres' ? await freshBenchDatabase('inbound', opts.pgBase!) : undefined;
    let base = run.db === 'postgres' ? pgBaseline : undefined;
    if (base === undefined) {
      base = await baseline(pg?.url, opts.seconds);
      if (run.db === 'postgres') pgBaseline = base;
      if (pg) { await pg.drop(); pg = await freshBenchDatabase('inbound', opts.pgBase!); }
    }
    const b = await bridge(pg?.url, opts.seconds, opts.rate, run.split);
    if (pg) await pg.drop();
    const ratio = b.msgsPerSec / base;
    results[run.name] = { ...b, baselinePerSec: base, ratio };
    console.log(`\n[inbound · ${run.name}]`);
    console.log(`  baseline (Hono + HMAC + 1 INSERT): ${base.toFixed(0)} req/s`);
    console.log(`  bridge sustained accepted:         ${b.msgsPerSec.toFixed(0)} msgs/s  (ratio ${ratio.toFixed(2)}; ${b.sustainedFailed} non-200)`);
    console.log(`  ack at ${opts.rate}/s offered:           p50 ${b.ackP50Ms.toFixed(1)} ms · p99 ${b.ackP99Ms.toFixed(1)} ms (${b.offeredOk} ok, ${b.offeredFailed} non-200)`);
    console.log(`  webhook → Mattermost post, burst:  p50 ${b.e2eP50Ms.toFixed(0)} ms · p99 ${b.e2eP99Ms.toFixed(0)} ms (backlog of the ${opts.rate}/s phase; ${b.unposted} not posted within the 5-min drains)`);
    console.log(`  webhook → Mattermost post, steady: p50 ${b.steadyP50Ms.toFixed(0)} ms · p99 ${b.steadyP99Ms.toFixed(0)} ms (100/s, no backlog)`);
    console.log(`  relayed while draining:            ${b.relayedPerSec.toFixed(0)} msgs/s`);
    console.log(`  peak RSS (largest Relais process): ${b.rssMb.toFixed(0)} MB`);
    console.log(`  Relais CPU per message: ${b.ackCpuMs.toFixed(3)} ms to acknowledge, ${b.cpuMsPerMessage.toFixed(2)} ms end to end`);
  }
  const json = (r: Run) => ({ msgsPerSec: Math.round(r.msgsPerSec), baselinePerSec: Math.round(r.baselinePerSec), ratio: Number(r.ratio.toFixed(2)), ackP99Ms: Number(r.ackP99Ms.toFixed(1)), e2eP99Ms: Math.round(r.e2eP99Ms), rssMb: Math.round(r.rssMb), cpuMsPerMessage: Number(r.cpuMsPerMessage.toFixed(2)), ackCpuMs: Number(r.ackCpuMs.toFixed(3)), relayedPerSec: Math.round(r.relayedPerSec), steadyE2eP99Ms: Math.round(r.steadyP99Ms) });
  const split = results['postgres · webhook replica + worker replica'];
  const one = results['postgres · one process'];
  const main = split ?? one ?? results.pglite;
  if (!main) return;
  console.log(JSON.stringify({
    bench: 'inbound', db: split || one ? 'postgres' : 'pglite', topology: split ? 'webhook+worker replicas' : 'one process',
    ...json(main), ...(split && one ? { oneProcess: json(one) } : {}),
  }));
}
