import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgTable, primaryKey, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';
import { customers } from './customers.js';
import { bytea } from './types.js';

/**
 * What agents send to customers. One row per agent post (or reaction event), keyed by
 * `source_key` (UNIQUE) so the same post seen twice — live and again by catch-up, or by two
 * replicas — is queued once. Content and wamid are sealed with the customer's data key.
 *
 * Send protocol: queued → sending (attempts+1, committed before calling the Graph API) →
 * sent (wamid stored) | failed (error_code kept, agent notified).
 */
export const outbox = pgTable('outbox', {
  id: uuid('id').primaryKey(),
  customerId: uuid('customer_id').notNull().references(() => customers.id, { onDelete: 'cascade' }),
  sourceKey: text('source_key').notNull(),
  /** The agent's post (where delivery state is shown and notices are threaded). */
  chatPostId: text('chat_post_id'),
  chatChannelId: text('chat_channel_id').notNull(),
  kind: text('kind').notNull(),
  contentEnc: bytea('content_enc').notNull(),
  keyVersion: integer('key_version').notNull(),
  state: text('state', { enum: ['queued', 'sending', 'sent', 'failed'] }).notNull().default('queued'),
  attempts: integer('attempts').notNull().default(0),
  errorCode: text('error_code'),
  wamidBidx: text('wamid_bidx'),
  wamidEnc: bytea('wamid_enc'),
  status: text('status'),
  statusRank: integer('status_rank').notNull().default(0),
  statusAt: timestamp('status_at', { withTimezone: true }),
  statusErrorCode: integer('status_error_code'),
  /** Emoji name of the delivery indicator currently shown on the agent's post. */
  indicator: text('indicator'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  sentAt: timestamp('sent_at', { withTimezone: true }),
  /**
   * Set when retention removed the content, as for `messages.content_purged_at`: `content_enc`
   * is empty bytes (never open it), `wamid_enc` null, `wamid_bidx` null after the 8-day
   * redelivery horizon; a row still queued or sending is closed as `failed` / `content_purged`.
   * Kept: source key (the agent post's id, the catch-up dedupe key), kind, state, status, times.
   */
  contentPurgedAt: timestamp('content_purged_at', { withTimezone: true }),
}, (t) => [
  unique('outbox_source_key_uq').on(t.sourceKey),
  unique('outbox_wamid_bidx_uq').on(t.wamidBidx),
  index('outbox_chat_post_idx').on(t.chatPostId),
  // A customer's agent replies, newest first (search within one conversation, export).
  index('outbox_customer_idx').on(t.customerId, t.createdAt),
  index('outbox_retention_idx').on(t.createdAt).where(sql`content_purged_at is null or wamid_bidx is not null`),
]);

/** Approved message templates, synced from the Graph API. Business content, not personal data. */
export const templates = pgTable('templates', {
  name: text('name').notNull(),
  language: text('language').notNull(),
  status: text('status').notNull(),
  category: text('category'),
  components: jsonb('components').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [primaryKey({ columns: [t.name, t.language], name: 'templates_pk' })]);
