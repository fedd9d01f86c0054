/**
 * The agent-facing half of the Rocket.Chat adapter, without the realtime socket: turning messages into
 * the port's events (one mapping for live messages and catch-up, so both give identical events and the
 * core can de-duplicate by post id), reaction changes, catch-up reads, downloads and bot notices.
 *
 * Mapping rules (Rocket.Chat → port):
 * - `system`: the message has a type `t` (`uj`, `au`, `room_changed_topic`, `room-archived`…).
 * - `fromBot`: posted by this bot (`u._id`), or carrying Relais' `bot` marker (`bot.i === 'relais'`),
 *   so a message of an earlier Relais account is never relayed back after the account was replaced.
 * - `rootPost`: `tmid`. `createdAt`: `ts` (ISO over REST, `{$date}` over DDP). `authorName`: `u.username`.
 * - `files`: `files` without the `thumb` entries (images get a thumbnail upload listed after the
 *   original), else `file`; the id is the original upload's id (`title_link`'s), never the preview's.
 * - reactions: Rocket.Chat streams the whole changed message, with a `reactions` map of shortcode →
 *   usernames. The last known map of every message seen is kept (bounded, least recently used
 *   dropped) and each update is diffed against it: a username that appears is an `on` event, one that
 *   disappears an `off` event. A message first seen through an update is diffed against an empty map
 *   (a reaction put on an old message after a restart still arrives; one already relayed may arrive
 *   again). Re-delivered updates change nothing, so they give no event. `at` is the message's
 *   `_updatedAt` in that update — the server time of the change, identical in duplicates — or the
 *   time of receipt when absent. `authorId` is the reacting user's id, looked up by username.
 *
 * Message text is never logged.
 */
import type { AgentEvent, AgentPostEvent, AgentReactionEvent, ChatChannelRef, ChatFile, ChatFileRef, ChatPostRef } from '../platform.js';
import { RelaisError } from '../../core/errors.js';
import type { Logger } from '../../log.js';
import { rocketChatNameToEmoji } from './emoji.js';
import { RELAIS_BOT_ID } from './ids.js';
import { relaisMarker, splitText, type PostService } from './posts.js';
import { errorIdOfError, type RocketChatRest } from './rest.js';
import { dateMs, type RcFileProp, type RcMessage } from './wire.js';

const CACHE_MAX = 5000;
/** A message first seen later than this after its creation is an update of an older message. */
const FRESH_MS = 60_000;

/** A Map used as a bounded LRU: reading refreshes, inserting beyond `max` evicts the oldest. */
export class Lru<K, V> {
  private readonly map = new Map<K, V>();
  constructor(private readonly max: number) {}
  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  has(key: K): boolean {
    return this.map.has(key);
  }
  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as K);
  }
  get size(): number {
    return this.map.size;
  }
}

type ReactionState = Map<string, Set<string>>;

export interface AgentSideDeps {
  rest: RocketChatRest;
  logger: Logger;
  botUserId: string;
  botUsername: () => Promise<string>;
  posts: PostService;
  maxMessageLength: number;
  now?: () => number;
}

export class AgentSide {
  private readonly userIds = new Lru<string, string>(CACHE_MAX);
  /** Messages seen live: their last known reactions (also the `_id` de-duplication of re-deliveries). */
  private readonly seen = new Lru<string, ReactionState>(CACHE_MAX);
  private readonly now: () => number;

  constructor(private readonly deps: AgentSideDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** The port's event for one message. No I/O. */
  postEvent(m: RcMessage): AgentPostEvent {
    if (m.u?.username) this.userIds.set(m.u.username, m.u._id);
    const event: AgentPostEvent = {
      kind: 'post',
      post: m._id as ChatPostRef,
      channel: m.rid as ChatChannelRef,
      authorId: m.u._id,
      authorName: m.u.username ?? m.u._id,
      text: m.msg ?? '',
      files: fileRefs(m),
      createdAt: dateMs(m.ts),
      fromBot: m.u._id === this.deps.botUserId || relaisMarker(m) !== undefined,
      system: typeof m.t === 'string' && m.t !== '',
    };
    if (m.tmid) event.rootPost = m.tmid as ChatPostRef;
    return event;
  }

  /**
   * The events of one streamed message (new post and/or reaction changes), in that order. A
   * re-delivered message gives none. May look a reacting user up (REST); throws RelaisError.
   */
  async fromStream(m: RcMessage): Promise<AgentEvent[]> {
    if (!m || typeof m._id !== 'string' || typeof m.rid !== 'string' || !m.u || typeof m.u._id !== 'string') {
      throw new RelaisError('chat_bad_event', 'Rocket.Chat streamed a message that cannot be read', { retryable: false });
    }
    const events: AgentEvent[] = [];
    const known = this.seen.get(m._id);
    if (!known) {
      const created = dateMs(m.ts);
      const updated = dateMs(m._updatedAt);
      const fresh = m.editedAt === undefined && !(updated - created > FRESH_MS);
      if (fresh) events.push(this.postEvent(m));
    }
    const before = known ?? new Map<string, Set<string>>();
    const after = reactionState(m);
    const at = Number.isFinite(dateMs(m._updatedAt)) ? dateMs(m._updatedAt) : this.now();
    for (const [name, users] of after) {
      for (const username of users) if (!before.get(name)?.has(username)) events.push(await this.reactionEvent(m, name, username, true, at));
    }
    for (const [name, users] of before) {
      for (const username of users) if (!after.get(name)?.has(username)) events.push(await this.reactionEvent(m, name, username, false, at));
    }
    this.seen.set(m._id, after);
    return events;
  }

  private async reactionEvent(m: RcMessage, shortcode: string, username: string, on: boolean, at: number): Promise<AgentReactionEvent> {
    const name = shortcode.replace(/:/g, '');
    const event: AgentReactionEvent = {
      kind: 'reaction',
      post: m._id as ChatPostRef,
      channel: m.rid as ChatChannelRef,
      authorId: await this.userId(username),
      emojiName: name,
      on,
      at,
      fromBot: username === (await this.deps.botUsername()),
    };
    const emoji = rocketChatNameToEmoji(name);
    if (emoji !== undefined) event.emoji = emoji;
    return event;
  }

  private async userId(username: string): Promise<string> {
    const cached = this.userIds.get(username);
    if (cached !== undefined) return cached;
    try {
      const { user } = await this.deps.rest.get<{ user: { _id: string } }>('users.info', 'users.info', { username });
      this.userIds.set(username, user._id);
      return user._id;
    } catch (err) {
      if (err instanceof RelaisError && err.retryable) throw err;
      return username; // a user the bot may not see: the name still identifies the author
    }
  }

  /** See `ChatAgentSide.postsSince`: messages created strictly after `sinceMs`, oldest first. */
  async postsSince(channel: ChatChannelRef, sinceMs: number): Promise<AgentPostEvent[]> {
    const messages = await this.deps.posts.historySince(channel, sinceMs);
    return messages.filter((m) => m.rid === channel).map((m) => this.postEvent(m));
  }

  /** See `ChatAgentSide.downloadFile`: `GET /file-upload/<id>/<name>` with the bot's headers. */
  async downloadFile(file: ChatFileRef): Promise<ChatFile> {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(file.id)) {
      throw new RelaisError('chat_not_found', 'Not a Rocket.Chat file id', { retryable: false });
    }
    const { data, contentType } = await this.deps.rest.download('downloadFile', `/file-upload/${file.id}/${encodeURIComponent(file.name || 'file')}`);
    return { name: file.name, mimeType: file.mimeType || contentType || 'application/octet-stream', data };
  }

  /**
   * See `ChatAgentSide.postNotice`: a bot message marked `bot.notice`, in the thread of `rootPost` (its
   * root when it is a reply). A root that is gone or in another room gives an unthreaded notice.
   * Not idempotent.
   */
  async postNotice(channel: ChatChannelRef, text: string, rootPost?: ChatPostRef): Promise<ChatPostRef> {
    let tmid: string | undefined;
    if (rootPost) {
      const root = await this.deps.posts.getMessage(rootPost);
      if (root && root.rid === channel) tmid = root.tmid || root._id;
    }
    const msg = splitText(text, this.deps.maxMessageLength)[0] ?? '';
    try {
      const res = await this.deps.rest.post<{ message: RcMessage }>('chat.sendMessage', 'chat.sendMessage', {
        message: { rid: channel, msg, ...(tmid && { tmid }), bot: { i: RELAIS_BOT_ID, notice: true } },
      });
      return res.message._id as ChatPostRef;
    } catch (err) {
      this.deps.logger.warn({ channel, errorId: errorIdOfError(err), code: (err as RelaisError).code }, 'rocketchat notice could not be posted');
      throw err;
    }
  }
}

function reactionState(m: RcMessage): ReactionState {
  const state: ReactionState = new Map();
  for (const [name, r] of Object.entries(m.reactions ?? {})) {
    const users = new Set((r?.usernames ?? []).filter((u): u is string => typeof u === 'string'));
    if (users.size > 0) state.set(name, users);
  }
  return state;
}

/** The original files of a message (thumbnails skipped), with the sizes and types the server recorded. */
export function fileRefs(m: RcMessage): ChatFileRef[] {
  const files: RcFileProp[] = (m.files && m.files.length > 0 ? m.files : m.file ? [m.file] : [])
    .filter((f) => f && typeof f._id === 'string' && f.typeGroup !== 'thumb');
  const byAttachment = new Map((m.attachments ?? []).map((a) => [a.fileId ?? /\/file-upload\/([^/]+)\//.exec(a.title_link ?? '')?.[1] ?? '', a]));
  return files.map((f) => {
    const a = byAttachment.get(f._id);
    const size = f.size ?? a?.size ?? a?.image_size ?? a?.audio_size ?? a?.video_size ?? 0;
    const mimeType = f.type || a?.image_type || a?.audio_type || a?.video_type || 'application/octet-stream';
    return { id: f._id, name: f.name ?? a?.title ?? 'file', mimeType, size };
  });
}
