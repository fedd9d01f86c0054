import { captureAgentEvent } from '../core/agent-events.js';
import { BoundedMap } from '../core/bounded-map.js';
import { startAgentListener } from '../core/agent-listener.js';
import { searchMessages, type SearchOptions } from '../compliance/search.js';
import { runWaCommand, storeTemplates } from '../core/commands.js';
import { createIndicatorUpdater } from '../core/delivery-indicator.js';
import { errorCode, isRetryable } from '../core/errors.js';
import type { Language } from '../core/i18n.js';
import { KeyedBuckets } from '../core/rate-limit.js';
import { createSendWorker, type WhatsAppSender } from '../core/send-worker.js';
import type { CustomerKeyStore } from '../archive/customer-keys.js';
import type { KeyRing } from '../archive/keyring.js';
import type { ChatChannelRef, ChatPlatform } from '../chat/platform.js';
import type { RelaisConfig } from '../config/load.js';
import type { Database, Db } from '../db/client.js';
import { templates } from '../db/schema/index.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { QUEUES, removeQueuedJobs, workInBatches, type Queue } from '../queue/boss.js';
import { fetchTemplates } from '../whatsapp/templates-api.js';

export interface OutboundWiring {
  database: Database;
  queue: Queue;
  ring: KeyRing;
  keys: CustomerKeyStore;
  platform: ChatPlatform;
  config: RelaisConfig;
  metrics: Metrics;
  logger: Logger;
  whatsapp: (phoneNumberId: string) => WhatsAppSender;
  /** Flips readiness when the Graph API refuses the token. */
  onTokenInvalid(): void;
  /** Run the send/indicator/template workers in this process. */
  workers: boolean;
  /** Run (compete for) the chat listener in this process. */
  listener: boolean;
  listenerPollMs?: number;
  /** Test seam for in-place retry waits. */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Wires the agent → WhatsApp path: the chat listener (one per deployment, leader-elected), the
 * send, indicator and template-sync workers, and the `/wa` command runner. Returns what the HTTP
 * layer and shutdown need.
 */
export async function startOutbound(w: OutboundWiring) {
  const { database, queue, platform, config, logger, metrics } = w;
  const db = database.db;
  const lang: Language = config.language;
  const enqueueSend = async (tx: Db, job: { outboxId: string; customerId: string }) => {
    await queue.sendInTx(tx, QUEUES.send, job, { singletonKey: job.customerId });
  };
  const compliance = { db, ring: w.ring, keys: w.keys, config, logger, metrics, platform };
  const slash = platform.slashCommands;
  const commandDeps = {
    db, ring: w.ring, keys: w.keys, logger, lang, notePrefix: config.notePrefix, enqueueSend,
    search: (query: string, opts: SearchOptions) => searchMessages(compliance, query, opts),
    visibleChannels: slash?.channelsVisibleTo ? (userId: string, channels: string[]) => slash.channelsVisibleTo!(userId, channels as ChatChannelRef[]) : undefined,
  };

  const runCommandPost = async (event: { channel: ChatChannelRef; post: string; authorId: string }, line: string) => {
    const answer = await runWaCommand(commandDeps, { channel: event.channel, invocationId: event.post, post: event.post as never, userId: event.authorId }, line);
    await platform.postNotice(event.channel, answer, event.post as never);
  };

  const channelCache = new BoundedMap<string, { id: string; keyVersion: number; at: number }>(10_000);
  const capture = (event: Parameters<typeof captureAgentEvent>[1]) => captureAgentEvent({
    db, ring: w.ring, keys: w.keys, logger, notePrefix: config.notePrefix, enqueueSend, channelCache,
    runCommand: (e, line) => runCommandPost(e, line),
  }, event);

  const showIndicator = createIndicatorUpdater({ db, platform, lang });
  // Burst of a tenth of a second: a full second of burst would let a sliding one-second window
  // see up to twice the rate, and Meta counts per second.
  const perNumber = new KeyedBuckets(config.whatsapp.ratePerSecond, Math.max(1, Math.ceil(config.whatsapp.ratePerSecond / 10)));
  const perRecipient = new KeyedBuckets(1 / config.whatsapp.pairIntervalSeconds, config.whatsapp.pairBurst);
  const listTemplates = async () => (await db.select({ name: templates.name, language: templates.language }).from(templates)).slice(0, 50);

  if (w.workers) {
    const send = createSendWorker({
      db, ring: w.ring, keys: w.keys, platform, whatsapp: w.whatsapp, metrics, logger, lang, perNumber, perRecipient,
      markReadOnReply: config.whatsapp.markRead, listTemplates,
      showIndicator, onTokenInvalid: w.onTokenInvalid, sleep: w.sleep,
      // The jobs of replies a drain already sent are deleted while still queued (see removeQueuedJobs).
      onDrained: (customerId, outboxIds) => removeQueuedJobs(queue.boss, logger, QUEUES.send, customerId, 'outboxId', outboxIds),
    });
    await workInBatches<{ outboxId: string; customerId?: string }>(queue.boss, QUEUES.send, { workers: 2, batchSize: config.sendConcurrency }, async (data, jobId, attempt) => {
      try {
        // On the last attempt a retryable failure becomes a failure with a notice to the agents:
        // a failed job would stall the conversation, and a reply hours late is worse than none.
        await send(data, { lastAttempt: attempt.last });
      } catch (err) {
        metrics.retries.inc({ queue: QUEUES.send });
        logger.warn({ job: jobId, code: errorCode(err), retryable: isRetryable(err) }, 'send attempt failed; the queue retries it');
        throw err;
      }
    });
    await workInBatches<{ outboxId: string }>(queue.boss, QUEUES.indicator, { workers: 1, batchSize: 8 }, async (data) => {
      await showIndicator(data.outboxId);
    });
    if (config.whatsapp.businessAccountId && config.whatsapp.accessToken) {
      const wabaId = config.whatsapp.businessAccountId;
      const token = config.whatsapp.accessToken;
      await queue.boss.work(QUEUES.templates, { pollingIntervalSeconds: 2 }, async () => {
        const list = await fetchTemplates({ apiUrl: config.whatsapp.apiUrl, accessToken: token, wabaId });
        const n = await storeTemplates(db, list);
        logger.info({ templates: n }, 'message templates synced');
      });
      await queue.boss.schedule(QUEUES.templates, '17 */6 * * *', {}, { singletonKey: 'sync' } as never);
      await queue.boss.send(QUEUES.templates, {}, { singletonKey: 'sync' });
    }
  }

  const listener = w.listener
    ? startAgentListener({ database, platform, logger, metrics, capture, pollMs: w.listenerPollMs })
    : undefined;

  return {
    capture,
    /** Runs a slash command for the HTTP route; answers in Markdown. */
    runSlashCommand: (ctx: { channel: string; invocationId: string; userId?: string }, line: string) => runWaCommand(commandDeps, { ...ctx, ephemeral: true }, line),
    enqueueIndicator: async (tx: Db, job: { outboxId: string; customerId: string }) => { await queue.sendInTx(tx, QUEUES.indicator, job); },
    enqueueTemplateSync: async (tx: Db) => { await queue.sendInTx(tx, QUEUES.templates, {}, { singletonKey: 'sync' }); },
    listener,
    stop: async () => { await listener?.stop(); },
  };
}
