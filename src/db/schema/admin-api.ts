import { integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Admin API rate-limit counters, shared by every replica (rate-limiter-flexible's Drizzle store:
 * one atomic upsert per request). `key` is `<limiter>:<token id or client address>`; rows expire
 * after their one-minute window and are swept an hour later. No other data.
 */
export const adminRateLimits = pgTable('admin_rate_limits', {
  key: text('key').primaryKey(),
  points: integer('points').notNull(),
  expire: timestamp('expire', { withTimezone: true }),
});
