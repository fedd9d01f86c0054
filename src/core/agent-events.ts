import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type { CustomerKeyStore } from '../archive/customer-keys.js';
import type { KeyRing } from '../archive/keyring.js';
import { sealJson } from '../archive/envelope.js';
import type { AgentEvent, AgentPostEvent, AgentReactionEvent } from '../chat/platform.js';
import { indexOutboxRow } from '../compliance/search-index.js';
import type { Db } from '../db/client.js';
import { customers, messages, outbox } from '../db/schema/index.js';
import type { Logger } from '../log.js';
import type { OutboundContent } from './outbound-content.js';

export interface CaptureDeps {
  db: Db;
  keys: CustomerKeyStore;
  logger: Logger;
  /** Posts starting with this are notes for colleagues, never sent. */
  notePrefix: string;
  /** Enqueues the send job inside the transaction. */
  enqueueSend(tx: Db, job: { outboxId: string; customerId: string }): Promise<void>;
  /** Runs a `!wa …` command typed as a post (never sent to the customer). */
  runCommand(event: AgentPostEvent, commandLine: string): Promise<void>;
  /** When given, agent replies are indexed for search in the transaction that queues them. */
  ring?: KeyRing;
}

export type CaptureOutcome = 'queued' | 'duplicate' | 'ignored' | 'note' | 'command' | 'not_customer_channel';

/**
 * Turns one agent event into at most one outbox row plus its send job, in one transaction.
 * Idempotent: the same post seen live and again during catch-up (or by two replicas) is queued
 * once (UNIQUE source_key). Advances the channel's catch-up cursor. Database I/O only, except
 * commands, which answer in the channel.
 */
export async function captureAgentEvent(deps: CaptureDeps, event: AgentEvent): Promise<CaptureOutcome> {
  if (event.fromBot) return 'ignored';
  const [customer] = await deps.db.select({ id: customers.id, keyVersion: customers.keyVersion }).from(customers)
    .where(eq(customers.chatChannelId, event.channel)).limit(1);
  if (!customer) return 'not_customer_channel';
  if (event.kind === 'post') return capturePost(deps, customer, event);
  return captureReaction(deps, customer, event);
}

async function advanceCursor(tx: Db, customerId: string, at: number) {
  await tx.update(customers).set({ chatCursor: sql`greatest(coalesce(${customers.chatCursor}, 0), ${at})` }).where(eq(customers.id, customerId));
}

async function capturePost(deps: CaptureDeps, customer: { id: string; keyVersion: number }, e: AgentPostEvent): Promise<CaptureOutcome> {
  const text = e.text.trim();
  if (e.system) { await advanceCursor(deps.db, customer.id, e.createdAt); return 'ignored'; }
  if (text.startsWith(deps.notePrefix)) { await advanceCursor(deps.db, customer.id, e.createdAt); return 'note'; }
  const command = /^!wa(\s+|$)/i.exec(text);
  if (command) {
    // Run once: the source key records that this post was handled, like any other post.
    const fresh = await claimSourceKey(deps, customer, e, `command:${e.post}`);
    if (fresh) await deps.runCommand(e, text.slice(command[0].length));
    return fresh ? 'command' : 'duplicate';
  }
  if (!text && e.files.length === 0) { await advanceCursor(deps.db, customer.id, e.createdAt); return 'ignored'; }
  const content: OutboundContent = e.files.length
    ? { kind: 'media', text, files: e.files, rootPost: e.rootPost }
    : { kind: 'text', text, rootPost: e.rootPost };
  return insertOutbox(deps, customer, { sourceKey: `post:${e.post}`, chatPostId: e.post, channel: e.channel, at: e.createdAt, content });
}

async function captureReaction(deps: CaptureDeps, customer: { id: string; keyVersion: number }, e: AgentReactionEvent): Promise<CaptureOutcome> {
  // Only reactions on customer messages become WhatsApp reactions.
  const [target] = await deps.db.select({ id: messages.id }).from(messages)
    .where(and(eq(messages.chatPostId, e.post), eq(messages.direction, 'inbound'), eq(messages.customerId, customer.id))).limit(1);
  if (!target) return 'ignored';
  if (!e.emoji) {
    deps.logger.info({ emojiName: e.emojiName }, 'agent reaction has no Unicode equivalent; not sent to WhatsApp');
    return 'ignored';
  }
  const content: OutboundContent = { kind: 'reaction', targetMessageId: target.id, emoji: e.on ? e.emoji : '' };
  return insertOutbox(deps, customer, {
    sourceKey: `reaction:${e.post}:${e.authorId}:${e.emojiName}:${e.on ? 'on' : 'off'}:${e.at}`,
    chatPostId: null, channel: e.channel, at: undefined, content,
  });
}

async function claimSourceKey(deps: CaptureDeps, customer: { id: string; keyVersion: number }, e: AgentPostEvent, sourceKey: string): Promise<boolean> {
  return deps.db.transaction(async (tx) => {
    const dek = await deps.keys.get(tx, customer.id, customer.keyVersion);
    const id = randomUUID();
    const inserted = await tx.insert(outbox).values({
      id, customerId: customer.id, sourceKey, chatPostId: e.post, chatChannelId: e.channel, kind: 'command', state: 'sent',
      contentEnc: sealJson(dek, { table: 'outbox', column: 'content_enc', rowId: id, keyVersion: customer.keyVersion }, { kind: 'command' }),
      keyVersion: customer.keyVersion,
    }).onConflictDoNothing({ target: outbox.sourceKey }).returning({ id: outbox.id });
    await advanceCursor(tx, customer.id, e.createdAt);
    return inserted.length > 0;
  });
}

async function insertOutbox(
  deps: CaptureDeps,
  customer: { id: string; keyVersion: number },
  row: { sourceKey: string; chatPostId: string | null; channel: string; at?: number; content: OutboundContent },
): Promise<CaptureOutcome> {
  return deps.db.transaction(async (tx) => {
    const dek = await deps.keys.get(tx, customer.id, customer.keyVersion);
    const id = randomUUID();
    const inserted = await tx.insert(outbox).values({
      id,
      customerId: customer.id,
      sourceKey: row.sourceKey,
      chatPostId: row.chatPostId,
      chatChannelId: row.channel,
      kind: row.content.kind,
      contentEnc: sealJson(dek, { table: 'outbox', column: 'content_enc', rowId: id, keyVersion: customer.keyVersion }, row.content),
      keyVersion: customer.keyVersion,
    }).onConflictDoNothing({ target: outbox.sourceKey }).returning({ id: outbox.id });
    if (row.at !== undefined) await advanceCursor(tx, customer.id, row.at);
    if (inserted.length === 0) return 'duplicate' as const;
    await deps.enqueueSend(tx, { outboxId: id, customerId: customer.id });
    if (deps.ring) await indexOutboxRow(tx, deps.ring, id, row.content);
    return 'queued' as const;
  });
}

/** Queues a template (from `/wa template`) like an agent post, keyed by the command's id. */
export async function queueTemplate(
  deps: Pick<CaptureDeps, 'db' | 'keys' | 'enqueueSend' | 'logger' | 'ring'>,
  customer: { id: string; keyVersion: number },
  row: { sourceKey: string; chatPostId: string | null; channel: string; content: Extract<OutboundContent, { kind: 'template' }> },
): Promise<CaptureOutcome> {
  return insertOutbox({ ...deps, notePrefix: '', runCommand: async () => {} }, customer, { ...row, at: undefined });
}
