/**
 * The agent-facing half of the Mattermost adapter, without the WebSocket: turning posts and reactions
 * into the port's events (one mapping for live events and catch-up, so both produce identical events and
 * the core can de-duplicate by post id), catch-up reads, file downloads and bot notices.
 *
 * Mapping rules (Mattermost → port):
 * - `fromBot`: the post is this bot's (`user_id`), or it carries the server's `from_bot: "true"` together
 *   with one of Relais' own markers (`relais_id`, `relais_notice`): a post of an earlier Relais bot
 *   account is never relayed back to the customer after the bot was replaced.
 * - `system`: any post `type` other than `''` (joins, header changes…).
 * - `files`: `metadata.files` (the server sends them with every post), else one `GET /files/{id}/info`
 *   per `file_ids` entry (files deleted since are skipped); in `file_ids` order.
 * - `authorName`: the username: `sender_name` without its `@` when the event has it in that form, else a
 *   cached user lookup (`sender_name` may be a full name, depending on the server's display setting).
 * - reactions: `emoji` is the Unicode emoji for a system emoji name (absent for custom emoji); `at` is the
 *   reaction's `create_at` when added, and for a removal the server's `update_at` (the store stamps the
 *   deletion there), else `delete_at`, else the time the event was received.
 *
 * Message text is never logged.
 */
import type { FileInfo } from '@mattermost/types/files';
import type { Post } from '@mattermost/types/posts';
import type { AgentEvent, AgentPostEvent, AgentReactionEvent, ChatChannelRef, ChatFile, ChatFileRef, ChatPostRef } from '../platform.js';
import { RelaisError } from '../../core/errors.js';
import type { Logger } from '../../log.js';
import { truncateRunes } from '../channel-name.js';
import { call, httpStatus, type RelaisClient4 } from './client.js';
import { mattermostNameToEmoji } from './emoji.js';
import { MAX_POST_RUNES, type PostService } from './posts.js';

const ID = /^[a-z0-9]{26}$/;
const USER_CACHE_MAX = 2000;

/** A reaction as the server serialises it (`@mattermost/types` declares only the first four fields). */
export interface WireReaction {
  user_id: string;
  post_id: string;
  emoji_name: string;
  create_at?: number;
  update_at?: number;
  delete_at?: number;
  channel_id?: string;
}

export interface AgentSideDeps {
  api: RelaisClient4;
  logger: Logger;
  botUserId: () => Promise<string>;
  posts: PostService;
  now?: () => number;
}

export class AgentSide {
  private readonly usernames = new Map<string, string>();
  private readonly now: () => number;

  constructor(private readonly deps: AgentSideDeps) {
    this.now = deps.now ?? Date.now;
  }

  /**
   * The port's event for `post`; `senderName` is the `posted` event's `sender_name` when there is one.
   * May do REST I/O (file infos, one user lookup per new author); throws RelaisError.
   */
  async postEvent(post: Post, senderName?: string): Promise<AgentPostEvent> {
    const botId = await this.deps.botUserId();
    const props = (post.props ?? {}) as Record<string, unknown>;
    const relaisMarked = props.relais_id !== undefined || props.relais_notice !== undefined;
    const event: AgentPostEvent = {
      kind: 'post',
      post: post.id as ChatPostRef,
      channel: post.channel_id as ChatChannelRef,
      authorId: post.user_id,
      authorName: await this.authorName(post.user_id, senderName),
      text: post.message ?? '',
      files: await this.fileRefs(post),
      createdAt: post.create_at,
      fromBot: post.user_id === botId || (props.from_bot === 'true' && relaisMarked),
      system: (post.type ?? '') !== '',
    };
    if (post.root_id) event.rootPost = post.root_id as ChatPostRef;
    return event;
  }

  /** The port's event for a `reaction_added` / `reaction_removed` payload. No I/O beyond the bot id. */
  async reactionEvent(r: WireReaction, channelId: string, on: boolean): Promise<AgentReactionEvent> {
    const botId = await this.deps.botUserId();
    const at = on
      ? positive(r.create_at) ?? positive(r.update_at) ?? this.now()
      : positive(r.update_at) ?? positive(r.delete_at) ?? this.now();
    const event: AgentReactionEvent = {
      kind: 'reaction',
      post: r.post_id as ChatPostRef,
      channel: (channelId || r.channel_id || '') as ChatChannelRef,
      authorId: r.user_id,
      emojiName: r.emoji_name,
      on,
      at,
      fromBot: r.user_id === botId,
    };
    const emoji = mattermostNameToEmoji(r.emoji_name);
    if (emoji !== undefined) event.emoji = emoji;
    return event;
  }

  /**
   * The port's event for a WebSocket event: `posted`, `reaction_added` and `reaction_removed`; null for
   * any other. Throws RelaisError (a payload that does not parse is not retryable).
   */
  async fromWebSocket(msg: { event: string; data: unknown; broadcast?: { channel_id?: string } }): Promise<AgentEvent | null> {
    const data = (msg.data ?? {}) as Record<string, unknown>;
    if (msg.event === 'posted') {
      const post = parseJson<Post>(data.post, 'post', ['id', 'channel_id', 'user_id']);
      return this.postEvent(post, typeof data.sender_name === 'string' ? data.sender_name : undefined);
    }
    if (msg.event === 'reaction_added' || msg.event === 'reaction_removed') {
      const reaction = parseJson<WireReaction>(data.reaction, 'reaction', ['post_id', 'user_id', 'emoji_name']);
      return this.reactionEvent(reaction, msg.broadcast?.channel_id ?? '', msg.event === 'reaction_added');
    }
    return null;
  }

  /** See `ChatAgentSide.postsSince`: live posts created strictly after `sinceMs`, oldest first. */
  async postsSince(channel: ChatChannelRef, sinceMs: number): Promise<AgentPostEvent[]> {
    const changed = await this.deps.posts.postsSince(channel, sinceMs);
    const byId = new Map<string, Post>();
    for (const p of changed) {
      if (p.channel_id === channel && p.delete_at === 0 && p.create_at > sinceMs) byId.set(p.id, p);
    }
    const ordered = [...byId.values()].sort((a, b) => a.create_at - b.create_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const events: AgentPostEvent[] = [];
    for (const p of ordered) events.push(await this.postEvent(p));
    return events;
  }

  /** See `ChatAgentSide.downloadFile`: `GET /files/{id}` with the bot's token. */
  async downloadFile(file: ChatFileRef): Promise<ChatFile> {
    if (!ID.test(file.id)) {
      throw new RelaisError('chat_not_found', 'Not a Mattermost file id', { retryable: false });
    }
    const { data, contentType } = await call('downloadFile', () => this.deps.api.getBytes(`/files/${file.id}`));
    return { name: file.name, mimeType: file.mimeType || contentType || 'application/octet-stream', data };
  }

  /**
   * See `ChatAgentSide.postNotice`: a bot post marked `relais_notice`, in the thread of `rootPost` (its
   * root when it is a reply). A root that is gone or belongs to another channel gives an unthreaded
   * notice rather than none. Not idempotent.
   */
  async postNotice(channel: ChatChannelRef, text: string, rootPost?: ChatPostRef): Promise<ChatPostRef> {
    const { api } = this.deps;
    let rootId = '';
    if (rootPost) {
      try {
        const p = await call('getPost', () => api.getPost(rootPost));
        if (p.channel_id === channel) rootId = p.root_id || p.id;
      } catch (err) {
        const status = httpStatus(err);
        if (status !== 404 && status !== 403) throw err;
      }
    }
    const created = await call('createPost', () => api.createPost({
      channel_id: channel,
      message: truncateRunes(text, MAX_POST_RUNES),
      ...(rootId ? { root_id: rootId } : {}),
      props: { relais_notice: true },
    } as Partial<Post> as Post));
    return created.id as ChatPostRef;
  }

  private async authorName(userId: string, senderName?: string): Promise<string> {
    if (senderName && senderName.startsWith('@') && senderName.length > 1) {
      const name = senderName.slice(1);
      this.remember(userId, name);
      return name;
    }
    const cached = this.usernames.get(userId);
    if (cached !== undefined) return cached;
    try {
      const user = await call('getUser', () => this.deps.api.getUser(userId));
      this.remember(userId, user.username);
      return user.username;
    } catch (err) {
      if (err instanceof RelaisError && err.retryable) throw err;
      return userId; // a user the bot may not see: the id still identifies the author
    }
  }

  private remember(userId: string, username: string): void {
    if (this.usernames.size >= USER_CACHE_MAX) this.usernames.clear();
    this.usernames.set(userId, username);
  }

  private async fileRefs(post: Post): Promise<ChatFileRef[]> {
    const ids = post.file_ids ?? [];
    let infos: FileInfo[] | undefined = post.metadata?.files;
    if (!infos || (infos.length === 0 && ids.length > 0)) {
      infos = [];
      for (const id of ids) {
        try {
          infos.push(await call('getFileInfo', () => this.deps.api.getJson<FileInfo>(`/files/${id}/info`)));
        } catch (err) {
          if (httpStatus(err) !== 404) throw err;
        }
      }
    }
    const order = (id: string) => {
      const i = ids.indexOf(id);
      return i < 0 ? ids.length : i;
    };
    return infos
      .filter((f) => !f.delete_at)
      .sort((a, b) => order(a.id) - order(b.id))
      .map((f) => ({ id: f.id, name: f.name, mimeType: f.mime_type || 'application/octet-stream', size: f.size }));
  }
}

/** `data.post` / `data.reaction` arrive as JSON-encoded strings; `required` fields must be strings. */
function parseJson<T>(value: unknown, what: string, required: string[]): T {
  let parsed: unknown;
  try {
    parsed = typeof value === 'string' ? JSON.parse(value) : value;
  } catch {
    parsed = undefined;
  }
  const obj = parsed as Record<string, unknown> | undefined;
  if (!obj || typeof obj !== 'object' || required.some((k) => typeof obj[k] !== 'string')) {
    throw new RelaisError('chat_bad_event', `Mattermost sent a WebSocket event whose ${what} is unreadable`, { retryable: false });
  }
  return obj as T;
}

function positive(n: number | undefined): number | undefined {
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : undefined;
}
