/**
 * The Rocket.Chat implementation of the `ChatPlatform` port: a user with the `bot` role and a personal
 * access token (`ROCKETCHAT_USER_ID` + `ROCKETCHAT_TOKEN`), REST v1 through plain `fetch` (rest.ts) and
 * the realtime API through `@rocket.chat/sdk`'s DDP driver (listener.ts). See channels.ts, posts.ts and
 * emoji.ts for the customer side, agent-side.ts and listener.ts for the agent side.
 *
 * Rocket.Chat has no server-side slash commands for bots: `slashCommands` stays undefined and agents
 * use `!wa …` messages. Setup the server needs (see the setup guide): the bot role (it has
 * `message-impersonate`, `api-bypass-rate-limit`, `create-p`) plus `unarchive-room` to restore
 * archived customer groups; `access-permissions` only if agents are given as `role:<name>`.
 */
import type { ChatAgentSide, ChatChannelRef, ChatPlatform, ChatPostRef } from '../platform.js';
import { RelaisError } from '../../core/errors.js';
import type { Logger } from '../../log.js';
import { AgentSide } from './agent-side.js';
import { ChannelManager } from './channels.js';
import { emojiToRocketChatName } from './emoji.js';
import { DEFAULT_REALTIME_SETTINGS, listen as startListener, type RealtimeSettings } from './listener.js';
import { DEFAULT_MAX_MESSAGE_LENGTH, PostService } from './posts.js';
import { errorIdOfError, httpErrorOf, RocketChatRest } from './rest.js';

export { emojiToRocketChatName, rocketChatNameToEmoji } from './emoji.js';
export { messageIdFor } from './ids.js';

export interface RocketChatPlatformOptions {
  /** Base URL of the server, e.g. `https://chat.example.com` (REST at `/api/v1`, DDP at `/websocket`). */
  url: string;
  /** The bot user's id (`X-User-Id`). */
  userId: string;
  /** The bot user's personal access token (`X-Auth-Token`, DDP `resume`). */
  token: string;
  logger: Logger;
  fetchImpl?: typeof fetch;
  /** Per-request timeout (default 30 s); uploads and downloads get `uploadTimeoutMs` (default 5 min). */
  requestTimeoutMs?: number;
  uploadTimeoutMs?: number;
  /** How long a checked group membership is trusted before it is checked again (default 10 min). */
  memberTtlMs?: number;
  /** The server's `Message_MaxAllowedSize` (default 5000): longer text is split over several messages. */
  maxMessageLength?: number;
  /** Realtime tuning (see listener.ts): reconnection delay (default 10 s), subscription pruning. */
  realtime?: Partial<RealtimeSettings>;
}

/** What `createRocketChatPlatform` returns: the whole port, agent side included, no slash commands. */
export type RocketChatPlatform = ChatPlatform & ChatAgentSide;

/**
 * Creates the adapter. No I/O until the first call; `connect()` checks the credentials early. Every
 * method throws `RelaisError` (retryable for network errors, timeouts, 5xx and 429) except `checkReady`.
 */
export function createRocketChatPlatform(opts: RocketChatPlatformOptions): RocketChatPlatform {
  const rest = new RocketChatRest({
    url: opts.url,
    userId: opts.userId,
    token: opts.token,
    fetchImpl: opts.fetchImpl ?? globalThis.fetch,
    timeoutMs: opts.requestTimeoutMs ?? 30_000,
    uploadTimeoutMs: opts.uploadTimeoutMs ?? 300_000,
  });
  const logger = opts.logger;
  const maxMessageLength = opts.maxMessageLength ?? DEFAULT_MAX_MESSAGE_LENGTH;

  let me: Promise<{ username: string; roles?: string[] }> | undefined;
  const bot = (): Promise<{ username: string; roles?: string[] }> => {
    if (!me) {
      me = rest.get<{ _id: string; username: string; roles?: string[] }>('me', 'me').then((u) => {
        if (u._id !== opts.userId) {
          throw new RelaisError('chat_auth_failed', 'ROCKETCHAT_TOKEN belongs to another user than ROCKETCHAT_USER_ID', { retryable: false });
        }
        return u;
      });
      me.catch(() => {
        me = undefined;
      });
    }
    return me;
  };
  const botUsername = async (): Promise<string> => (await bot()).username;

  const channels = new ChannelManager({ rest, logger, botUserId: opts.userId, memberTtlMs: opts.memberTtlMs ?? 600_000 });
  const posts = new PostService({ rest, logger, botUserId: opts.userId, maxMessageLength });
  const agent = new AgentSide({ rest, logger, botUserId: opts.userId, botUsername, posts, maxMessageLength });
  const listening = new Set<() => Promise<void>>();
  let closed = false;

  return {
    kind: 'rocketchat',
    capabilities: { threads: true, reactions: true },

    async connect() {
      const user = await bot();
      if (!(user.roles ?? []).includes('bot')) {
        logger.warn({ user: user.username }, 'rocketchat user has no bot role: it may be rate limited and refused alias, uploads or group creation');
      }
      logger.info({ user: user.username }, 'rocketchat connected');
    },

    async checkReady() {
      try {
        await rest.get('me', 'me');
        return { ok: true };
      } catch (err) {
        const status = httpErrorOf(err)?.status;
        const code = (err as { code?: string }).code ?? 'chat_unexpected';
        const id = errorIdOfError(err);
        return { ok: false, detail: `rocketchat ${code}${status ? ` (HTTP ${status}${id ? ` ${id}` : ''})` : ''}` };
      }
    },

    async ensureCustomerChannel(spec) {
      return (await channels.ensureCustomerChannel(spec)) as ChatChannelRef;
    },

    async updateCustomerChannel(channel, patch) {
      await channels.updateCustomerChannel(channel, patch);
    },

    async postMessage(channel, post) {
      await channels.assertNotArchived(channel);
      return (await posts.postMessage(channel, post)) as ChatPostRef;
    },

    async findPostByRelaisId(channel, relaisId, since) {
      const id = await posts.findPostByRelaisId(channel, relaisId, since);
      return id === null ? null : (id as ChatPostRef);
    },

    async threadRootOf(post) {
      return (await posts.threadRootOf(post)) as ChatPostRef;
    },

    deletePost: (post) => posts.deletePost(post),
    deleteCustomerChannel: (channel) => channels.deleteCustomerChannel(channel),
    archiveCustomerChannel: (channel) => channels.archiveCustomerChannel(channel),

    async setReaction(post, emoji, on) {
      const shortcode = emojiToRocketChatName(emoji);
      if (!shortcode) return false;
      try {
        // `shouldReact` explicit: without it chat.react toggles.
        await rest.post('chat.react', 'chat.react', { messageId: post, emoji: shortcode, shouldReact: on });
      } catch (err) {
        // A server whose emoji table lacks the name refuses it like an unknown emoji.
        if (on && errorIdOfError(err) === 'error-not-allowed' && (httpErrorOf(err)?.serverError ?? '').includes('Invalid emoji')) return false;
        throw err;
      }
      return true;
    },

    async listen(handlers) {
      await bot().catch((err: unknown) => logger.warn({ code: (err as { code?: string }).code }, 'rocketchat bot identity not resolved yet'));
      const stop = await startListener({
        url: opts.url,
        userId: opts.userId,
        token: opts.token,
        logger,
        settings: { ...DEFAULT_REALTIME_SETTINGS, ...opts.realtime },
        toEvents: (message) => agent.fromStream(message),
      }, handlers);
      const stopOnce = async () => {
        listening.delete(stopOnce);
        await stop();
      };
      if (closed) await stop();
      else listening.add(stopOnce);
      return stopOnce;
    },

    postsSince: (channel, sinceMs) => agent.postsSince(channel, sinceMs),
    downloadFile: (file) => agent.downloadFile(file),
    postNotice: (channel, text, rootPost) => agent.postNotice(channel, text, rootPost),

    async close() {
      closed = true;
      await Promise.all([...listening].map((stop) => stop()));
    },
  };
}
