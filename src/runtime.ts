import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';
import { CustomerKeyStore } from './archive/customer-keys.js';
import type { KeyRing } from './archive/keyring.js';
import { loadKeyRing } from './archive/load-key-ring.js';
import { loadMasterKeys } from './archive/master-key.js';
import { initSodium } from './archive/sodium.js';
import type { ChatPlatform } from './chat/platform.js';
import { createChatPlatform } from './chat/factory.js';
import { startKeyringHeartbeat } from './compliance/keyring-heartbeat.js';
import { recordConfigChanges } from './compliance/config-audit.js';
import { routeForNumber, type RelaisConfig } from './config/load.js';
import { errorCode } from './core/errors.js';
import { BoundedMap } from './core/bounded-map.js';
import type { MediaSource } from './core/relay-worker.js';
import { openDatabase, describeDatabase, type Database } from './db/client.js';
import { runMigrations, schemaReady } from './db/migrate.js';
import { createApp } from './http/app.js';
import { chatCommandRoutes } from './http/routes/chat-command.js';
import { adminApiRoutes } from './http/routes/admin-api/index.js';
import { complianceServices } from './http/routes/admin-api/compliance-services.js';
import { dbErrorFields, type Logger } from './log.js';
import { createMetrics, type Metrics } from './metrics.js';
import { QUEUES, startQueue, type Queue } from './queue/boss.js';
import { createSimulator } from './simulator/index.js';
import { createCloudApiClient } from './whatsapp/cloud-api.js';
import { parseWebhook } from './whatsapp/from-whatsapp.js';
import { verifySignature } from './whatsapp/signature.js';
import type { WhatsAppSender } from './core/send-worker.js';
import { startOutbound } from './wiring/outbound.js';
import { createWebhookStore, startRelayWorkers } from './wiring/inbound.js';
import { startRetentionJob } from './wiring/retention.js';
import { startErasureUpkeep } from './wiring/erasure-upkeep.js';

export const VERSION = '0.1.0';
/** phone_number_id the simulator plays when no WhatsApp number is configured. */
export const SIMULATOR_PHONE_NUMBER_ID = '100000000000001';

export interface RuntimeOptions {
  logger: Logger;
  metrics?: Metrics;
  /** Start the HTTP listener (false in tests that call `app.request`). */
  listen?: boolean;
  /** Run the job workers in this process (default: the config's RELAIS_WORKERS). */
  workers?: boolean;
  /** Use this chat platform instead of the configured one (tests). */
  platform?: ChatPlatform | null;
  /** Use this media source instead of the Cloud API client (tests). */
  mediaSource?: MediaSource;
  /** Keep the embedded database in memory (tests). */
  inMemoryDb?: boolean;
  /** Test seam, see RelayDeps.afterPostBeforeCommit. */
  afterPostBeforeCommit?: (messageId: string) => Promise<void>;
  /** Use this WhatsApp sender instead of the Cloud API client (tests). */
  whatsapp?: (phoneNumberId: string) => WhatsAppSender;
  /** Compete for the chat listener lease (default: with workers). */
  listener?: boolean;
  listenerPollMs?: number;
  /** Test seam for in-place retry waits of the send worker. */
  sleep?: (ms: number) => Promise<void>;
  /** Setup notes to show on / and /readyz (from loadConfig). */
  missing?: string[];
  warnings?: string[];
}

export interface Runtime {
  app: Hono;
  database: Database;
  queue: Queue;
  ring: KeyRing;
  keys: CustomerKeyStore;
  metrics: Metrics;
  platform: ChatPlatform | null;
  simulator?: ReturnType<typeof createSimulator>;
  outbound?: Awaited<ReturnType<typeof startOutbound>>;
  /** Base URL when listening. */
  url?: string;
  /** Stops accepting work, finishes in-flight jobs, closes everything. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Composition root: opens the database, applies migrations, loads keys, starts the queue, the
 * chat platform, the relay worker and the HTTP server. Throws with an operator-readable message
 * when a dependency cannot be reached.
 */
export async function startRuntime(config: RelaisConfig, opts: RuntimeOptions): Promise<Runtime> {
  const { logger } = opts;
  const runWorkers = opts.workers ?? config.workers;
  const metrics = opts.metrics ?? createMetrics();
  const missing = [...(opts.missing ?? [])];
  const warnings = [...(opts.warnings ?? [])];
  await initSodium();
  const master = await loadMasterKeys({ inline: config.masterKey.inline, file: config.masterKey.file, dataDir: config.dataDir, production: config.env === 'production' });
  if (master.source === 'generated' || master.source === 'dev-file') {
    const note = `Development master key in use (${master.path}): the archive is readable by anyone with this file. Set RELAIS_MASTER_KEY or RELAIS_MASTER_KEY_FILE before real use`;
    warnings.push(note);
    logger.warn({ path: master.path }, 'development master key in use; set RELAIS_MASTER_KEY or RELAIS_MASTER_KEY_FILE before real use');
  }
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, inMemory: opts.inMemoryDb });
  await runMigrations(database);
  const ring = await loadKeyRing(database, master.keys);
  // `config.changed` in the audit log when a setting differs from the last start (names only).
  await recordConfigChanges(database.db, ring, config, { logger });
  const keys = new CustomerKeyStore(ring, { watch: { metrics, logger } });
  const heartbeat = await startKeyringHeartbeat({ db: database.db, ring, logger });
  const queue = await startQueue(database, logger);

  // The simulator plays Meta in development when no WhatsApp credentials are configured.
  let simulator: ReturnType<typeof createSimulator> | undefined;
  const wa = { ...config.whatsapp, numbers: [...config.whatsapp.numbers] };
  const publicBase = config.publicUrl ?? `http://127.0.0.1:${config.port}`;
  if (config.simulator) {
    wa.appSecret = wa.appSecret ?? nodeRandomBytes(24).toString('hex');
    wa.accessToken = wa.accessToken ?? nodeRandomBytes(24).toString('hex');
    wa.verifyToken = wa.verifyToken ?? nodeRandomBytes(12).toString('hex');
    wa.apiUrl = `http://127.0.0.1:${config.port}/simulator/graph/v23.0`;
    if (!wa.numbers.length) wa.numbers.push({ phoneNumberId: SIMULATOR_PHONE_NUMBER_ID, label: 'Simulator' });
    simulator = createSimulator({
      graphBase: wa.apiUrl,
      webhookUrl: `http://127.0.0.1:${config.port}/webhooks/whatsapp`,
      appSecret: wa.appSecret,
      accessToken: wa.accessToken,
      phoneNumberId: wa.numbers[0]!.phoneNumberId,
      displayPhoneNumber: '+1 555 010 0001',
      // Like Meta: every accepted reply gets a `sent` status webhook, so agents see ☑️ at once.
      autoSentStatus: true,
    });
  }
  const effective: RelaisConfig = { ...config, whatsapp: wa };
  const known = new Set(wa.numbers.map((n) => n.phoneNumberId));
  const customerCache = new BoundedMap<string, { id: string; keyVersion: number }>(50_000);

  const platform = opts.platform !== undefined ? opts.platform : createChatPlatform(config, logger);
  if (platform) {
    try {
      await platform.connect();
    } catch (err) {
      logger.error({ code: errorCode(err), err: dbErrorFields(err) }, 'chat platform not reachable yet; relay jobs wait and retry');
    }
  }

  const clients = new Map<string, ReturnType<typeof createCloudApiClient>>();
  const mediaSource: MediaSource = opts.mediaSource ?? {
    async download(phoneNumberId, mediaId, maxBytes, expectedSha256) {
      const token = routeForNumber(effective, phoneNumberId)?.accessToken ?? wa.accessToken;
      if (!token) throw new Error('WHATSAPP_ACCESS_TOKEN is not set: media cannot be downloaded');
      let client = clients.get(token);
      if (!client) { client = createCloudApiClient({ apiUrl: wa.apiUrl, accessToken: token }); clients.set(token, client); }
      const r = await client.downloadMedia(mediaId, { maxBytes, phoneNumberId, expectedSha256 });
      return { mimeType: r.mimeType, size: r.size, stream: r.stream };
    },
  };

  let draining = false;
  let tokenValid = true;
  metrics.whatsappTokenValid.set(1);
  const senders = new Map<string, ReturnType<typeof createCloudApiClient>>();
  const whatsapp = opts.whatsapp ?? ((phoneNumberId: string) => {
    const token = routeForNumber(effective, phoneNumberId)?.accessToken ?? wa.accessToken ?? '';
    let client = senders.get(token);
    if (!client) { client = createCloudApiClient({ apiUrl: wa.apiUrl, accessToken: token }); senders.set(token, client); }
    return client;
  });
  const outbound = platform ? await startOutbound({
    database, queue, ring, keys, platform, config: effective, metrics, logger, whatsapp,
    onTokenInvalid: () => {
      tokenValid = false;
      metrics.whatsappTokenValid.set(0);
      logger.error('the WhatsApp access token was refused (190): renew WHATSAPP_ACCESS_TOKEN; /readyz reports not ready');
    },
    workers: runWorkers,
    listener: opts.listener ?? runWorkers,
    listenerPollMs: opts.listenerPollMs,
    sleep: opts.sleep,
  }) : undefined;
  // `/wa` slash command: registered in every team Relais serves, when Mattermost can reach us.
  const commandTokens: string[] = [];
  if (platform?.slashCommands && outbound && config.publicUrl) {
    const teams = new Set(wa.numbers.map((n) => routeForNumber(effective, n.phoneNumberId)?.team).filter((x): x is string => Boolean(x)));
    for (const team of teams) {
      try {
        const { token } = await platform.slashCommands.registerSlashCommand({
          team, url: `${config.publicUrl}/chat/command`, trigger: 'wa',
          description: 'WhatsApp commands (Relais)', hint: 'help | status | templates | template <name> [language] [parameters…] | search <words>',
        });
        commandTokens.push(token);
      } catch (err) {
        logger.warn({ team, code: errorCode(err) }, 'could not register the /wa slash command; agents can type !wa … in the channel instead');
      }
    }
  }

  if (platform && runWorkers) {
    await startRelayWorkers({
      database, queue, keys, platform, mediaSource, metrics, logger, config: effective,
      afterPostBeforeCommit: opts.afterPostBeforeCommit,
    });
  }
  // Daily retention run at 03:00 UTC (docs/retention.md); runs here when this process runs workers.
  await startRetentionJob({ queue, deps: { db: database.db, ring, keys, config: effective, logger, metrics, platform }, workers: runWorkers });
  // Hourly: erasures whose chat step waits for the chat server, rows restored from a backup (docs/data-subject-requests.md).
  await startErasureUpkeep({ queue, deps: { db: database.db, ring, keys, config: effective, logger, metrics, platform }, workers: runWorkers });

  const app = createApp({
    logger, metrics, language: config.language,
    webhook: {
      appSecret: () => wa.appSecret,
      verifyToken: () => wa.verifyToken,
      verifySignature,
      parse: parseWebhook,
      ...createWebhookStore({ database, queue, ring, keys, metrics, logger, customerCache, isKnownNumber: (id) => known.has(id), outbound }),
    },
    readiness: [
      { name: 'database', gatesWebhooks: true, check: async () => ((await database.ping()) && (await schemaReady(database)) ? { ok: true } : { ok: false, detail: 'database unreachable or not migrated' }) },
      { name: 'master_key', gatesWebhooks: true, check: async () => ({ ok: true, detail: master.source }) },
      { name: 'chat_platform', check: async () => (platform ? platform.checkReady() : { ok: false, detail: config.chat.platform === 'rocketchat' ? 'no chat platform configured (ROCKETCHAT_URL, ROCKETCHAT_USER_ID, ROCKETCHAT_TOKEN)' : 'no chat platform configured (MATTERMOST_URL, MATTERMOST_TOKEN)' }) },
      { name: 'whatsapp_token', check: async () => (tokenValid ? { ok: true } : { ok: false, detail: 'the Graph API refused WHATSAPP_ACCESS_TOKEN (error 190): renew it' }) },
    ],
    missing: () => missing,
    draining: () => draining,
    home: () => ({
      version: VERSION,
      database: describeDatabase(config.databaseUrl),
      keySource: master.source === 'env' || master.source === 'file' ? `configured (${master.keys.length} key version(s))` : `development key in ${master.path}`,
      webhookUrl: `${publicBase}/webhooks/whatsapp`,
      simulatorUrl: simulator ? `${publicBase}/simulator/` : undefined,
      chat: platform ? `${platform.kind}` : 'not configured',
      missing,
      warnings,
    }),
    sampleMetrics: async () => {
      const q = await queue.boss.getQueue(QUEUES.relay);
      if (q) metrics.queueDepth.set({ queue: QUEUES.relay }, (q as { queuedCount?: number }).queuedCount ?? 0);
      const d = await queue.boss.getQueue(QUEUES.relayDead);
      if (d) metrics.queueDepth.set({ queue: QUEUES.relayDead }, (d as { queuedCount?: number }).queuedCount ?? 0);
    },
    mounts: [
      ...(simulator ? [{ path: '/simulator', app: simulator.app }] : []),
      ...(config.compliance.adminApi.enabled ? [{
        path: '/api/v1',
        app: adminApiRoutes({
          compliance: { db: database.db, ring, keys, config: effective, logger, metrics, platform },
          queue, ratePerMinute: config.compliance.adminApi.ratePerMinute, services: complianceServices, version: VERSION, metrics,
        }),
      }] : []),
      {
        path: '/chat/command',
        app: chatCommandRoutes({
          logger,
          capability: () => platform?.slashCommands,
          tokens: () => commandTokens,
          run: (ctx, text) => (outbound ? outbound.runSlashCommand(ctx, text) : Promise.resolve('Relais is not connected to a chat platform.')),
        }),
      },
    ],
  });

  let server: ServerType | undefined;
  let url: string | undefined;
  if (opts.listen) {
    server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () => resolve(s));
    });
    const addr = server.address();
    url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : config.port}`;
  }

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      draining = true;
      if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
      await outbound?.stop().catch(() => undefined);
      await queue.stop({ graceful: true, timeoutMs: 20_000 }).catch((err) => logger.warn({ err }, 'job queue did not stop cleanly'));
      if (platform) await platform.close().catch(() => undefined);
      await heartbeat.stop();
      await database.close().catch(() => undefined);
    })();
    return stopped;
  };
  return { app, database, queue, ring, keys, metrics, platform, simulator, outbound, url, stop };
}
