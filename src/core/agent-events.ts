import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { intArray } from '../db/array-literal.js';
import type { CustomerKeyStore } from '../archive/customer-keys.js';
import type { KeyRing } from '../archive/keyring.js';
import { sealJson } from '../archive/envelope.js';
import type { AgentEvent, AgentPostEvent, AgentReactionEvent } from '../chat/platform.js';
import { outboxTokenHashes } from '../compliance/search-index.js';
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
  /**
   * Customer of a chat channel, remembered for a short time (a lookup per agent post otherwise).
   * Entries are dropped when a capture fails, so an erased or retired customer is looked up again.
   */
  channelCache?: Map<string, { id: string; keyVersion: number; at: number }>;
}

/** How long a channel → customer entry is trusted. */
const CHANNEL_CACHE_MS = 60_000;

export type CaptureOutcome = 'queued' | 'duplicate' | 'ignored' | 'note' | 'command' | 'not_customer_channel';

/**
 * Turns one agent event into at most one outbox row plus its send job, in one transaction.
 * Idempotent: the same post seen live and again during catch-up (or by two replicas) is queued
 * once (UNIQUE source_key). Advances the channel's catch-up cursor. Database I/O only, except
 * commands, which answer in the channel.
 */
export async function captureAgentEvent(deps: CaptureDeps, event: AgentEvent): Promise<CaptureOutcome> {
  if (event.fromBot) return 'ignored';
  const cached = deps.channelCache?.get(event.channel);
  let customer: { id: string; keyVersion: number } | undefined = cached && Date.now() - cached.at < CHANNEL_CACHE_MS ? cached : undefined;
  if (!customer) {
    [customer] = await deps.db.select({ id: customers.id, keyVersion: customers.keyVersion }).from(customers)
      .where(eq(customers.chatChannelId, event.channel)).limit(1);
    if (!customer) return 'not_customer_channel';
    deps.channelCache?.set(event.channel, { ...customer, at: Date.now() });
  }
  try {
    return event.kind === 'post' ? await capturePost(deps, customer, event) : await captureReaction(deps, customer, event);
  } catch (err) {
    deps.channelCache?.delete(event.channel);
    throw err;
  }
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
    const contentEnc = sealJson(dek, { table: 'outbox', column: 'content_enc', rowId: id, keyVersion: customer.keyVersion }, row.content);
    const tokens = deps.ring ? outboxTokenHashes(deps.ring, row.content) : [];
    // One statement: the outbox row (a no-op when the post was seen before), the channel's
    // catch-up cursor, and the reply's search postings.
    const result = await tx.execute<{ id: string }>(sql`
      with o as (
        insert into ${outbox} (id, customer_id, source_key, chat_post_id, chat_channel_id, kind, content_enc, key_version)
        values (${id}::uuid, ${customer.id}::uuid, ${row.sourceKey}, ${row.chatPostId}, ${row.channel}, ${row.content.kind},
          ${Buffer.from(contentEnc.buffer, contentEnc.byteOffset, contentEnc.byteLength)}::bytea, ${customer.keyVersion}::int)
        on conflict (source_key) do nothing
        returning id, customer_id, created_at
      ), cursor as (
        update ${customers} set chat_cursor = greatest(coalesce(${customers.chatCursor}, 0), ${row.at ?? 0}::bigint)
        where ${customers.id} = ${customer.id}::uuid and ${row.at !== undefined}
      ), postings as (
        insert into outbox_tokens (token, created_at, outbox_id, customer_id)
        select t.token, o.created_at, o.id, o.customer_id from o, unnest(${intArray(tokens)}::int[]) as t(token)
        on conflict do nothing
      )
      select id from o`);
    const inserted = Array.isArray(result) ? result : (result as unknown as { rows: { id: string }[] }).rows;
    if (inserted.length === 0) return 'duplicate' as const;
    await deps.enqueueSend(tx, { outboxId: id, customerId: customer.id });
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
