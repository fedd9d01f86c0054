import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startGraphFake } from '../test/fakes/graph-api.js';
import { startMattermostFake } from '../test/fakes/mattermost/index.js';
import { RELAIS_NODE_OPTIONS, buildRelais, startChild } from './child.js';
import { drive, freePort, percentile } from './load.js';
import { webhookBody } from './inbound.js';

/**
 * One run: `customers` customers write once (opening their window and channel), then agents post
 * `postsPerCustomer` replies in every channel as fast as the Mattermost fake takes them. Measures
 * sends/s at the Graph fake and post → Graph latency, with the per-number limiter at `rate`.
 */
async function run(opts: { rate: number; customers: number; postsPerCustomer: number; pgUrl?: string }) {
  // Each run gets its own database: a new master key cannot read another run's archive.
  const mm = await startMattermostFake({ specDir: null });
  mm.addTeam('support');
  const bot = mm.addUser({ username: 'relais', isBot: true });
  mm.addToTeam('support', 'relais', { admin: true });
  mm.addUser({ username: 'alice' });
  mm.addToTeam('support', 'alice');
  const graph = await startGraphFake();
  const dir = await mkdtemp(path.join(tmpdir(), 'relais-bench-'));
  const port = await freePort();
  // Relais in its own process (as in production: its own event loop), the fakes and the
  // simulated agents here.
  const relais = await startChild(buildRelais(), ['serve'], {
    RELAIS_MASTER_KEY: randomBytes(32).toString('base64'), RELAIS_DATA_DIR: dir, PORT: String(port), HOST: '127.0.0.1',
    WHATSAPP_APP_SECRET: 'bench-app-secret', WHATSAPP_VERIFY_TOKEN: 'v', WHATSAPP_ACCESS_TOKEN: graph.accessToken, WHATSAPP_PHONE_NUMBER_ID: '106540352242922',
    WHATSAPP_API_URL: graph.baseUrl, MATTERMOST_URL: mm.url, MATTERMOST_TOKEN: bot.token, MATTERMOST_TEAM: 'support', MATTERMOST_AGENTS: 'alice',
    LOG_LEVEL: 'error', RELAY_CONCURRENCY: '16', SEND_CONCURRENCY: '32', RELAIS_MARK_READ: 'false',
    WHATSAPP_RATE_PER_SECOND: String(opts.rate), WHATSAPP_PAIR_BURST: String(Math.max(20, opts.postsPerCustomer)),
    ...(opts.pgUrl ? { DATABASE_URL: opts.pgUrl } : {}),
    ...(RELAIS_NODE_OPTIONS ? { NODE_OPTIONS: RELAIS_NODE_OPTIONS } : {}),
  }, port);
  // Customers write first: their channels open and their service windows with them.
  await drive({ url: `${relais.url}/webhooks/whatsapp`, seconds: 60, concurrency: 16, body: (i) => webhookBody(i, opts.customers), stopAfter: opts.customers });
  const customerChannels = () => mm.channels().filter((c) => c.name.startsWith('wa-'));
  for (let i = 0; i < 600 && customerChannels().length < opts.customers; i++) await new Promise((r) => setTimeout(r, 200));
  // The listener (leader lease, then WebSocket) is up once its first catch-up ran; give it a moment.
  await new Promise((r) => setTimeout(r, 3000));
  const channels = mm.channels().filter((c) => c.name.startsWith('wa-')).map((c) => c.id);
  const postedAt = new Map<string, number>();
  const latencies: number[] = [];
  const arrivals: number[] = [];
  graph.fake.onMessage((m) => {
    const body = (m.body.text as { body?: string } | undefined)?.body ?? '';
    const t0 = postedAt.get(body);
    const now = performance.now();
    arrivals.push(now);
    if (t0 !== undefined) latencies.push(now - t0);
  });
  const total = channels.length * opts.postsPerCustomer;
  const cpu0 = relais.cpuMs();
  for (let k = 0; k < opts.postsPerCustomer; k++) {
    for (const ch of channels) {
      const text = `reply ${k} in ${ch}`;
      postedAt.set(text, performance.now());
      mm.agentPost('alice', ch, text);
    }
    await new Promise((r) => setImmediate(r));
  }
  for (let i = 0; i < 1200 && arrivals.length < total; i++) await new Promise((r) => setTimeout(r, 100));
  // Steady-state rate: the middle 80 % of arrivals (start-up and tail excluded).
  const sorted = [...arrivals].sort((a, b) => a - b);
  const lo = sorted[Math.floor(sorted.length * 0.1)]!;
  const hi = sorted[Math.floor(sorted.length * 0.9) - 1]!;
  const sendsPerSec = (Math.floor(sorted.length * 0.9) - Math.floor(sorted.length * 0.1) - 1) / ((hi - lo) / 1000);
  const rssMb = relais.peakRssMb();
  const cpuMsPerSend = (relais.cpuMs() - cpu0) / Math.max(1, arrivals.length);
  await relais.stop();
  await graph.close();
  await mm.close();
  await rm(dir, { recursive: true, force: true });
  return { sent: arrivals.length, expected: total, sendsPerSec, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), rssMb, cpuMsPerSend };
}

/** `npm run bench -- outbound`: limiter at 1,000 msg/s (throughput) and at 80 msg/s (must hold 80 ± 5 %). */
export async function benchOutbound(opts: { customers: number; postsPerCustomer: number; freshDb?: () => Promise<{ url: string; drop(): Promise<void> }> }) {
  const withDb = async (rate: number) => {
    const db = await opts.freshDb?.();
    try { return await run({ rate, customers: opts.customers, postsPerCustomer: opts.postsPerCustomer, pgUrl: db?.url }); } finally { await db?.drop(); }
  };
  const pgUrl = opts.freshDb ? 'postgres' : undefined;
  const fast = await withDb(1000);
  console.log(`\n[outbound · limiter 1000/s · ${pgUrl ? 'postgres' : 'pglite'}] ${fast.sent}/${fast.expected} sent · ${fast.sendsPerSec.toFixed(0)} sends/s · post→Graph p50 ${fast.p50Ms.toFixed(0)} ms p99 ${fast.p99Ms.toFixed(0)} ms · Relais peak RSS ${fast.rssMb.toFixed(0)} MB · Relais CPU ${fast.cpuMsPerSend.toFixed(2)} ms per send`);
  const slow = await withDb(80);
  console.log(`[outbound · limiter 80/s] ${slow.sent}/${slow.expected} sent · observed ${slow.sendsPerSec.toFixed(1)} sends/s (target 80 ± 4) · p50 ${slow.p50Ms.toFixed(0)} ms p99 ${slow.p99Ms.toFixed(0)} ms`);
  console.log(JSON.stringify({ bench: 'outbound', db: pgUrl ? 'postgres' : 'pglite', sendsPerSec: Math.round(fast.sendsPerSec), p50Ms: Math.round(fast.p50Ms), p99Ms: Math.round(fast.p99Ms), limiter80Observed: Number(slow.sendsPerSec.toFixed(1)), cpuMsPerSend: Number(fast.cpuMsPerSend.toFixed(2)), rssMb: Math.round(fast.rssMb) }));
}
