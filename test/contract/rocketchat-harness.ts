/**
 * The Rocket.Chat harness of the ChatPlatform contract: a fresh fake per call (real `@rocket.chat/sdk`
 * DDP driver and plain `fetch` over real HTTP and WebSocket), a bot user with the `bot` role whose role
 * also holds `unarchive-room` (as the setup guide asks: restoring an archived customer group needs it),
 * two agents, and the fake's inspectors and faults translated into the port's terms. The SDK reconnects
 * after 50 ms here instead of 10 s so reconnection tests stay short.
 *
 * How Rocket.Chat's shapes map onto the neutral harness:
 * - a channel's `displayName` is the group's announcement and its `header` the topic (room names are
 *   limited to `[0-9a-zA-Z-_.]` by default, see src/chat/rocketchat/channels.ts);
 * - a post's `meta` is the message's `bot` object (Relais' marker) and `customFields`, when present;
 * - Rocket.Chat 6/7 hold one file per message, so a Relais post with files is its anchor message
 *   followed by one message per file; `files(ref)` of an anchor returns the files of the messages the
 *   anchor lists (`bot.files`, upload ids), found in the room's history — never the uploads themselves,
 *   so a file counts only once it has really been posted.
 */
import { pino, type Logger } from 'pino';
import type { ChatChannelRef, ChatPostRef } from '../../src/chat/platform.js';
import { createRocketChatPlatform, emojiToRocketChatName, type RocketChatPlatform, type RocketChatPlatformOptions } from '../../src/chat/rocketchat/index.js';
import { startRocketChatFake, type MessageDoc, type RocketChatFake, type RocketChatFakeOptions } from '../fakes/rocketchat/index.js';
import type { ContractHarness, FaultOp, HarnessFile } from './chat-platform.contract.js';

/** Realtime settings for tests: the SDK's own reconnection, after 50 ms. */
export const FAST_REALTIME = { reconnectMs: 50 };

export type HarnessPlatformOptions = Partial<Omit<RocketChatPlatformOptions, 'logger'>> & { logger?: Logger };

export interface RocketChatHarness extends ContractHarness {
  platform: RocketChatPlatform;
  fake: RocketChatFake;
  botId: string;
  botToken: string;
  aliceId: string;
  aliceToken: string;
  makePlatform(opts?: HarnessPlatformOptions): RocketChatPlatform;
  /** A REST call as alice (an agent). */
  asAlice<T>(method: 'GET' | 'POST', endpoint: string, body?: Record<string, unknown>): Promise<T>;
  /** The stored message with that id, wherever it is. */
  message(id: string): MessageDoc | undefined;
}

const PATTERNS: Record<FaultOp, RegExp> = {
  post: /^POST \/api\/v1\/chat\.sendMessage$/,
  channelLookup: /^GET \/api\/v1\/groups\.info$/,
  channelCreate: /^POST \/api\/v1\/groups\.create$/,
  any: /^/,
};

export async function makeRocketChatHarness(fakeOpts: RocketChatFakeOptions = {}): Promise<RocketChatHarness> {
  const fake = await startRocketChatFake({ rolePermissions: { 'unarchive-room': ['admin', 'bot'] }, ...fakeOpts });
  const bot = fake.addUser({ username: 'relais-bot', roles: ['bot'], name: 'Relais' });
  const alice = fake.addUser({ username: 'alice', name: 'Alice' });
  fake.addUser({ username: 'bruno', name: 'Bruno' });
  const logger = pino({ level: 'silent' });
  const makePlatform = (opts: HarnessPlatformOptions = {}): RocketChatPlatform =>
    createRocketChatPlatform({ url: fake.url, userId: bot.userId, token: bot.token, logger, ...opts, realtime: { ...FAST_REALTIME, ...opts.realtime } });
  const platform = makePlatform();

  const call = async <T>(who: { userId: string; token: string }, method: 'GET' | 'POST', endpoint: string, body?: Record<string, unknown>): Promise<T> => {
    const res = await fetch(`${fake.url}/api/v1/${endpoint}`, {
      method,
      headers: { 'X-User-Id': who.userId, 'X-Auth-Token': who.token, ...(body && { 'Content-Type': 'application/json' }) },
      ...(body && { body: JSON.stringify(body) }),
    });
    const json = (await res.json()) as T & { success?: boolean };
    if (!res.ok || json.success === false) throw new Error(`${method} ${endpoint} failed: HTTP ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const message = (id: string): MessageDoc | undefined => {
    for (const room of fake.rooms()) {
      const m = fake.messages(room._id).find((x) => x._id === id);
      if (m) return m;
    }
    return undefined;
  };
  const download = async (fileId: string, fallbackName: string): Promise<HarnessFile> => {
    // Through the real download handler, with the bot's credentials, as an operator tool would.
    const res = await fetch(`${fake.url}/file-upload/${fileId}/${encodeURIComponent(fallbackName)}`, { headers: { 'X-User-Id': bot.userId, 'X-Auth-Token': bot.token } });
    if (!res.ok) throw new Error(`download failed: ${res.status}`);
    const disposition = res.headers.get('content-disposition') ?? '';
    const quoted = /filename="([^"]*)"/.exec(disposition)?.[1];
    return { name: quoted ? decodeURI(quoted) : fallbackName, mimeType: res.headers.get('content-type') ?? '', data: new Uint8Array(await res.arrayBuffer()) };
  };
  const originals = (m: MessageDoc) => (m.files ?? (m.file ? [m.file] : [])).filter((f) => f.typeGroup !== 'thumb');

  return {
    fake,
    botId: bot.userId,
    botToken: bot.token,
    aliceId: alice.userId,
    aliceToken: alice.token,
    makePlatform,
    platform,
    secondPlatform: () => makePlatform(),
    team: 'support',
    agents: ['alice', 'bruno'],
    unknownAgent: 'nobody-here',
    asAlice: (method, endpoint, body) => call(alice, method, endpoint, body),
    message,

    async channels(key) {
      const rooms = fake.rooms().filter((r) => r.name === `wa-${key}`);
      return Promise.all(rooms.map(async (r) => {
        let members: string[] = [];
        if (!r.archived) {
          const res = await call<{ members: { username: string }[] }>(bot, 'GET', `groups.members?roomId=${r._id}&count=100`);
          members = res.members.map((m) => m.username);
        }
        return {
          ref: r._id as ChatChannelRef,
          name: r.name,
          displayName: r.announcement ?? '',
          header: r.topic ?? '',
          private: r.t === 'p',
          archived: r.archived === true,
          members,
        };
      }));
    },
    async channelByRef(ref) {
      const r = fake.rooms().find((x) => x._id === ref);
      return r && {
        ref, name: r.name, displayName: r.announcement ?? '', header: r.topic ?? '', private: r.t === 'p', archived: r.archived === true,
        members: fake.roomMembers(r._id),
      };
    },
    async liveFileCount(ref) {
      // Uploads that became a message still in the room (deleting a message deletes its upload).
      const posted = new Set(fake.messages(ref).flatMap((m) => originals(m).map((f) => f._id)));
      return fake.files.filter((f) => f.rid === ref && posted.has(f._id)).length;
    },
    forbidChannelDeletion(forbid) {
      fake.setPermission(bot.userId, 'delete-p', !forbid);
    },
    async archive(ref) {
      await call(bot, 'POST', 'groups.archive', { roomId: ref });
    },
    async posts(ref) {
      return fake.messages(ref)
        .filter((m) => !m.t)
        .map((m) => ({
          ref: m._id as ChatPostRef,
          text: m.msg,
          rootRef: m.tmid ? (m.tmid as ChatPostRef) : undefined,
          authorIsBot: m.u._id === bot.userId,
          meta: { ...(m.bot !== undefined && { bot: m.bot }), ...(m.customFields !== undefined && { customFields: m.customFields }) },
        }));
    },
    async files(postRef) {
      const m = message(postRef);
      if (!m) throw new Error(`no message ${postRef}`);
      const own = originals(m);
      if (own.length > 0) return Promise.all(own.map((f) => download(f._id, f.name)));
      const listed = ((m.bot as { files?: unknown } | undefined)?.files ?? []) as string[];
      const posted = fake.messages(m.rid).filter((x) => x.u._id === bot.userId).flatMap(originals);
      return Promise.all(listed.map((id) => {
        const f = posted.find((p) => p._id === id);
        if (!f) throw new Error(`listed upload ${id} was never posted`);
        return download(f._id, f.name);
      }));
    },
    async botReactions(postRef) {
      const m = message(postRef);
      return Object.entries(m?.reactions ?? {}).filter(([, r]) => r.usernames.includes('relais-bot')).map(([name]) => name);
    },
    async agentPost(ref, text, opts = {}) {
      const fileIds = (opts.files ?? []).map((f) => fake.agentUpload('alice', ref, { name: f.name, type: f.mimeType, data: f.data }));
      return fake.agentSend('alice', ref, text, { ...(opts.rootPost && { tmid: opts.rootPost }), fileIds })._id as ChatPostRef;
    },
    async agentReact(post, emoji, on) {
      const shortcode = emojiToRocketChatName(emoji);
      if (!shortcode) throw new Error(`no Rocket.Chat shortcode for ${emoji}`);
      await call(alice, 'POST', 'chat.react', { messageId: post, emoji: shortcode, shouldReact: on });
    },
    dropConnections() {
      fake.dropWebSockets();
    },

    failNext(op, opts) {
      fake.failNext(PATTERNS[op], {
        status: opts.status,
        times: opts.times,
        headers: opts.retryAfterSeconds === undefined ? undefined : { 'Retry-After': String(opts.retryAfterSeconds) },
      });
    },
    resetAfterAccept(op) {
      fake.resetAfterAccept(PATTERNS[op]);
    },

    protocolViolations: () => fake.specViolations.map((v) => `${v.method} ${v.path}: ${v.problem}`),
    async close() {
      await platform.close();
      await fake.close();
    },
  };
}
