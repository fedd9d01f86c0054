/**
 * A small archive for search tests: a real database (PGlite, or PostgreSQL with DATABASE_URL),
 * migrations, a key ring, and messages stored through the product's own paths — customer
 * messages by `persistWebhook`, agent replies by `captureAgentEvent` — so their postings are
 * the ones production writes.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { pino } from 'pino';
import { CustomerKeyStore } from '../../src/archive/customer-keys.js';
import { type KeyRing } from '../../src/archive/keyring.js';
import type { ChatChannelRef, ChatPostRef } from '../../src/chat/platform.js';
import type { ComplianceDeps } from '../../src/compliance/deps.js';
import { loadConfig } from '../../src/config/load.js';
import { captureAgentEvent } from '../../src/core/agent-events.js';
import { persistWebhook } from '../../src/core/inbox.js';
import type { InboundContent } from '../../src/core/messages.js';
import { type Database } from '../../src/db/client.js';
import { openTestArchive } from '../helpers/database.js';

export const NUMBER = '106540352242922';

export interface SearchWorld {
  database: Database;
  ring: KeyRing;
  deps: ComplianceDeps;
  /** A customer message through the webhook path; returns its message id and customer id. */
  customerWrites(waId: string, content: string | InboundContent, opts?: { name?: string; number?: string }): Promise<{ messageId: string; customerId: string }>;
  /** Gives the customer a chat channel id (as the relay worker would). */
  openChannel(customerId: string, channelId?: string): Promise<string>;
  /** An agent reply through the capture path; returns the outbox id. */
  agentReplies(channelId: string, text: string): Promise<string>;
  rows(q: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

export async function startSearchWorld(): Promise<SearchWorld> {
  const { database, ring, close } = await openTestArchive();
  const keys = new CustomerKeyStore(ring);
  const { config } = await loadConfig({ MATTERMOST_URL: 'https://chat.example.com/', MATTERMOST_TOKEN: 't', MATTERMOST_TEAM: 'support', WHATSAPP_PHONE_NUMBER_ID: NUMBER });
  const logger = pino({ level: 'silent' });
  const deps: ComplianceDeps = { db: database.db, ring, keys, config: config!, logger };
  const rows = async (q: string) => {
    const r = await database.db.execute(sql.raw(q));
    return (Array.isArray(r) ? r : (r as { rows: unknown[] }).rows) as Record<string, unknown>[];
  };
  let clock = 1_700_000_000;
  return {
    database, ring, deps, rows,
    async customerWrites(waId, content, opts = {}) {
      const c: InboundContent = typeof content === 'string' ? { kind: 'text', text: content } : content;
      const number = opts.number ?? NUMBER;
      const result = await database.db.transaction((tx) => persistWebhook(tx, {
        ring, keys, enqueueRelays: async () => {}, isKnownNumber: () => true,
      }, {
        messages: [{ phoneNumberId: number, wamid: `wamid.test.${randomUUID()}`, customer: { waId, profileName: opts.name ?? 'Client' }, timestamp: clock++, content: c, markers: {} }],
        statuses: [], errors: [], otherFields: [], phoneNumberIds: [number],
      }));
      const messageId = result.stored[0]!.messageId;
      const [row] = await rows(`select customer_id from messages where id = '${messageId}'`);
      return { messageId, customerId: String(row!.customer_id) };
    },
    async openChannel(customerId, channelId = randomUUID().replace(/-/g, '').slice(0, 26)) {
      await rows(`update customers set chat_channel_id = '${channelId}' where id = '${customerId}'`);
      return channelId;
    },
    async agentReplies(channelId, text) {
      const post = randomUUID().replace(/-/g, '').slice(0, 26);
      const outcome = await captureAgentEvent({
        db: database.db, ring, keys, logger, notePrefix: '//', enqueueSend: async () => {}, runCommand: async () => {},
      }, {
        kind: 'post', post: post as ChatPostRef, channel: channelId as ChatChannelRef, authorId: 'agent1', authorName: 'alice',
        text, files: [], createdAt: Date.now(), fromBot: false, system: false,
      });
      if (outcome !== 'queued') throw new Error(`agent reply not queued: ${outcome}`);
      const [row] = await rows(`select id from outbox where chat_post_id = '${post}'`);
      return String(row!.id);
    },
    close,
  };
}
