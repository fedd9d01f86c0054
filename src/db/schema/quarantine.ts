import { integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { bytea } from './types.js';

/**
 * Signed webhook payloads Relais could not route (unknown phone_number_id, unreadable shape).
 * The raw bytes are sealed with a system key derived from the master key; nothing is lost.
 */
export const quarantine = pgTable('quarantine', {
  id: uuid('id').primaryKey(),
  reason: text('reason').notNull(),
  phoneNumberId: text('phone_number_id'),
  payloadEnc: bytea('payload_enc').notNull(),
  kekVersion: integer('kek_version').notNull(),
  receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
});
