import { integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { bytea } from './types.js';

/** Deployment-wide values Relais keeps for itself, e.g. the wrapped blind-index root key. */
export const settings = pgTable('settings', {
  key: text('key').primaryKey(),
  value: bytea('value').notNull(),
  /** Version of the master key that wraps `value`, when `value` is wrapped. */
  kekVersion: integer('kek_version'),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});
