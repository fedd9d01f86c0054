/**
 * Builds an archive for retention tests through the real write paths: customers and messages via
 * `persistWebhook` (real sealing, real wamid index), media via `storeMedia` (real secretstream
 * frames), agent messages via `captureAgentEvent`; then back-dates the rows to fixed instants.
 */
import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { CustomerKeyStore } from '../../src/archive/customer-keys.js';
import { type KeyRing } from '../../src/archive/keyring.js';
import type { ComplianceDeps } from '../../src/compliance/deps.js';
import { loadConfig, type RelaisConfig } from '../../src/config/load.js';
import { captureAgentEvent } from '../../src/core/agent-events.js';
import { persistWebhook } from '../../src/core/inbox.js';
import { storeMedia } from '../../src/core/media-store.js';
import type { InboundMessage } from '../../src/core/messages.js';
import { type Database } from '../../src/db/client.js';
import { customers, legalHolds, messages, messageTokens, outbox, outboxTokens } from '../../src/db/schema/index.js';
import { createMetrics } from '../../src/metrics.js';
import { openTestArchive } from '../helpers/database.js';
import { captureLogger } from '../helpers/logger.js';

export const NUMBER_A = '106540352242922';
export const NUMBER_B = '1122334455667';
/** The fixed "now" of every run in these tests. */
export const NOW = new Date('2030-06-15T03:00:00.000Z');
export const daysAgo = (d: number) => new Date(NOW.getTime() - d * 86_400_000);

export interface RetentionArchive {
  database: Database;
  ring: KeyRing;
  keys: CustomerKeyStore;
  config: RelaisConfig;
  deps: ComplianceDeps;
  metrics: ReturnType<typeof createMetrics>;
  logs: ReturnType<typeof captureLogger>;
  /** Set on PostgreSQL (a second connection pool can be opened on it). */
  databaseUrl?: string;
  close(): Promise<void>;
}

/**
 * A migrated database (PGlite, or PostgreSQL with DATABASE_URL) and compliance deps whose clock
 * is NOW. `env` adds settings (RETENTION_DAYS…); `numbers` is the YAML list of business numbers.
 */
export async function openArchive(env: Record<string, string>, numbers: { phoneNumberId: string; retentionDays?: number }[]): Promise<RetentionArchive> {
  const { database, databaseUrl, ring, close } = await openTestArchive();
  const yaml = `whatsapp:\n  numbers:\n${numbers.map((n) => `    - phoneNumberId: "${n.phoneNumberId}"\n${n.retentionDays ? `      retentionDays: ${n.retentionDays}\n` : ''}`).join('')}`;
  const loaded = await loadConfig({ RELAIS_CONFIG: '/virtual/relais.config.yaml', ...env }, async () => yaml);
  if (!loaded.config) throw new Error(`test config invalid: ${loaded.problems.join('; ')}`);
  const keys = new CustomerKeyStore(ring);
  const metrics = createMetrics();
  const logs = captureLogger();
  const deps: ComplianceDeps = { db: database.db, ring, keys, config: loaded.config, logger: logs.logger, metrics, now: () => NOW };
  return {
    database, ring, keys, config: loaded.config, deps, metrics, logs, databaseUrl,
    close,
  };
}

/** Inbox deps without a queue (the inbox's enqueue hook is named differently across versions). */
export const NO_QUEUE = { enqueueRelay: async () => {}, enqueueRelays: async () => {} } as unknown as Omit<Parameters<typeof persistWebhook>[1], 'ring' | 'keys' | 'isKnownNumber'>;

let seq = 0;

/** One customer message through the real inbox, received at `at`. Returns its ids. */
export async function seedMessage(a: RetentionArchive, o: {
  number?: string; waId: string; name?: string; at: Date; text?: string; replyTo?: string;
  media?: Uint8Array; postings?: number; chatPostId?: string;
}): Promise<{ messageId: string; customerId: string; wamid: string }> {
  const wamid = `wamid.TEST${++seq}${o.waId}`;
  const m: InboundMessage = {
    phoneNumberId: o.number ?? NUMBER_A, wamid, timestamp: Math.floor(o.at.getTime() / 1000),
    customer: { waId: o.waId, profileName: o.name ?? 'Zoé Client' },
    content: o.media ? { kind: 'media', media: { kind: 'document', mediaId: `m${seq}`, filename: 'contrat.pdf', mimeType: 'application/pdf' } } : { kind: 'text', text: o.text ?? `secret ${seq}` },
    markers: o.replyTo ? { replyToWamid: o.replyTo } : {},
  };
  const r = await a.database.db.transaction((tx) => persistWebhook(tx, {
    ring: a.ring, keys: a.keys, isKnownNumber: () => true, ...NO_QUEUE,
  }, { messages: [m], statuses: [], errors: [], otherFields: [], phoneNumberIds: [m.phoneNumberId] }));
  const messageId = r.stored[0]!.messageId;
  const [row] = await a.database.db.select().from(messages).where(eq(messages.id, messageId));
  await a.database.db.update(messages).set({
    receivedAt: o.at,
    ...(o.chatPostId ? { chatPostId: o.chatPostId, relayState: 'posted' as const, postedAt: o.at } : {}),
  }).where(eq(messages.id, messageId));
  await a.database.db.update(customers).set({ createdAt: sql`least(${customers.createdAt}, ${o.at.toISOString()}::timestamptz)` }).where(eq(customers.id, row!.customerId));
  if (o.media) {
    const dek = await a.keys.get(a.database.db, row!.customerId, row!.keyVersion);
    const bytes = o.media;
    await storeMedia(a.database.db, dek, row!.keyVersion, { messageId, kind: 'document', mimeType: 'application/pdf', filename: 'contrat.pdf' },
      new ReadableStream({ start(c) { c.enqueue(bytes); c.close(); } }));
  }
  for (let i = 0; i < (o.postings ?? 0); i++) {
    await a.database.db.insert(messageTokens).values({ token: seq * 100 + i, messageId, customerId: row!.customerId, receivedAt: o.at });
  }
  return { messageId, customerId: row!.customerId, wamid };
}

/** One agent reply in the customer's channel, captured by the real capture path, created at `at`, in `state`. */
export async function seedAgentReply(a: RetentionArchive, customerId: string, at: Date, state: 'queued' | 'sent' | 'failed' = 'sent'): Promise<string> {
  const channel = `chan-${customerId.slice(0, 8)}`;
  await a.database.db.update(customers).set({ chatChannelId: channel }).where(eq(customers.id, customerId));
  const post = `post-${randomUUID()}`;
  const outcome = await captureAgentEvent({
    db: a.database.db, keys: a.keys, logger: a.logs.logger, notePrefix: '//', enqueueSend: async () => {}, runCommand: async () => {},
  }, { kind: 'post', post: post as never, channel: channel as never, authorId: 'u1', authorName: 'alice', text: 'Votre dossier est prêt', files: [], createdAt: at.getTime(), fromBot: false, system: false });
  if (outcome !== 'queued') throw new Error(`agent reply not captured: ${outcome}`);
  const [row] = await a.database.db.select({ id: outbox.id }).from(outbox).where(eq(outbox.sourceKey, `post:${post}`));
  const wamidBidx = state === 'sent' ? `bidx-${randomUUID()}` : null;
  await a.database.db.update(outbox).set({ createdAt: at, state, wamidBidx, wamidEnc: state === 'sent' ? new Uint8Array([1, 2, 3]) : null }).where(eq(outbox.id, row!.id));
  await a.database.db.insert(outboxTokens).values([{ token: 7, outboxId: row!.id, customerId, createdAt: at }, { token: 8, outboxId: row!.id, customerId, createdAt: at }]);
  return row!.id;
}

export async function hold(a: RetentionArchive, customerId: string): Promise<void> {
  await a.database.db.insert(legalHolds).values({ customerId, reason: 'litigation 2030-17', setBy: 'cli:dpo' });
}

/** Rows of a table as plain objects (tests only). */
export async function rows(a: RetentionArchive, q: string): Promise<Record<string, unknown>[]> {
  const r = await a.database.db.execute(sql.raw(q));
  return (Array.isArray(r) ? r : (r as { rows: unknown[] }).rows) as Record<string, unknown>[];
}

export async function countOf(a: RetentionArchive, table: string, where?: string): Promise<number> {
  return Number((await rows(a, `select count(*)::int as n from ${table}${where ? ` where ${where}` : ''}`))[0]!.n);
}
