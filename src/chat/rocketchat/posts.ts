/**
 * Posting as the bot, and finding our posts again.
 *
 * One `ChatPostInput` becomes, in this order:
 * 1. its text, split into parts of at most `maxMessageLength` UTF-16 units (Rocket.Chat's
 *    `Message_MaxAllowedSize`, 5000 by default), each sent with `chat.sendMessage` under the
 *    deterministic `_id` of `ids.ts`; the first part is the message's **anchor** and its id is the
 *    post ref;
 * 2. then one message per file (Rocket.Chat 6/7 hold one file per message): uploaded with
 *    `rooms.media/{rid}` (plain `fetch` + `FormData`, the upload stays temporary and invisible) BEFORE
 *    the anchor is sent, and confirmed with `rooms.mediaConfirm/{rid}/{fileId}` after it, so the
 *    text comes first and the files follow in order, threaded like the text.
 *
 * Every text part carries `bot: {i: 'relais', relaisId, part, parts}` (the server keeps the `bot`
 * object as sent and the web client shows a "Bot" tag; `customFields` would need
 * `Message_CustomFields_Enabled`, off by default); the anchor also lists the ids of the uploads it is
 * waiting for (`bot.files`). No wamid, number or message text goes into the marker.
 *
 * Idempotency: a re-sent part inserts nothing (Rocket.Chat answers `400 Cannot read properties of
 * undefined (reading 'starred')`, or a duplicate-key E11000 in a multi-instance race): both are
 * confirmed with `chat.getMessage` and taken as success. A retry whose anchor already exists confirms
 * the uploads the anchor lists (those not confirmed yet) instead of its own. `findPostByRelaisId`
 * answers the anchor only when every part exists and every listed upload has become a message.
 * A post without text has no anchor (its ref is its first file message) and cannot be reconciled:
 * Relais always sends a header line, so only direct callers meet that case.
 */
import type { ChatFile, ChatPostInput } from '../platform.js';
import { RelaisError } from '../../core/errors.js';
import type { Logger } from '../../log.js';
import { messageIdFor, RELAIS_BOT_ID } from './ids.js';
import { httpErrorOf, type RocketChatRest } from './rest.js';
import { dateMs, type RcMessage, type RelaisBotMarker } from './wire.js';
import { uploadName } from '../file-name.js';

export const DEFAULT_MAX_MESSAGE_LENGTH = 5000;
const HISTORY_PAGE = 100;

export { uploadName };

/**
 * Splits text into chunks of at most `max` UTF-16 units (what `Message_MaxAllowedSize` counts), never
 * inside a surrogate pair, preferring line breaks, then spaces. `''` gives no chunk.
 */
export function splitText(text: string, max = DEFAULT_MAX_MESSAGE_LENGTH): string[] {
  const chunks: string[] = [];
  let rest = text;
  while (rest.length > max) {
    let end = max;
    const code = rest.charCodeAt(end - 1);
    if (code >= 0xd800 && code <= 0xdbff) end -= 1; // keep the pair together
    const window = rest.slice(0, end);
    const nl = window.lastIndexOf('\n');
    const sp = window.lastIndexOf(' ');
    if (nl > max / 2) end = nl + 1;
    else if (sp > max / 2) end = sp + 1;
    chunks.push(rest.slice(0, end));
    rest = rest.slice(end);
  }
  if (rest !== '') chunks.push(rest);
  return chunks;
}

/** The Relais marker of a message, when it has one. */
export function relaisMarker(m: Pick<RcMessage, 'bot'>): RelaisBotMarker | undefined {
  const bot = m.bot;
  return bot && typeof bot === 'object' && bot.i === RELAIS_BOT_ID ? (bot as RelaisBotMarker) : undefined;
}

/** A duplicate `_id` answer of `chat.sendMessage` (single server, or the multi-server E11000 race). */
function isDuplicateIdAnswer(err: unknown): boolean {
  const http = httpErrorOf(err);
  if (!http || http.status !== 400) return false;
  const text = http.serverError ?? '';
  return text.includes("reading 'starred'") || text.includes('E11000');
}

export class PostService {
  constructor(private readonly deps: { rest: RocketChatRest; logger: Logger; botUserId: string; maxMessageLength: number }) {}

  /** `chat.getMessage`, or null when there is no such message (or the bot may not see it). */
  async getMessage(id: string): Promise<RcMessage | null> {
    try {
      return (await this.deps.rest.get<{ message: RcMessage }>('chat.getMessage', 'chat.getMessage', { msgId: id })).message ?? null;
    } catch (err) {
      if (err instanceof RelaisError && err.retryable) throw err;
      if (httpErrorOf(err)?.status === 400 || (err instanceof RelaisError && err.code === 'chat_not_found')) return null;
      throw err;
    }
  }

  /**
   * Sends one message with a fixed `_id`; an existing message with that id (from an earlier attempt)
   * counts as sent when it is the bot's, in the same room. Returns the stored message.
   */
  private async sendOnce(message: { _id: string; rid: string; msg: string; tmid?: string; bot: RelaisBotMarker }): Promise<RcMessage> {
    try {
      return (await this.deps.rest.post<{ message: RcMessage }>('chat.sendMessage', 'chat.sendMessage', { message })).message;
    } catch (err) {
      if (!isDuplicateIdAnswer(err)) throw err;
      const existing = await this.getMessage(message._id);
      if (!existing || existing.rid !== message.rid || existing.u._id !== this.deps.botUserId) throw err;
      return existing;
    }
  }

  /** See `ChatPlatform.postMessage`. Returns the anchor's id (or the first file message's, without text). */
  async postMessage(rid: string, input: ChatPostInput): Promise<string> {
    const chunks = splitText(input.text, this.deps.maxMessageLength);
    const files = input.files ?? [];
    if (chunks.length === 0 && files.length === 0) {
      throw new RelaisError('chat_empty_post', 'Refusing to create an empty Rocket.Chat message', { retryable: false });
    }
    // Rocket.Chat files a reply to a reply under the thread's root itself.
    const tmid: string | undefined = input.rootPost;
    if (chunks.length === 0) {
      let first: string | undefined;
      for (const f of files) {
        const id = await this.confirm(rid, await this.upload(rid, f), tmid);
        first ??= id;
      }
      return first as string;
    }

    const anchorId = messageIdFor(input.relaisId, 0);
    // A retry finds the anchor of an earlier attempt and finishes its files rather than uploading again.
    const earlier = files.length > 0 ? await this.getMessage(anchorId) : null;
    let uploads = relaisMarker(earlier ?? {})?.files;
    const resuming = earlier !== null && earlier.rid === rid && uploads !== undefined;
    if (!resuming) {
      uploads = [];
      for (const f of files) uploads.push(await this.upload(rid, f));
    }
    const pending = uploads ?? [];
    for (const [i, msg] of chunks.entries()) {
      const bot: RelaisBotMarker = { i: RELAIS_BOT_ID, relaisId: input.relaisId, part: i, parts: chunks.length };
      if (i === 0 && pending.length > 0) bot.files = pending;
      await this.sendOnce({ _id: messageIdFor(input.relaisId, i), rid, msg, ...(tmid && { tmid }), bot });
    }
    const done = resuming ? await this.confirmedUploads(rid, dateMs(earlier?.ts), pending) : new Set<string>();
    for (const fileId of pending) {
      if (!done.has(fileId)) await this.confirm(rid, fileId, tmid);
    }
    return anchorId;
  }

  /** Uploads one file to `rid` as a temporary upload; returns its id. */
  private async upload(rid: string, file: ChatFile): Promise<string> {
    const form = new FormData();
    form.append('file', new Blob([file.data.slice()], { type: file.mimeType }), uploadName(file));
    const res = await this.deps.rest.postForm<{ file: { _id: string } }>('rooms.media', `rooms.media/${encodeURIComponent(rid)}`, form);
    return res.file._id;
  }

  /** Turns upload `fileId` into a message (no text), in thread `tmid`; returns the message id. */
  private async confirm(rid: string, fileId: string, tmid?: string): Promise<string> {
    const res = await this.deps.rest.post<{ message: RcMessage | null }>('rooms.mediaConfirm', `rooms.mediaConfirm/${encodeURIComponent(rid)}/${encodeURIComponent(fileId)}`, {
      msg: '',
      ...(tmid && { tmid }),
    });
    if (!res.message?._id) {
      throw new RelaisError('chat_file_attach_failed', 'Rocket.Chat confirmed an upload without returning its message', { retryable: true });
    }
    return res.message._id;
  }

  /** Which of `fileIds` already are messages of `rid` posted at or after `sinceMs` (the anchor's time). */
  async confirmedUploads(rid: string, sinceMs: number, fileIds: string[]): Promise<Set<string>> {
    const found = new Set<string>();
    if (fileIds.length === 0) return found;
    const wanted = new Set(fileIds);
    for (const m of await this.historySince(rid, sinceMs, true)) {
      if (m.u._id !== this.deps.botUserId) continue;
      for (const f of [m.file, ...(m.files ?? [])]) if (f && wanted.has(f._id)) found.add(f._id);
    }
    return found;
  }

  /**
   * Messages of `rid` posted after `sinceMs` (at or after, with `inclusive`), oldest first, thread
   * replies included, paged through `groups.history`. The server's upper bound is "now" and, without
   * `inclusive`, exclusive — a message stored in the very millisecond of the request would be missed —
   * so both bounds are requested inclusive and the lower one applied here. Read-only; throws RelaisError.
   */
  async historySince(rid: string, sinceMs: number, inclusive = false): Promise<RcMessage[]> {
    const byId = new Map<string, RcMessage>();
    const from = Math.max(0, Number.isFinite(sinceMs) ? sinceMs : 0);
    const oldest = new Date(from).toISOString();
    for (let offset = 0; ; offset += HISTORY_PAGE) {
      const res = await this.deps.rest.get<{ messages: RcMessage[] }>('groups.history', 'groups.history', {
        roomId: rid, oldest, inclusive: true, count: HISTORY_PAGE, offset,
      });
      // Newest first; a message arriving meanwhile shifts the pages, which only repeats one.
      for (const m of res.messages) byId.set(m._id, m);
      if (res.messages.length < HISTORY_PAGE) break;
    }
    // Oldest first; messages of the same millisecond keep the server's order (a stable sort).
    return [...byId.values()]
      .reverse()
      .filter((m) => (inclusive ? dateMs(m.ts) >= from : dateMs(m.ts) > from))
      .sort((a, b) => dateMs(a.ts) - dateMs(b.ts));
  }

  /** See `ChatPlatform.findPostByRelaisId`: the anchor, when it is complete and not older than `since`. */
  async findPostByRelaisId(rid: string, relaisId: string, since: Date): Promise<string | null> {
    const anchor = await this.getMessage(messageIdFor(relaisId, 0));
    const marker = anchor ? relaisMarker(anchor) : undefined;
    if (!anchor || !marker || anchor.rid !== rid || anchor.u._id !== this.deps.botUserId || marker.relaisId !== relaisId) return null;
    if (!(dateMs(anchor.ts) >= since.getTime())) return null;
    for (let i = 1; i < (marker.parts ?? 1); i++) {
      if (!(await this.getMessage(messageIdFor(relaisId, i)))) return null;
    }
    const files = marker.files ?? [];
    if (files.length > 0 && (await this.confirmedUploads(rid, dateMs(anchor.ts), files)).size < files.length) return null;
    return anchor._id;
  }

  /** `tmid ?? _id` of `postId`. Throws RelaisError (`chat_not_found` when it does not exist). */
  async threadRootOf(postId: string): Promise<string> {
    const m = await this.getMessage(postId);
    if (!m) throw new RelaisError('chat_not_found', 'Rocket.Chat message not found (or not visible to the bot)', { retryable: false });
    return m.tmid || m._id;
  }

  /**
   * See `ChatPlatform.deletePost`: `chat.delete` of every message of the Relais post — the file
   * messages its anchor lists and its later text parts, then the anchor last (so an interrupted call
   * can be resumed from it) — or of the single message of anyone else's post. Rocket.Chat deletes a
   * message's uploaded file with it. Needs `delete-message` (room owners: the bot in the groups it
   * created). A message that no longer exists counts as deleted.
   */
  async deletePost(postId: string): Promise<void> {
    const anchor = await this.getMessage(postId);
    if (!anchor) return;
    const marker = relaisMarker(anchor);
    if (marker?.relaisId && anchor.u._id === this.deps.botUserId) {
      const files = new Set(marker.files ?? []);
      if (files.size > 0) {
        for (const m of await this.historySince(anchor.rid, dateMs(anchor.ts), true)) {
          if (m.u._id !== this.deps.botUserId || m._id === anchor._id) continue;
          if ([m.file, ...(m.files ?? [])].some((f) => f && files.has(f._id))) await this.deleteMessage(anchor.rid, m._id);
        }
      }
      for (let i = 1; i < (marker.parts ?? 1); i++) await this.deleteMessage(anchor.rid, messageIdFor(marker.relaisId, i));
    }
    await this.deleteMessage(anchor.rid, anchor._id);
  }

  /** `chat.delete`; "No message found" (already deleted) is success. */
  private async deleteMessage(rid: string, msgId: string): Promise<void> {
    try {
      await this.deps.rest.post('chat.delete', 'chat.delete', { roomId: rid, msgId });
    } catch (err) {
      if ((httpErrorOf(err)?.serverError ?? '').startsWith('No message found')) return;
      throw err;
    }
  }
}
