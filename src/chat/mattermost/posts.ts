/**
 * Posting as the bot, and finding our posts again.
 *
 * One `ChatPostInput` becomes one post in the common case, or several "parts" when the text exceeds
 * Mattermost's 16383 runes or there are more than 5 files: part 0 carries the first text chunk and the
 * first 5 files, then the remaining text chunks, then the remaining files 5 by 5. Every part carries
 * `props.relais_id` (never a wamid or a phone number), and `relais_part`/`relais_parts` when there are
 * several, and `relais_files` when it has files, so `findPostByRelaisId` recognises a message only when
 * it is complete. A multi-part retry skips the parts that already exist.
 */
import type { Post, PostList } from '@mattermost/types/posts';
import type { ChatFile, ChatPostInput } from '../platform.js';
import { RelaisError } from '../../core/errors.js';
import type { Logger } from '../../log.js';
import { call, httpStatus, type RelaisClient4 } from './client.js';
import { uploadName } from '../file-name.js';

export const MAX_POST_RUNES = 16383;
export const MAX_FILES_PER_POST = 5;
/** How far back a multi-part retry looks for parts already posted. */
const RESUME_WINDOW_MS = 7 * 24 * 3600 * 1000;
/** GetPostsSince answers at most this many posts; beyond it we page instead. */
const SINCE_LIMIT = 1000;

export { uploadName };

/** Splits text into chunks of at most `max` code points, preferring line breaks, then spaces. */
export function splitText(text: string, max = MAX_POST_RUNES): string[] {
  const cps = Array.from(text);
  const chunks: string[] = [];
  let start = 0;
  while (cps.length - start > max) {
    let end = start + max;
    const window = cps.slice(start, end);
    const nl = window.lastIndexOf('\n');
    const sp = window.lastIndexOf(' ');
    if (nl > max / 2) end = start + nl + 1;
    else if (sp > max / 2) end = start + sp + 1;
    chunks.push(cps.slice(start, end).join(''));
    start = end;
  }
  chunks.push(cps.slice(start).join(''));
  return chunks;
}

interface Part {
  message: string;
  files: ChatFile[];
}

export function planParts(input: Pick<ChatPostInput, 'text' | 'files'>): Part[] {
  const chunks = splitText(input.text);
  const files = input.files ?? [];
  const groups: ChatFile[][] = [];
  for (let i = 0; i < files.length; i += MAX_FILES_PER_POST) groups.push(files.slice(i, i + MAX_FILES_PER_POST));
  const parts: Part[] = chunks.map((message, i) => ({ message, files: i === 0 ? (groups[0] ?? []) : [] }));
  for (const group of groups.slice(1)) parts.push({ message: '', files: group });
  return parts;
}

/** Complete parts of message `relaisId` among `posts` (by the bot, live, all files attached). */
function completeParts(posts: Post[], botUserId: string, relaisId: string): { parts: Map<number, Post>; total: number } {
  const parts = new Map<number, Post>();
  let total = 1;
  for (const p of posts) {
    const props = p.props ?? {};
    if (p.user_id !== botUserId || p.delete_at !== 0 || p.type !== '' || props.relais_id !== relaisId) continue;
    const expectedFiles = typeof props.relais_files === 'number' ? props.relais_files : 0;
    if ((p.file_ids ?? []).length < expectedFiles) continue;
    const part = typeof props.relais_part === 'number' ? props.relais_part : 0;
    if (typeof props.relais_parts === 'number') total = props.relais_parts;
    const existing = parts.get(part);
    if (!existing || p.create_at < existing.create_at) parts.set(part, p);
  }
  return { parts, total };
}

export class PostService {
  constructor(private readonly deps: { api: RelaisClient4; logger: Logger; botUserId: () => Promise<string> }) {}

  /**
   * Posts of `channelId` changed at or after `sinceMs` (deleted ones included, plus the roots of changed
   * threads), whatever their number: `?since=` first, paging newest-first when the server's 1000-post cap
   * was reached. Read-only; throws RelaisError.
   */
  async postsSince(channelId: string, sinceMs: number): Promise<Post[]> {
    const { api } = this.deps;
    const list: PostList = await call('getPostsSince', () => api.getPostsSince(channelId, sinceMs - 1));
    const posts = Object.values(list.posts);
    if (posts.length < SINCE_LIMIT) return posts;
    const all: Post[] = [];
    for (let page = 0; ; page++) {
      const pageList = await call('getPosts', () => api.getPosts(channelId, page, 200));
      const batch = pageList.order.map((id) => pageList.posts[id]).filter((p): p is Post => !!p);
      all.push(...batch);
      if (batch.length < 200 || batch.some((p) => p.create_at < sinceMs)) return all;
    }
  }

  async findPostByRelaisId(channelId: string, relaisId: string, since: Date): Promise<string | null> {
    const botUserId = await this.deps.botUserId();
    const { parts, total } = completeParts(await this.postsSince(channelId, since.getTime()), botUserId, relaisId);
    for (let i = 0; i < total; i++) if (!parts.has(i)) return null;
    return parts.get(0)?.id ?? null;
  }

  async postMessage(channelId: string, input: ChatPostInput): Promise<string> {
    const { api } = this.deps;
    const parts = planParts(input);
    if (parts.length === 1 && parts[0]?.message === '' && parts[0].files.length === 0) {
      throw new RelaisError('chat_empty_post', 'Refusing to create an empty Mattermost post', { retryable: false });
    }
    const botUserId = await this.deps.botUserId();
    const done = parts.length > 1
      ? completeParts(await this.postsSince(channelId, Date.now() - RESUME_WINDOW_MS), botUserId, input.relaisId).parts
      : new Map<number, Post>();
    let firstId = done.get(0)?.id;
    for (const [i, part] of parts.entries()) {
      if (done.has(i)) continue;
      const fileIds = part.files.length > 0 ? await this.upload(channelId, part.files) : [];
      const props: Record<string, unknown> = { relais_id: input.relaisId };
      if (parts.length > 1) Object.assign(props, { relais_part: i, relais_parts: parts.length });
      if (fileIds.length > 0) props.relais_files = fileIds.length;
      const created = await call('createPost', () => api.createPost({
        channel_id: channelId,
        message: part.message,
        ...(input.rootPost ? { root_id: input.rootPost } : {}),
        file_ids: fileIds,
        props,
        pending_post_id: `relais:${input.relaisId}:${i}`,
      }));
      const attached = new Set(created.file_ids ?? []);
      if (fileIds.some((id) => !attached.has(id))) {
        // Mattermost silently drops files it cannot attach: take the incomplete post back and retry.
        await call('deletePost', () => api.deletePost(created.id)).catch((err: unknown) =>
          this.deps.logger.warn({ err, post: created.id }, 'mattermost incomplete post could not be deleted'));
        throw new RelaisError('chat_file_attach_failed', `Mattermost attached ${attached.size} of ${fileIds.length} uploaded files to a post`, { retryable: true });
      }
      if (i === 0) firstId = created.id;
    }
    return firstId as string;
  }

  /** Uploads up to 5 files in one multipart request, with the bot's token, to `channelId`. */
  private async upload(channelId: string, files: ChatFile[]): Promise<string[]> {
    const form = new FormData();
    form.append('channel_id', channelId); // must precede the files: the server reads the parts in order
    for (const [i] of files.entries()) form.append('client_ids', `relais-${i}`);
    for (const f of files) form.append('files', new Blob([f.data.slice()], { type: f.mimeType }), uploadName(f));
    const res = await call('uploadFile', () => this.deps.api.uploadFile(form));
    if (res.file_infos.length !== files.length) {
      throw new RelaisError('chat_file_upload_failed', `Mattermost stored ${res.file_infos.length} of ${files.length} uploaded files`, { retryable: true });
    }
    return res.file_infos.map((f) => f.id);
  }

  async threadRootOf(postId: string): Promise<string> {
    const post = await call('getPost', () => this.deps.api.getPost(postId));
    return post.root_id || post.id;
  }

  /**
   * See `ChatPlatform.deletePost`: soft-deletes the post (Mattermost keeps the row with `delete_at`
   * and marks its files deleted; replies of a root go with it) and the other parts of a multi-part
   * Relais post. Already gone counts as done: current servers answer 404, older ones 403 for a
   * deleted post, which is told apart from a real refusal by reading the post back.
   */
  async deletePost(postId: string): Promise<void> {
    const { api } = this.deps;
    let post: Post;
    try {
      post = await call('getPost', () => api.getPost(postId));
    } catch (err) {
      if (httpStatus(err) === 404) return;
      throw err;
    }
    const props = post.props ?? {};
    if (typeof props.relais_parts === 'number' && props.relais_parts > 1 && typeof props.relais_id === 'string') {
      const botUserId = await this.deps.botUserId();
      const others = (await this.postsSince(post.channel_id, post.create_at))
        .filter((p) => p.id !== post.id && p.delete_at === 0 && p.user_id === botUserId && p.props?.relais_id === props.relais_id);
      for (const p of others) await this.deleteOne(p.id);
    }
    await this.deleteOne(post.id);
  }

  private async deleteOne(postId: string): Promise<void> {
    const { api } = this.deps;
    try {
      await call('deletePost', () => api.deletePost(postId));
    } catch (err) {
      const status = httpStatus(err);
      if (status === 404) return;
      if (status === 403) {
        const gone = await call('getPost', () => api.getPost(postId)).then(() => false, (e: unknown) => httpStatus(e) === 404);
        if (gone) return;
      }
      throw err;
    }
  }
}
