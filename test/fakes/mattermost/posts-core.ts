/**
 * The one post-creation path of the fake (REST `POST /posts`, the `agentPost` test control and the system
 * messages channels produce), with the real server's validation order and its silent file-attach rule.
 */
import type { Channel } from '@mattermost/types/channels';
import type { Post, PostType } from '@mattermost/types/posts';
import type { UserProfile } from '@mattermost/types/users';
import { FakeAppError, invalidParam, permissionDenied } from './errors.js';
import { type FakeState, isValidId, newId, runeCount } from './state.js';

/** `model.PostMessageMaxRunesV2` (65535 bytes / 4). */
export const MAX_POST_RUNES = 16383;
/**
 * Files per post. The real server's check is on the JSON of `file_ids` (≤ 300 runes, about 10 ids) and
 * its spec text says 5; the fake enforces 5 so a client never depends on more.
 */
export const MAX_FILES_PER_POST = 5;
const PENDING_POST_TTL_MS = 30_000;

export interface NewPost {
  channel_id: string;
  message: string;
  root_id?: string;
  file_ids?: string[];
  props?: Record<string, unknown>;
  pending_post_id?: string;
  type?: PostType;
}

/**
 * Creates a post as `user`, like api4 `createPost` + app `CreatePost`: permission, archived channel, root
 * post, limits, `pending_post_id` de-duplication (30 s, in memory), `from_bot` for bots, files attached only
 * when unattached, created by the same user and uploaded to the same channel (others silently dropped),
 * then `posted` is broadcast to the channel's members.
 */
export function createPost(state: FakeState, user: UserProfile, input: NewPost): Post {
  if (!isValidId(input.channel_id)) throw invalidParam('post.channel_id');
  if (!state.canUseChannel(user, input.channel_id)) throw permissionDenied();
  const channel = state.requireChannel(input.channel_id);
  if (channel.delete_at !== 0) {
    throw new FakeAppError(400, 'api.post.create_post.can_not_post_to_deleted.error', 'Can not post to deleted channel.');
  }

  if (input.pending_post_id) {
    const seen = state.pendingPosts.get(input.pending_post_id);
    if (seen && Date.now() - seen.at < PENDING_POST_TTL_MS) {
      const existing = state.posts.get(seen.postId);
      if (!existing || existing.delete_at !== 0) {
        throw new FakeAppError(500, 'api.post.deduplicate_create_post.failed_to_get', 'Failed to fetch original post after deduplicating a client repeating the same request.');
      }
      return state.postForClient(existing);
    }
  }

  const rootId = input.root_id ?? '';
  if (rootId !== '') {
    const root = state.posts.get(rootId);
    if (!root || root.delete_at !== 0) {
      throw new FakeAppError(400, 'api.post.create_post.root_id.app_error', 'Invalid RootId parameter.');
    }
    if (root.channel_id !== channel.id) {
      throw new FakeAppError(400, 'api.post.create_post.channel_root_id.app_error', 'Invalid ChannelId for RootId parameter.');
    }
    if (root.root_id !== '') {
      throw new FakeAppError(400, 'api.post.create_post.root_id.app_error', 'Invalid RootId parameter.');
    }
  }

  const message = input.message ?? '';
  if (runeCount(message) > MAX_POST_RUNES) {
    throw new FakeAppError(400, 'model.post.is_valid.message_length.app_error', `Message length ${runeCount(message)} exceeds the maximum of ${MAX_POST_RUNES} characters.`);
  }
  const requestedFiles = [...new Set(input.file_ids ?? [])];
  if (requestedFiles.length > MAX_FILES_PER_POST || runeCount(JSON.stringify(requestedFiles)) > 300) {
    throw new FakeAppError(400, 'model.post.is_valid.file_ids.app_error', 'Invalid file ids.');
  }
  const props: Record<string, unknown> = { ...(input.props ?? {}) };
  if (user.is_bot) props.from_bot = 'true';
  if (runeCount(JSON.stringify(props)) > 800000) {
    throw new FakeAppError(400, 'model.post.is_valid.props.app_error', 'Invalid props.');
  }

  const now = state.now();
  const post: Post = {
    id: newId(),
    create_at: now,
    update_at: now,
    edit_at: 0,
    delete_at: 0,
    is_pinned: false,
    user_id: user.id,
    channel_id: channel.id,
    root_id: rootId,
    original_id: '',
    message,
    type: input.type ?? '',
    props,
    hashtags: '',
    pending_post_id: input.pending_post_id ?? '',
    reply_count: 0,
    file_ids: [],
    metadata: { embeds: [], emojis: [], files: [], images: {} },
  };

  // FileInfoStore.AttachToPost: a failing id is dropped with a server-side warning only.
  for (const fileId of requestedFiles) {
    const f = state.files.get(fileId);
    if (!f || f.info.post_id || f.info.user_id !== user.id || f.info.channel_id !== channel.id) continue;
    f.info.post_id = post.id;
    f.info.update_at = now;
    post.file_ids?.push(fileId);
  }

  state.posts.set(post.id, post);
  if (input.pending_post_id) state.pendingPosts.set(input.pending_post_id, { postId: post.id, at: Date.now() });
  channel.last_post_at = now;
  if (rootId === '') channel.last_root_post_at = now;
  else {
    const root = state.posts.get(rootId) as Post;
    root.reply_count += 1;
    root.last_reply_at = now;
  }
  broadcastPosted(state, channel, user, post);
  return state.postForClient(post);
}

function broadcastPosted(state: FakeState, channel: Channel, user: UserProfile, post: Post): void {
  const client = state.postForClient(post);
  const files = client.metadata.files;
  const data: Record<string, unknown> = {
    channel_display_name: channel.display_name,
    channel_name: channel.name,
    channel_type: channel.type,
    post: JSON.stringify(client),
    sender_name: `@${user.username}`,
    set_online: true,
    team_id: channel.team_id,
  };
  if (files.length > 0) {
    data.otherFile = files.some((f) => !f.mime_type.startsWith('image/'));
    data.image = files.some((f) => f.mime_type.startsWith('image/'));
  }
  state.broadcast({ event: 'posted', data, channelId: channel.id });
}

/** A system message (`system_add_to_channel`, `system_header_change`, …) posted by `user`. */
export function systemPost(
  state: FakeState,
  user: UserProfile,
  channel: Channel,
  type: PostType,
  message: string,
  props: Record<string, unknown>,
): void {
  const now = state.now();
  const post: Post = {
    id: newId(), create_at: now, update_at: now, edit_at: 0, delete_at: 0, is_pinned: false,
    user_id: user.id, channel_id: channel.id, root_id: '', original_id: '', message, type,
    props, hashtags: '', pending_post_id: '', reply_count: 0, file_ids: [],
    metadata: { embeds: [], emojis: [], files: [], images: {} },
  };
  state.posts.set(post.id, post);
  channel.last_post_at = now;
  broadcastPosted(state, channel, user, post);
}
