import { bigint, index, integer, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { messages } from './messages.js';
import { bytea } from './types.js';

/** Media of a message, stored in the database as secretstream frames sealed with the customer's key. */
export const media = pgTable('media', {
  id: uuid('id').primaryKey(),
  messageId: uuid('message_id').notNull().references(() => messages.id, { onDelete: 'cascade' }),
  kind: text('kind').notNull(),
  mimeType: text('mime_type'),
  size: bigint('size', { mode: 'number' }),
  filenameEnc: bytea('filename_enc'),
  keyVersion: integer('key_version').notNull(),
  state: text('state', { enum: ['pending', 'stored', 'too_large', 'failed'] }).notNull().default('pending'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [index('media_message_idx').on(t.messageId)]);

export const mediaFrames = pgTable('media_frames', {
  mediaId: uuid('media_id').notNull().references(() => media.id, { onDelete: 'cascade' }),
  seq: integer('seq').notNull(),
  data: bytea('data').notNull(),
}, (t) => [primaryKey({ columns: [t.mediaId, t.seq], name: 'media_frames_pk' })]);
