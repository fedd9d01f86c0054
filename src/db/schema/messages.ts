import { sql } from 'drizzle-orm';
import { bigserial, index, integer, pgTable, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';
import { customers } from './customers.js';
import { bytea } from './types.js';

/**
 * Every message, both directions. Content and wamid are sealed with the customer's data key;
 * `wamid_bidx` (keyed hash) is the idempotency key: a redelivered webhook is a no-op.
 *
 * Relay protocol (inbound → chat): `relay_state` goes pending → sending (committed before the
 * chat API call, with `relay_attempt_at`) → posted (with `chat_post_id`). A job that finds
 * `sending` reconciles with the chat platform before posting again.
 */
export const messages = pgTable('messages', {
  id: uuid('id').primaryKey(),
  customerId: uuid('customer_id').notNull().references(() => customers.id, { onDelete: 'cascade' }),
  direction: text('direction', { enum: ['inbound', 'outbound'] }).notNull(),
  wamidBidx: text('wamid_bidx'),
  wamidEnc: bytea('wamid_enc'),
  /** Content kind (text, media, location…) or the raw WhatsApp type for unsupported ones. Not personal. */
  type: text('type').notNull(),
  contentEnc: bytea('content_enc').notNull(),
  /** Blind index of the wamid this message replies to or reacts to. */
  refBidx: text('ref_bidx'),
  keyVersion: integer('key_version').notNull(),
  waTimestamp: timestamp('wa_timestamp', { withTimezone: true }),
  receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
  relayState: text('relay_state', { enum: ['pending', 'sending', 'posted', 'failed'] }).notNull().default('pending'),
  relayAttemptAt: timestamp('relay_attempt_at', { withTimezone: true }),
  relayError: text('relay_error'),
  chatPostId: text('chat_post_id'),
  postedAt: timestamp('posted_at', { withTimezone: true }),
  /** Delivery status of outbound messages (monotonic, see STATUS_RANK). */
  status: text('status'),
  statusRank: integer('status_rank').notNull().default(0),
  statusAt: timestamp('status_at', { withTimezone: true }),
  statusErrorCode: integer('status_error_code'),
  /**
   * Set when retention removed the content (src/compliance/retention.ts, docs/retention.md).
   * A purged row has `content_enc` = empty bytes (not a ciphertext: never open it), `wamid_enc`
   * and `ref_bidx` null, no media and no search postings; `wamid_bidx` is kept until Meta's
   * redelivery horizon (8 days after receipt) has passed, then null. What stays is not content:
   * id, customer, direction, type, timestamps, relay and delivery status. Readers (relay,
   * export, search, rendering) must test this column before opening `content_enc`.
   * `chat_post_id` stays until the chat post is deleted (when RETENTION_PRUNE_CHAT is on).
   */
  contentPurgedAt: timestamp('content_purged_at', { withTimezone: true }),
}, (t) => [
  unique('messages_wamid_bidx_uq').on(t.wamidBidx),
  index('messages_customer_idx').on(t.customerId, t.receivedAt),
  index('messages_relay_state_idx').on(t.relayState),
  index('messages_chat_post_idx').on(t.chatPostId),
  // Retention: rows still holding content or a wamid index, by age.
  index('messages_retention_idx').on(t.receivedAt).where(sql`content_purged_at is null or wamid_bidx is not null`),
  // Retention chat pruning: purged rows whose chat post is not deleted yet.
  index('messages_prune_idx').on(t.id).where(sql`content_purged_at is not null and chat_post_id is not null`),
]);

/**
 * Status webhooks as received (one row per wamid and status), so a status that arrives before
 * its message is known is kept and applied later. Contains no personal data.
 */
export const statusEvents = pgTable('status_events', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  wamidBidx: text('wamid_bidx').notNull(),
  status: text('status').notNull(),
  rank: integer('rank').notNull(),
  waTimestamp: timestamp('wa_timestamp', { withTimezone: true }),
  errorCode: integer('error_code'),
  receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [unique('status_events_wamid_status_uq').on(t.wamidBidx, t.status)]);
