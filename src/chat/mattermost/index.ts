/**
 * The Mattermost implementation of the `ChatPlatform` port: a bot account (personal access token) using
 * REST v4 through `@mattermost/client`'s Client4 and its WebSocketClient. See channels.ts, posts.ts and
 * emoji.ts for the customer side, agent-side.ts and listener.ts for the agent side, slash-command.ts for
 * `/wa`.
 */
import type { UserProfile } from '@mattermost/types/users';
import type { ChatAgentSide, ChatChannelRef, ChatPlatform, ChatPostRef, SlashCommandCapability } from '../platform.js';
import type { Logger } from '../../log.js';
import { AgentSide } from './agent-side.js';
import { ChannelManager } from './channels.js';
import { call, httpStatus, RelaisClient4, serverErrorId } from './client.js';
import { emojiToMattermostName } from './emoji.js';
import { DEFAULT_LISTENER_SETTINGS, listen as startListener, type ListenerSettings } from './listener.js';
import { PostService } from './posts.js';
import { MattermostSlashCommands } from './slash-command.js';

export { emojiToMattermostName, mattermostNameToEmoji } from './emoji.js';

export interface MattermostPlatformOptions {
  /** Base URL of the server, e.g. `https://chat.example.com` (no `/api/v4`). */
  url: string;
  /** The bot account's access token. */
  token: string;
  logger: Logger;
  fetchImpl?: typeof fetch;
  /** If set, `connect()` also resolves this team and makes sure the bot is a member. */
  team?: string;
  /** Per-request timeout (default 30 s); uploads get `uploadTimeoutMs` (default 5 min). */
  requestTimeoutMs?: number;
  uploadTimeoutMs?: number;
  /** How long a checked channel membership is trusted before it is checked again (default 10 min). */
  memberTtlMs?: number;
  /**
   * WebSocket tuning (see listener.ts): reconnect backoff `minRetryMs` 1 s → `maxRetryMs` 30 s plus up to
   * `jitterMs` 1 s, application ping every `pingIntervalMs` 30 s, `handshakeTimeoutMs` 30 s.
   */
  websocket?: Partial<ListenerSettings>;
}

/** What `createMattermostPlatform` returns: the whole port, agent side and slash commands included. */
export type MattermostPlatform = ChatPlatform & ChatAgentSide & { readonly slashCommands: SlashCommandCapability };

// Refs are Mattermost ids; only this adapter mints and reads them.
const channelRef = (id: string): ChatChannelRef => id as ChatChannelRef;
const postRef = (id: string): ChatPostRef => id as ChatPostRef;

/**
 * Creates the adapter. No I/O until the first call; `connect()` checks the token early. Every method
 * throws `RelaisError` (retryable for network errors, timeouts, 5xx and 429) except `checkReady`.
 */
export function createMattermostPlatform(opts: MattermostPlatformOptions): MattermostPlatform {
  const api = new RelaisClient4(
    opts.url,
    opts.token,
    opts.fetchImpl ?? globalThis.fetch,
    opts.requestTimeoutMs ?? 30_000,
    opts.uploadTimeoutMs ?? 300_000,
  );
  const logger = opts.logger;

  let me: Promise<UserProfile> | undefined;
  const bot = (): Promise<UserProfile> => {
    if (!me) {
      me = call('getMe', () => api.getMe());
      me.catch(() => {
        me = undefined;
      });
    }
    return me;
  };
  const botUserId = async (): Promise<string> => (await bot()).id;

  const channels = new ChannelManager({ api, logger, botUserId, memberTtlMs: opts.memberTtlMs ?? 600_000 });
  const posts = new PostService({ api, logger, botUserId });
  const agent = new AgentSide({ api, logger, botUserId, posts });
  const slashCommands = new MattermostSlashCommands({ api, logger, botUserId, ensureTeam: (team) => channels.ensureTeam(team) });
  const listening = new Set<() => Promise<void>>();
  let closed = false;

  return {
    kind: 'mattermost',
    capabilities: { threads: true, reactions: true },

    async connect() {
      const user = await bot();
      if (!user.is_bot) logger.warn({ user: user.username }, 'mattermost token belongs to a regular user, not a bot account');
      if (opts.team) await channels.ensureTeam(opts.team);
      logger.info({ user: user.username }, 'mattermost connected');
    },

    async checkReady() {
      try {
        await call('ping', () => api.ping(false));
        await call('getMe', () => api.getMe());
        return { ok: true };
      } catch (err) {
        const status = httpStatus(err);
        const code = (err as { code?: string }).code ?? 'chat_unexpected';
        return { ok: false, detail: status ? `mattermost ${code} (HTTP ${status})` : `mattermost ${code}` };
      }
    },

    async ensureCustomerChannel(spec) {
      return channelRef(await channels.ensureCustomerChannel(spec));
    },

    async updateCustomerChannel(channel, patch) {
      await channels.updateCustomerChannel(channel, patch);
    },

    async postMessage(channel, post) {
      return postRef(await posts.postMessage(channel, post));
    },

    async findPostByRelaisId(channel, relaisId, since) {
      const id = await posts.findPostByRelaisId(channel, relaisId, since);
      return id === null ? null : postRef(id);
    },

    async threadRootOf(post) {
      return postRef(await posts.threadRootOf(post));
    },

    deletePost: (post) => posts.deletePost(post),
    deleteCustomerChannel: (channel) => channels.deleteCustomerChannel(channel),
    archiveCustomerChannel: (channel) => channels.archiveCustomerChannel(channel),

    async setReaction(post, emoji, on) {
      const name = emojiToMattermostName(emoji);
      if (!name) return false;
      const userId = await botUserId();
      try {
        if (on) await call('addReaction', () => api.addReaction(userId, post, name));
        else await call('removeReaction', () => api.removeReaction(userId, post, name));
      } catch (err) {
        // A server built from other emoji data may not know the name: fall back like an unknown emoji.
        if (on && serverErrorId(err) === 'app.emoji.get_by_name.no_result') {
          return false;
        }
        throw err;
      }
      return true;
    },

    async listen(handlers) {
      // Resolve the bot early so the first events map without waiting; a failure here is retried lazily.
      await botUserId().catch((err: unknown) => logger.warn({ code: (err as { code?: string }).code }, 'mattermost bot identity not resolved yet'));
      const stop = await startListener({
        url: opts.url,
        token: opts.token,
        logger,
        settings: { ...DEFAULT_LISTENER_SETTINGS, ...opts.websocket },
        toEvent: (msg) => agent.fromWebSocket(msg),
      }, handlers);
      const stopOnce = async () => {
        listening.delete(stopOnce);
        await stop();
      };
      if (closed) await stop(); // close() ran while the first connection was being made
      else listening.add(stopOnce);
      return stopOnce;
    },

    postsSince: (channel, sinceMs) => agent.postsSince(channel, sinceMs),
    downloadFile: (file) => agent.downloadFile(file),
    postNotice: (channel, text, rootPost) => agent.postNotice(channel, text, rootPost),

    slashCommands,

    async close() {
      // REST needs nothing released; open WebSocket listeners are stopped.
      closed = true;
      await Promise.all([...listening].map((stop) => stop()));
    },
  };
}
