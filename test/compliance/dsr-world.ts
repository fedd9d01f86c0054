/**
 * Data-subject-request tests on the whole world (chat fake, Graph fake, a real Relais runtime with
 * its real database): real signed webhooks from customers, agents answering in the chat fake,
 * delivery statuses coming back, then the compliance services called as `relais export|erase|hold`
 * would call them — from another "process": a fresh key store and a fresh chat adapter.
 */
import { expect } from 'vitest';
import { blindIndex } from '../../src/archive/blind-index.js';
import { CustomerKeyStore } from '../../src/archive/customer-keys.js';
import type { ChatPlatform } from '../../src/chat/platform.js';
import type { ComplianceDeps } from '../../src/compliance/deps.js';
import { loadConfig } from '../../src/config/load.js';
import { buildMessageWebhook, buildStatusWebhook, type InboundContent, type StatusName } from '../fakes/graph-api.js';
import type { ChatKind } from '../helpers/chat-world.js';
import { captureLogger } from '../helpers/logger.js';
import { eventually, FIXTURE_NUMBERS, type TestRelais } from '../helpers/relais.js';
import { startWorld, type World } from '../helpers/world.js';

export const BUSINESS = { wabaId: '102290129340398', phoneNumberId: FIXTURE_NUMBERS[0]!, displayPhoneNumber: '15550783881' };
export const OTHER_BUSINESS = { wabaId: '102290129340398', phoneNumberId: FIXTURE_NUMBERS[1]!, displayPhoneNumber: '15550001111' };

export interface Person { waId: string; name: string }

export async function startDsrWorld(platform: ChatKind, env: Record<string, string> = {}): Promise<World> {
  const w = await startWorld({ platform, env });
  await eventually(async () => w.relais.runtime.outbound?.listener?.isLeader(), 'chat listener elected');
  return w;
}

/** The person sends `content` to `business`; resolves with the wamid once Relais answered 200. */
export async function say(w: World, person: Person, content: InboundContent, opts: { business?: typeof BUSINESS; replyTo?: string; at?: number } = {}): Promise<string> {
  const ctx = { ...(opts.business ?? BUSINESS), lookupMedia: (id: string) => w.graph.fake.media.get(id), now: () => opts.at ?? Date.now() };
  const { payload, wamid } = buildMessageWebhook(ctx, { waId: person.waId, name: person.name }, content, opts.replyTo ? { replyTo: { id: opts.replyTo, from: person.waId } } : {});
  expect((await w.relais.postWebhook(JSON.stringify(payload))).status).toBe(200);
  return wamid;
}

/** A delivery status for an agent message, as Meta would send it. */
export async function status(w: World, recipient: Person, wamid: string, s: StatusName): Promise<void> {
  const payload = buildStatusWebhook(BUSINESS, { wamid, recipientId: recipient.waId, status: s });
  expect((await w.relais.postWebhook(JSON.stringify(payload))).status).toBe(200);
}

/** Waits until every stored customer message is posted in the chat. */
export async function allRelayed(w: World): Promise<void> {
  await eventually(async () => (await w.relais.count('messages', `relay_state <> 'posted'`)) === 0 && (await w.relais.count('messages')) > 0, 'every message relayed');
}

/** The chat channel of the person's conversation with `business` (from Relais' own records). */
export async function channelOf(w: World, person: Person, business = BUSINESS): Promise<string> {
  const bidx = blindIndex(w.relais.runtime.ring, 'phone', person.waId);
  const [row] = await w.relais.query(`select chat_channel_id from customers where phone_bidx = '${bidx}' and phone_number_id = '${business.phoneNumberId}'`);
  if (!row?.chat_channel_id) throw new Error(`no channel for ${person.name}`);
  return String(row.chat_channel_id);
}

/** An agent answers in the channel; resolves with what the Graph fake received. */
export async function agentAnswers(w: World, channel: string, text: string, file?: { name: string; bytes: Uint8Array }) {
  const before = w.graph.fake.messagesSent().length;
  const fileIds = file ? [w.chat.agentUpload('alice', channel, file.name, file.bytes).id] : undefined;
  w.chat.agentPost('alice', channel, text, fileIds ? { fileIds } : {});
  return eventually(async () => w.graph.fake.messagesSent().slice(before).find((m) => m.type !== ('read' as never)), `agent message "${text}" sent`);
}

type DepsOptions = { policy?: 'delete' | 'archive' | 'keep'; platform?: ChatPlatform | null; language?: 'en' | 'fr' };

/**
 * What `relais export|erase|hold` would use: the runtime's database and key ring, but its own key
 * store (another process's cache) and, unless told otherwise, its own chat adapter.
 */
export async function cliDeps(w: World, opts: DepsOptions = {}): Promise<ComplianceDeps & { logs: ReturnType<typeof captureLogger> }> {
  return cliDepsFor(w.relais, { ...opts, platform: opts.platform === undefined ? w.chat.makePlatform() : opts.platform });
}

/** `cliDeps` for a bare Relais without a chat world (no platform unless given). */
export async function cliDepsFor(r: TestRelais, opts: DepsOptions = {}): Promise<ComplianceDeps & { logs: ReturnType<typeof captureLogger> }> {
  const env = { ...r.env, ERASE_CHAT_POLICY: opts.policy ?? 'delete', ...(opts.language && { RELAIS_LANGUAGE: opts.language }) };
  const loaded = await loadConfig(env);
  if (!loaded.config) throw new Error(loaded.problems.join('; '));
  const logs = captureLogger();
  const platform = opts.platform ?? null;
  if (platform) await platform.connect();
  const { ring } = r.runtime;
  return { db: r.runtime.database.db, ring, keys: new CustomerKeyStore(ring), config: loaded.config, logger: logs.logger, platform, logs };
}
