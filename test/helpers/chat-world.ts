/**
 * A platform-neutral driver over the chat fakes, for end-to-end tests that run the same scenarios on
 * Mattermost and Rocket.Chat. It sets up each fake the way the setup guide asks (a bot, three agents,
 * a group of agents), hands out new adapter instances (`makePlatform`, one per Relais process), and
 * speaks in neutral terms: channels, posts, files, reactions, and agents acting in the web client.
 *
 * Where the platforms differ, the difference lives here, never in the tests:
 *
 * | | Mattermost | Rocket.Chat |
 * | --- | --- | --- |
 * | bot | bot account, team admin of `support` (restoring an archived channel needs it) | user with the `bot` role, `unarchive-room` granted, `view-all-teams` (to read the agents' team) |
 * | group of agents | custom group `@support-fr` (carol) | team `support-fr` (carol), given as `team:support-fr` |
 * | channel display name | `display_name` | the group's announcement (room names are `[0-9a-zA-Z-_.]`) |
 * | Relais marker | `props.relais_id`, `props.relais_notice` | `bot.relaisId`, `bot.notice` (the `bot` object of the message) |
 * | a post with files | one post, `file_ids` | the text message (anchor) then one message per file: shown as one post whose `fileIds` are the files really posted (those the anchor lists in `bot.files`) |
 * | reaction names | `+1`, `eyes` | `thumbsup`, `eyes` |
 * | archiving | alice (channel member) | alice, granted `archive-room` (owners and admins only by default) |
 * | ambiguous post answer | `POST /api/v4/posts` accepted, then the connection cut | `POST /api/v1/chat.sendMessage` accepted, then the connection cut |
 * | realtime reconnection | adapter default (1 s, then backoff) | 1 s instead of the SDK's 10 s default, to keep the tests short |
 */
import { pino } from 'pino';
import { createMattermostPlatform } from '../../src/chat/mattermost/index.js';
import type { ChatPlatform } from '../../src/chat/platform.js';
import { createRocketChatPlatform } from '../../src/chat/rocketchat/index.js';
import { startMattermostFake, type MattermostFake } from '../fakes/mattermost/index.js';
import { startRocketChatFake, type MessageDoc, type RocketChatFake } from '../fakes/rocketchat/index.js';

export type ChatKind = 'mattermost' | 'rocketchat';
export const CHAT_PLATFORMS: ChatKind[] = ['mattermost', 'rocketchat'];

export type Agent = 'alice' | 'bob' | 'carol';
const AGENTS: Agent[] = ['alice', 'bob', 'carol'];

export interface WorldChannel {
  id: string;
  /** The platform's channel name (`wa-<key>`). */
  name: string;
  /** What agents see as the conversation's name (the customer's name and masked number). */
  displayName: string;
  private: boolean;
  archived: boolean;
  /** User ids of the members. */
  memberIds: string[];
}

export interface WorldPost {
  id: string;
  text: string;
  /** Thread root, when the post is a reply. */
  rootId?: string;
  /** Posted by the Relais bot. */
  byBot: boolean;
  /** Relais' id of the customer message this post relays (the platform's marker). */
  relaisId?: string;
  /** A notice of the bot for the agents (errors, window closed, command answers). */
  notice: boolean;
  /** Ids of the files attached to (or, on Rocket.Chat, posted with) this post. */
  fileIds: string[];
}

export interface ChatWorld {
  readonly kind: ChatKind;
  readonly url: string;
  readonly botId: string;
  /** The agents setting Relais is given: alice, bob, and the group carol belongs to. */
  readonly agents: string[];
  /** The platform's names of the reactions the tests look at. */
  readonly emoji: { thumbsup: string; eyes: string };
  userId(agent: Agent): string;
  /** A new adapter instance with the bot's credentials (each Relais process gets its own). */
  makePlatform(): ChatPlatform;

  /** The customer channels (`wa-…`), archived ones included. */
  customerChannels(): WorldChannel[];
  /** Posts of a channel as agents see them, oldest first: system messages and deleted posts excluded. */
  posts(channelId: string): WorldPost[];
  fileBytes(fileId: string): Uint8Array;
  fileInfo(fileId: string): { name: string; mimeType: string };
  /** Names of the reactions the bot has on a post. */
  botReactions(postId: string): string[];

  /** An agent posts as in the web client (same insert path and broadcasts as the real server). */
  agentPost(agent: Agent, channelId: string, text: string, opts?: { rootId?: string; fileIds?: string[] }): { id: string };
  /** An agent uploads a file, to attach to their next `agentPost`. */
  agentUpload(agent: Agent, channelId: string, name: string, bytes: Uint8Array): { id: string };
  /** An agent puts on (or takes off) a reaction, through the REST API with their own token. */
  agentReact(agent: Agent, postId: string, emoji: 'thumbsup', on: boolean): Promise<void>;
  /** An agent archives the channel. */
  archive(channelId: string): Promise<void>;

  /** Makes the server refuse (or allow) deleting channels through its API: Mattermost's EnableAPIChannelDeletion (off by default, as on a real server), the bot's delete-p on Rocket.Chat. */
  forbidChannelDeletion(forbid: boolean): void;
  /** The next request deleting a channel answers 503 (the chat server is down at that moment). */
  failNextChannelDeletion(): void;
  /** The next `times` requests deleting a post (or one message of it) answer 503. */
  failPostDeletions(times: number): void;
  /** The next `times` requests creating a post answer 503 (the chat server is down at that moment). */
  failPosts(times: number): void;

  /** Cuts every realtime connection abruptly (the server keeps running). */
  dropConnections(): void;
  /** The next post the bot creates is stored, then its connection is cut before the answer. */
  ambiguousNextPost(): void;
  /** Requests that broke the platform's published API description (must stay empty). */
  readonly specViolations: readonly unknown[];
  close(): Promise<void>;
}

const silent = pino({ level: 'silent' });

export async function startChatWorld(kind: ChatKind, opts: { team: string }): Promise<ChatWorld> {
  return kind === 'mattermost' ? startMattermostWorld(opts.team) : startRocketChatWorld();
}

async function rest(url: string, init: RequestInit, what: string): Promise<void> {
  const res = await fetch(url, init);
  const body = await res.text();
  if (!res.ok || /"success"\s*:\s*false/.test(body)) throw new Error(`${what} failed: HTTP ${res.status} ${body}`);
}

// ---------------------------------------------------------------------------------------------

async function startMattermostWorld(team: string): Promise<ChatWorld> {
  const mm: MattermostFake = await startMattermostFake();
  mm.addTeam(team);
  const bot = mm.addUser({ username: 'relais', isBot: true });
  mm.addToTeam(team, 'relais', { admin: true }); // restoring an archived channel needs team admin
  const users = new Map<Agent, { id: string; token: string }>();
  for (const name of AGENTS) {
    const u = mm.addUser({ username: name });
    users.set(name, { id: u.user.id, token: u.token });
    mm.addToTeam(team, name);
  }
  mm.addGroup('support-fr', ['carol']);
  const agent = (name: Agent) => users.get(name)!;
  const file = (id: string) => {
    const f = mm.files.get(id);
    if (!f) throw new Error(`no Mattermost file ${id}`);
    return f;
  };
  const emoji = { thumbsup: '+1', eyes: 'eyes' };

  return {
    kind: 'mattermost',
    url: mm.url,
    botId: bot.user.id,
    agents: ['alice', 'bob', '@support-fr'],
    emoji,
    userId: (name) => agent(name).id,
    makePlatform: () => createMattermostPlatform({ url: mm.url, token: bot.token, logger: silent }),

    customerChannels: () => mm.channels().filter((c) => c.name.startsWith('wa-')).map((c) => ({
      id: c.id,
      name: c.name,
      displayName: c.display_name,
      private: c.type === 'P',
      archived: c.delete_at !== 0,
      memberIds: mm.channelMembers(c.id),
    })),
    posts: (channelId) => mm.posts(channelId).filter((p) => !p.type && !p.delete_at).map((p) => ({
      id: p.id,
      text: p.message,
      ...(p.root_id && { rootId: p.root_id }),
      byBot: p.user_id === bot.user.id,
      ...(p.props?.relais_id !== undefined && { relaisId: String(p.props.relais_id) }),
      notice: Boolean(p.props?.relais_notice),
      fileIds: [...(p.file_ids ?? [])],
    })),
    fileBytes: (id) => file(id).data,
    fileInfo: (id) => ({ name: file(id).info.name, mimeType: file(id).info.mime_type }),
    botReactions: (postId) => mm.reactions(postId).filter((r) => r.user_id === bot.user.id).map((r) => r.emoji_name),

    agentPost: (name, channelId, text, o = {}) => ({ id: mm.agentPost(name, channelId, text, { rootId: o.rootId, fileIds: o.fileIds }).id }),
    agentUpload: (name, channelId, fileName, bytes) => ({ id: mm.agentUpload(name, channelId, fileName, bytes).id }),
    async agentReact(name, postId, which, on) {
      const { id, token } = agent(name);
      const emojiName = emoji[which];
      if (on) {
        await rest(`${mm.url}/api/v4/reactions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ user_id: id, post_id: postId, emoji_name: emojiName }),
        }, 'add reaction');
      } else {
        await rest(`${mm.url}/api/v4/users/${id}/posts/${postId}/reactions/${encodeURIComponent(emojiName)}`, {
          method: 'DELETE', headers: { authorization: `Bearer ${token}` },
        }, 'remove reaction');
      }
    },
    async archive(channelId) {
      mm.archiveChannel(channelId, 'alice');
    },

    forbidChannelDeletion: (forbid) => mm.setServiceSettings({ enableAPIChannelDeletion: !forbid }),
    failNextChannelDeletion: () => mm.failNext(/^DELETE \/api\/v4\/channels\/[^/]+$/, { status: 503 }),
    failPostDeletions: (times) => mm.failNext(/^DELETE \/api\/v4\/posts\/[^/]+$/, { status: 503, times }),
    failPosts: (times) => mm.failNext('POST /api/v4/posts', { status: 503, times }),
    dropConnections: () => mm.dropWebSockets(),
    ambiguousNextPost: () => mm.resetAfterAccept('POST /api/v4/posts', 1),
    specViolations: mm.specViolations,
    close: () => mm.close(),
  };
}

// ---------------------------------------------------------------------------------------------

/** Relais' marker on a Rocket.Chat message (`bot.i === 'relais'`), as src/chat/rocketchat/posts.ts writes it. */
interface RelaisMarker { i?: string; relaisId?: string; part?: number; files?: string[]; notice?: boolean }
const markerOf = (m: MessageDoc): RelaisMarker | undefined => {
  const b = m.bot as RelaisMarker | undefined;
  return b && typeof b === 'object' && b.i === 'relais' ? b : undefined;
};
/** The original uploads of a message (image thumbnails left out). */
const originals = (m: MessageDoc): string[] => (m.files ?? (m.file ? [m.file] : [])).filter((f) => f.typeGroup !== 'thumb').map((f) => f._id);

/** Reconnection after a drop: 1 s (the SDK's default is 10 s; Mattermost's adapter starts at 1 s). */
const RC_REALTIME = { reconnectMs: 1000 };

async function startRocketChatWorld(): Promise<ChatWorld> {
  const rc: RocketChatFake = await startRocketChatFake({ rolePermissions: { 'unarchive-room': ['admin', 'bot'] } });
  const bot = rc.addUser({ username: 'relais', roles: ['bot'], name: 'Relais' });
  // teams.members shows a team's members to its members and to holders of view-all-teams only.
  rc.setPermission(bot.userId, 'view-all-teams', true);
  const users = new Map<Agent, { userId: string; token: string }>();
  for (const name of AGENTS) {
    const u = rc.addUser({ username: name, name: name[0]!.toUpperCase() + name.slice(1) });
    users.set(name, { userId: u.userId, token: u.token });
  }
  rc.addTeam('support-fr', ['carol']);
  // Archiving a private group takes archive-room (room owners and admins by default): this
  // workspace lets alice archive the conversations she is done with.
  rc.setPermission(users.get('alice')!.userId, 'archive-room', true);
  const agent = (name: Agent) => users.get(name)!;
  const emoji = { thumbsup: 'thumbsup', eyes: 'eyes' };
  const upload = (id: string) => {
    const f = rc.files.find((x) => x._id === id);
    if (!f) throw new Error(`no Rocket.Chat upload ${id}`);
    return f;
  };
  const call = (name: Agent, endpoint: string, body: Record<string, unknown>) => rest(`${rc.url}/api/v1/${endpoint}`, {
    method: 'POST',
    headers: { 'X-User-Id': agent(name).userId, 'X-Auth-Token': agent(name).token, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  }, endpoint);
  const message = (id: string): MessageDoc | undefined => {
    for (const room of rc.rooms()) {
      const m = rc.messages(room._id).find((x) => x._id === id);
      if (m) return m;
    }
    return undefined;
  };

  return {
    kind: 'rocketchat',
    url: rc.url,
    botId: bot.userId,
    agents: ['alice', 'bob', 'team:support-fr'],
    emoji,
    userId: (name) => agent(name).userId,
    makePlatform: () => createRocketChatPlatform({ url: rc.url, userId: bot.userId, token: bot.token, logger: silent, realtime: RC_REALTIME }),

    customerChannels: () => rc.rooms().filter((r) => r.name.startsWith('wa-')).map((r) => ({
      id: r._id,
      name: r.name,
      displayName: r.announcement ?? '',
      private: r.t === 'p',
      archived: r.archived === true,
      memberIds: rc.roomMembers(r._id),
    })),
    posts(channelId) {
      const messages = rc.messages(channelId).filter((m) => !m.t);
      // Files the bot has really posted in this room (one message each), by upload id.
      const postedByBot = new Set(messages.filter((m) => m.u._id === bot.userId).flatMap(originals));
      // Uploads an anchor lists: their messages belong to that anchor's post.
      const listed = new Set(messages.flatMap((m) => markerOf(m)?.files ?? []));
      const posts: WorldPost[] = [];
      const anchors = new Map<string, WorldPost>();
      for (const m of messages) {
        const marker = markerOf(m);
        if (marker?.relaisId !== undefined && (marker.part ?? 0) > 0) {
          // A later text part of a long post: the same post as its anchor.
          const anchor = anchors.get(marker.relaisId);
          if (anchor) { anchor.text += m.msg; continue; }
        }
        const files = originals(m);
        if (m.u._id === bot.userId && !marker && files.length > 0 && files.every((f) => listed.has(f))) continue;
        const post: WorldPost = {
          id: m._id,
          text: m.msg,
          ...(m.tmid && { rootId: m.tmid }),
          byBot: m.u._id === bot.userId,
          ...(marker?.relaisId !== undefined && { relaisId: marker.relaisId }),
          notice: marker?.notice === true,
          fileIds: marker?.files ? marker.files.filter((f) => postedByBot.has(f)) : files,
        };
        if (marker?.relaisId !== undefined) anchors.set(marker.relaisId, post);
        posts.push(post);
      }
      return posts;
    },
    fileBytes: (id) => new Uint8Array(upload(id).data),
    fileInfo: (id) => ({ name: upload(id).name, mimeType: upload(id).type }),
    botReactions: (postId) => Object.entries(message(postId)?.reactions ?? {})
      .filter(([, r]) => r.usernames.includes('relais'))
      .map(([name]) => name.replace(/:/g, '')),

    agentPost: (name, channelId, text, o = {}) => ({ id: rc.agentSend(name, channelId, text, { ...(o.rootId && { tmid: o.rootId }), fileIds: o.fileIds ?? [] })._id }),
    agentUpload: (name, channelId, fileName, bytes) => ({ id: rc.agentUpload(name, channelId, { name: fileName, data: bytes }) }),
    async agentReact(name, postId, which, on) {
      await call(name, 'chat.react', { messageId: postId, emoji: `:${emoji[which]}:`, shouldReact: on });
    },
    async archive(channelId) {
      await call('alice', 'groups.archive', { roomId: channelId });
    },

    forbidChannelDeletion: (forbid) => rc.setPermission(bot.userId, 'delete-p', !forbid),
    failNextChannelDeletion: () => rc.failNext(/^POST \/api\/v1\/rooms\.delete$/, { status: 503 }),
    failPostDeletions: (times) => rc.failNext(/^POST \/api\/v1\/chat\.delete$/, { status: 503, times }),
    failPosts: (times) => rc.failNext('POST /api/v1/chat.sendMessage', { status: 503, times }),
    dropConnections: () => rc.dropWebSockets(),
    ambiguousNextPost: () => rc.resetAfterAccept('POST /api/v1/chat.sendMessage', 1),
    specViolations: rc.specViolations,
    close: () => rc.close(),
  };
}
