/**
 * The Mattermost harness of the ChatPlatform contract: a fresh fake per call (real Client4 and
 * WebSocketClient over real HTTP and WebSocket), a bot account that is team admin of the team (as the setup
 * guide asks: unarchiving a channel needs `manage_team`, registering `/wa` needs `manage_slash_commands`),
 * two agents, and the fake's inspectors and faults translated into the port's terms. The adapter's
 * WebSocket retries fast here (tens of milliseconds) so reconnection tests stay short.
 */
import { pino, type Logger } from 'pino';
import mm from '@mattermost/client';
import type { ChatChannelRef, ChatPostRef } from '../../src/chat/platform.js';
import { createMattermostPlatform, emojiToMattermostName, type MattermostPlatform, type MattermostPlatformOptions } from '../../src/chat/mattermost/index.js';
import { startMattermostFake, type MattermostFake } from '../fakes/mattermost/index.js';
import type { ContractHarness, FaultOp } from './chat-platform.contract.js';

/** Reconnection settings for tests: real backoff and jitter, in tens of milliseconds. */
export const FAST_WEBSOCKET = { minRetryMs: 20, maxRetryMs: 200, jitterMs: 20 };

export type HarnessPlatformOptions = Partial<Omit<MattermostPlatformOptions, 'token' | 'logger'>> & { logger?: Logger };

export interface MattermostHarness extends ContractHarness {
  platform: MattermostPlatform;
  fake: MattermostFake;
  botToken: string;
  botId: string;
  aliceToken: string;
  aliceId: string;
  makePlatform(opts?: HarnessPlatformOptions): MattermostPlatform;
}

const PATTERNS: Record<FaultOp, RegExp> = {
  post: /^POST \/api\/v4\/posts$/,
  channelLookup: /^GET \/api\/v4\/teams\/[^/]+\/channels\/name\/[^/]+$/,
  channelCreate: /^POST \/api\/v4\/channels$/,
  any: /^/,
};

export async function makeMattermostHarness(): Promise<MattermostHarness> {
  const fake = await startMattermostFake();
  const { user: bot, token } = fake.addUser({ username: 'relais-bot', isBot: true });
  const { user: alice, token: aliceToken } = fake.addUser({ username: 'alice' });
  fake.addUser({ username: 'bruno' });
  fake.addTeam('support', { open: true });
  fake.addToTeam('support', 'alice', { admin: true });
  fake.addToTeam('support', 'bruno');
  fake.addToTeam('support', 'relais-bot', { admin: true });
  const logger = pino({ level: 'silent' });
  const makePlatform = (opts: HarnessPlatformOptions = {}): MattermostPlatform =>
    createMattermostPlatform({ url: fake.url, token, logger, ...opts, websocket: { ...FAST_WEBSOCKET, ...opts.websocket } });
  const asAlice = new mm.Client4();
  asAlice.setUrl(fake.url);
  asAlice.setToken(aliceToken);
  const platform = makePlatform();

  const channelByRef = (ref: ChatChannelRef) => {
    const c = fake.channels().find((x) => x.id === ref);
    if (!c) throw new Error(`no channel ${ref}`);
    return c;
  };

  return {
    fake,
    botToken: token,
    botId: bot.id,
    aliceToken,
    aliceId: alice.id,
    makePlatform,
    platform,
    secondPlatform: () => makePlatform(),
    team: 'support',
    agents: ['alice', 'bruno'],
    unknownAgent: 'nobody-here',

    async channels(key) {
      return fake.channels()
        .filter((c) => c.name === `wa-${key}`)
        .map((c) => ({
          ref: c.id as ChatChannelRef,
          name: c.name,
          displayName: c.display_name,
          header: c.header,
          private: c.type === 'P',
          archived: c.delete_at !== 0,
          members: fake.channelMemberNames(c.id),
        }));
    },
    async channelByRef(ref) {
      const c = fake.channels().find((x) => x.id === ref);
      return c && {
        ref, name: c.name, displayName: c.display_name, header: c.header, private: c.type === 'P', archived: c.delete_at !== 0,
        members: fake.channelMemberNames(c.id),
      };
    },
    async liveFileCount(ref) {
      const live = new Set(fake.posts(ref).filter((p) => p.delete_at === 0).map((p) => p.id));
      return [...fake.files.values()].filter((f) => f.info.channel_id === ref && f.info.delete_at === 0 && live.has(f.info.post_id ?? '')).length;
    },
    forbidChannelDeletion(forbid) {
      fake.setServiceSettings({ enableAPIChannelDeletion: !forbid });
    },
    async archive(ref) {
      fake.archiveChannel(channelByRef(ref).id, 'alice');
    },
    async posts(ref) {
      return fake.posts(ref)
        .filter((p) => p.type === '' && p.delete_at === 0)
        .map((p) => ({
          ref: p.id as ChatPostRef,
          text: p.message,
          rootRef: p.root_id ? (p.root_id as ChatPostRef) : undefined,
          authorIsBot: p.user_id === bot.id && p.props.from_bot === 'true',
          meta: p.props,
        }));
    },
    async files(postRef) {
      // Through the real download endpoint, with the bot's token, as an operator tool would.
      const post = [...fake.files.values()].filter((f) => f.info.post_id === postRef).sort((a, b) => a.info.create_at - b.info.create_at);
      return Promise.all(post.map(async (f) => {
        const res = await fetch(`${fake.url}/api/v4/files/${f.info.id}`, { headers: { Authorization: `Bearer ${token}` } });
        if (!res.ok) throw new Error(`download failed: ${res.status}`);
        const disposition = res.headers.get('content-disposition') ?? '';
        const star = /filename\*=UTF-8''([^;]+)/.exec(disposition)?.[1];
        return {
          name: star ? decodeURIComponent(star) : f.info.name,
          mimeType: res.headers.get('content-type') ?? '',
          data: new Uint8Array(await res.arrayBuffer()),
        };
      }));
    },
    async botReactions(postRef) {
      return fake.reactions(postRef).filter((r) => r.user_id === bot.id).map((r) => r.emoji_name);
    },
    async agentPost(ref, text, opts = {}) {
      const fileIds = (opts.files ?? []).map((f) => fake.agentUpload('alice', ref, f.name, f.data).id);
      return fake.agentPost('alice', ref, text, { rootId: opts.rootPost, fileIds }).id as ChatPostRef;
    },
    async agentReact(post, emoji, on) {
      const name = emojiToMattermostName(emoji);
      if (!name) throw new Error(`no Mattermost name for ${emoji}`);
      if (on) await asAlice.addReaction(alice.id, post, name);
      else await asAlice.removeReaction(alice.id, post, name);
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
