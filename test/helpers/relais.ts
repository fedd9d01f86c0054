import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { loadConfig } from '../../src/config/load.js';
import type { ChatPlatform } from '../../src/chat/platform.js';
import type { MediaSource } from '../../src/core/relay-worker.js';
import { startRuntime, type Runtime, type RuntimeOptions } from '../../src/runtime.js';
import { signBody } from '../../src/whatsapp/signature.js';
import { captureLogger } from './logger.js';
import { freshDatabase } from './database.js';

export const APP_SECRET = 'test-app-secret';
export const VERIFY_TOKEN = 'verify-me-please';
export const GRAPH_TOKEN = 'graph-test-token';
/** The two business numbers used by Meta's and pywa's sample payloads. */
export const FIXTURE_NUMBERS = ['106540352242922', '1122334455667'];

export interface TestRelaisOptions {
  env?: Record<string, string>;
  /** The chat platform, or a factory called at every (re)start like a new process would. */
  platform?: ChatPlatform | null | (() => ChatPlatform);
  mediaSource?: MediaSource;
  workers?: boolean;
  afterPostBeforeCommit?: (messageId: string) => Promise<void>;
  /** Compete for the chat listener (default true with workers). */
  listener?: boolean;
  whatsapp?: RuntimeOptions['whatsapp'];
  sleep?: (ms: number) => Promise<void>;
  team?: string;
  agents?: string[];
  /** Keep the embedded database on disk so `restart()` finds the same data (PGlite only). */
  persistent?: boolean;
  /** Another replica of this deployment: same database, master key and config (PostgreSQL only). */
  replicaOf?: TestRelais;
}

export interface TestRelais {
  runtime: Runtime;
  logs: ReturnType<typeof captureLogger>;
  /** POSTs raw bytes to the webhook, signed with the test app secret unless `signature` is given. */
  postWebhook(body: string | Uint8Array, opts?: { signature?: string | null }): Promise<Response>;
  /** Every row of every table (public and the job queue's schema) as text, for leak checks. */
  dumpAll(): Promise<string>;
  count(table: string, where?: string): Promise<number>;
  /** Runs SQL and returns the rows (tests only). */
  query(q: string): Promise<Record<string, unknown>[]>;
  /** Stops the runtime (the database survives) and starts a new one on the same data. */
  restart(): Promise<void>;
  /** Stops the runtime only; `start()` brings a new one up on the same data. */
  stopRuntime(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The environment this runtime was configured from (a replica reuses it). */
  env: Record<string, string>;
}

/** Starts a real Relais runtime on a fresh database (PGlite, or PostgreSQL when DATABASE_URL is set). */
export async function startTestRelais(opts: TestRelaisOptions = {}): Promise<TestRelais> {
  const db = opts.replicaOf ? { kind: 'postgres' as const, databaseUrl: opts.replicaOf.env.DATABASE_URL, drop: async () => {} } : await freshDatabase();
  const dir = await mkdtemp(path.join(tmpdir(), 'relais-test-'));
  const configPath = path.join(dir, 'relais.config.yaml');
  const team = opts.team ?? 'support';
  await writeFile(configPath, `whatsapp:\n  numbers:\n${FIXTURE_NUMBERS.map((n) => `    - phoneNumberId: "${n}"\n      team: ${team}\n      agents: ${JSON.stringify(opts.agents ?? [])}\n`).join('')}`);
  const env: Record<string, string> = {
    RELAIS_MASTER_KEY: randomBytes(32).toString('base64'),
    RELAIS_DATA_DIR: dir,
    RELAIS_CONFIG: configPath,
    WHATSAPP_APP_SECRET: APP_SECRET,
    WHATSAPP_VERIFY_TOKEN: VERIFY_TOKEN,
    WHATSAPP_ACCESS_TOKEN: GRAPH_TOKEN,
    RELAIS_PUBLIC_URL: 'https://relais.example.test',
    LOG_LEVEL: 'debug',
    ...(db.databaseUrl ? { DATABASE_URL: db.databaseUrl } : {}),
    ...opts.env,
    ...(opts.replicaOf ? { RELAIS_MASTER_KEY: opts.replicaOf.env.RELAIS_MASTER_KEY!, DATABASE_URL: opts.replicaOf.env.DATABASE_URL! } : {}),
  };
  const loaded = await loadConfig(env);
  if (!loaded.config) throw new Error(`test config invalid: ${loaded.problems.join('; ')}`);
  const logs = captureLogger();
  const launch = () => startRuntime(loaded.config!, {
    logger: logs.logger,
    listen: false,
    inMemoryDb: !opts.persistent,
    workers: opts.workers,
    platform: typeof opts.platform === 'function' ? opts.platform() : opts.platform ?? null,
    mediaSource: opts.mediaSource,
    afterPostBeforeCommit: opts.afterPostBeforeCommit,
    listener: opts.listener,
    listenerPollMs: 200,
    whatsapp: opts.whatsapp,
    sleep: opts.sleep,
    missing: loaded.missing,
  });
  let runtime = await launch();
  const exec = async (q: string) => {
    const r = await runtime.database.db.execute(sql.raw(q));
    return (Array.isArray(r) ? r : (r as { rows: unknown[] }).rows) as Record<string, unknown>[];
  };
  const handle: TestRelais = {
    env,
    get runtime() { return runtime; },
    logs,
    postWebhook: async (body, o = {}) => {
      const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      const sig = o.signature === undefined ? signBody(APP_SECRET, bytes) : o.signature;
      if (sig !== null) headers['x-hub-signature-256'] = sig;
      return runtime.app.request('/webhooks/whatsapp', { method: 'POST', body: Buffer.from(bytes), headers });
    },
    dumpAll: async () => {
      const tables = await exec(`select table_schema, table_name from information_schema.tables where table_schema not in ('pg_catalog','information_schema') and table_type = 'BASE TABLE'`);
      const parts: string[] = [];
      for (const t of tables) {
        const rows = await exec(`select x::text as row from "${t.table_schema}"."${t.table_name}" x`);
        for (const r of rows) parts.push(String(r.row));
      }
      return parts.join('\n');
    },
    count: async (table, where) => Number((await exec(`select count(*)::int as n from ${table}${where ? ` where ${where}` : ''}`))[0]!.n),
    query: exec,
    stopRuntime: async () => { await runtime.stop(); },
    start: async () => { runtime = await launch(); },
    restart: async () => { await runtime.stop(); runtime = await launch(); },
    stop: async () => {
      await runtime.stop();
      await db.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return handle;
}

/** Polls `fn` until it returns a truthy value (bounded by count, not by asserting time). */
export async function eventually<T>(fn: () => Promise<T | undefined | null | false>, what: string, attempts = 300, delayMs = 100): Promise<T> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) { last = err; }
    await new Promise((r) => setTimeout(r, delayMs));
  }
  throw new Error(`gave up waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}
