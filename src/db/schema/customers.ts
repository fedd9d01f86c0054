import { sql } from 'drizzle-orm';
import { bigint, integer, pgTable, primaryKey, text, timestamp, unique, uuid, index } from 'drizzle-orm/pg-core';
import { bytea } from './types.js';

/**
 * One row per (business number, customer). The customer's identity is stored only sealed with
 * the customer's own data key; lookups go through keyed hashes (blind indexes).
 */
export const customers = pgTable('customers', {
  id: uuid('id').primaryKey(),
  phoneNumberId: text('phone_number_id').notNull(),
  /** Blind index of the customer key (BSUID when Meta gives one, else wa_id). */
  customerBidx: text('customer_bidx').notNull(),
  /** Blind index of the E.164 number, for data-subject requests by phone number. */
  phoneBidx: text('phone_bidx'),
  waIdEnc: bytea('wa_id_enc'),
  bsuidEnc: bytea('bsuid_enc'),
  profileNameEnc: bytea('profile_name_enc'),
  /** Data-key version the sealed columns of this row use. */
  keyVersion: integer('key_version').notNull().default(1),
  /** Non-personal key the chat channel name is derived from. */
  channelKey: text('channel_key').notNull(),
  chatChannelId: text('chat_channel_id'),
  lastInboundAt: timestamp('last_inbound_at', { withTimezone: true }),
  /** Catch-up cursor: server time (ms) of the newest agent post seen in the customer's channel. */
  chatCursor: bigint('chat_cursor', { mode: 'number' }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  /**
   * Set when retention retired this customer (every message purged, inactive beyond the limit):
   * sealed identity, phone index, data key and channel link are gone, `customer_bidx` and
   * `channel_key` hold a non-matching tombstone, so a returning person becomes a new customer.
   * The row stays so the purged messages keep their (non-personal) conversation metadata.
   */
  identityShreddedAt: timestamp('identity_shredded_at', { withTimezone: true }),
}, (t) => [
  unique('customers_number_customer_uq').on(t.phoneNumberId, t.customerBidx),
  index('customers_phone_bidx_idx').on(t.phoneBidx),
]);

/** Per-customer data keys (DEKs), only ever stored wrapped by a master key. Erasure deletes them. */
export const customerKeys = pgTable('customer_keys', {
  customerId: uuid('customer_id').notNull().references(() => customers.id, { onDelete: 'cascade' }),
  version: integer('version').notNull(),
  wrapped: bytea('wrapped').notNull(),
  kekVersion: integer('kek_version').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().default(sql`now()`),
}, (t) => [primaryKey({ columns: [t.customerId, t.version], name: 'customer_keys_pk' })]);
