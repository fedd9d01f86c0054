import { bigint, index, integer, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { customers } from './customers.js';
import { messages } from './messages.js';
import { outbox } from './outbox.js';

/**
 * Append-only audit log, hash-chained: `hash` = keyed BLAKE2b-256 over (`prev_hash`, id, at,
 * actor, action, target, details). `details` is the exact canonical JSON text that was hashed
 * (text, not jsonb, because jsonb reorders keys). A trigger (migration 0002) refuses UPDATE and
 * DELETE. Never holds message content, phone numbers or wamids: targets are internal ids and
 * keyed hashes.
 */
export const auditLog = pgTable('audit_log', {
  /** 1, 2, 3… assigned under the append lock (not a sequence, so a rolled-back append leaves no gap). */
  id: bigint('id', { mode: 'number' }).primaryKey(),
  at: timestamp('at', { withTimezone: true, precision: 3 }).notNull(),
  actor: text('actor').notNull(),
  action: text('action').notNull(),
  target: text('target'),
  details: text('details').notNull(),
  prevHash: text('prev_hash').notNull(),
  hash: text('hash').notNull(),
});

/** Admin API bearer tokens. Only a SHA-256 of the token is stored; the token is shown once. */
export const apiTokens = pgTable('api_tokens', {
  id: uuid('id').primaryKey(),
  name: text('name').notNull(),
  tokenHash: text('token_hash').notNull().unique('api_tokens_token_hash_uq'),
  scopes: text('scopes').array().notNull(),
  createdBy: text('created_by').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  expiresAt: timestamp('expires_at', { withTimezone: true }),
  lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
  revokedAt: timestamp('revoked_at', { withTimezone: true }),
});

/**
 * One row per erased customer: the proof of erasure and the resume point for the chat-side
 * cleanup. Holds no personal data (ids and keyed hashes only). Also the deny list that keeps a
 * data key restored from an old backup from being used again.
 */
export const erasures = pgTable('erasures', {
  customerId: uuid('customer_id').primaryKey(),
  phoneNumberId: text('phone_number_id').notNull(),
  phoneBidx: text('phone_bidx'),
  chatChannelId: text('chat_channel_id'),
  /** What to do with the chat channel: 'delete' | 'archive' | 'keep'. */
  chatPolicy: text('chat_policy').notNull(),
  state: text('state', { enum: ['shredded', 'complete'] }).notNull(),
  /** What the chat step did: 'deleted' | 'archived' (policy archive, or deletion refused by the server) | 'kept'; null while pending. */
  chatOutcome: text('chat_outcome', { enum: ['deleted', 'archived', 'kept'] }),
  messagesDeleted: integer('messages_deleted').notNull().default(0),
  requestedBy: text('requested_by').notNull(),
  requestedAt: timestamp('requested_at', { withTimezone: true }).notNull().defaultNow(),
  completedAt: timestamp('completed_at', { withTimezone: true }),
}, (t) => [index('erasures_phone_bidx_idx').on(t.phoneBidx)]);

/**
 * Blind-index search postings of customer messages: one row per (token, message).
 * `token` is the keyed hash of a normalised word (src/compliance/tokenizer.ts), truncated to
 * `TOKEN_HASH_BITS` (src/compliance/search-index.ts): deliberate collisions, filtered out after
 * decryption; see docs/search.md. The key starts with (token, received_at) so "the newest
 * messages holding this token" is an ordered index range, and an AND of tokens probes the others
 * by the full key. Written in the message's transaction; deleted with the message (cascade) or
 * when retention purges its content.
 */
export const messageTokens = pgTable('message_tokens', {
  token: integer('token').notNull(),
  messageId: uuid('message_id').notNull().references(() => messages.id, { onDelete: 'cascade' }),
  customerId: uuid('customer_id').notNull(),
  /** Copy of `messages.received_at` (the ordering key). */
  receivedAt: timestamp('received_at', { withTimezone: true }).notNull(),
}, (t) => [
  primaryKey({ columns: [t.token, t.receivedAt, t.messageId], name: 'message_tokens_pk' }),
  index('message_tokens_message_idx').on(t.messageId),
]);

/**
 * Search postings of agent replies (outbox rows), same design as `message_tokens`. Deleted with
 * the outbox row (cascade) or when retention purges its content.
 */
export const outboxTokens = pgTable('outbox_tokens', {
  token: integer('token').notNull(),
  outboxId: uuid('outbox_id').notNull().references(() => outbox.id, { onDelete: 'cascade' }),
  customerId: uuid('customer_id').notNull(),
  /** Copy of `outbox.created_at` (the ordering key). */
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
}, (t) => [
  primaryKey({ columns: [t.token, t.createdAt, t.outboxId], name: 'outbox_tokens_pk' }),
  index('outbox_tokens_outbox_idx').on(t.outboxId),
]);

/**
 * The master-key versions each running replica has loaded (heartbeat), so `relais keys rotate`
 * can refuse to rewrap to a key some replica cannot read yet.
 */
export const keyringMembers = pgTable('keyring_members', {
  instanceId: text('instance_id').primaryKey(),
  currentKekVersion: integer('current_kek_version').notNull(),
  kekVersions: integer('kek_versions').array().notNull(),
  seenAt: timestamp('seen_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * Legal hold per customer row: while a row exists, the customer is exempt from retention and
 * erasure. Lifting the hold deletes the row (the audit log keeps the history).
 */
export const legalHolds = pgTable('legal_holds', {
  customerId: uuid('customer_id').primaryKey().references(() => customers.id, { onDelete: 'cascade' }),
  reason: text('reason'),
  setBy: text('set_by').notNull(),
  setAt: timestamp('set_at', { withTimezone: true }).notNull().defaultNow(),
});
