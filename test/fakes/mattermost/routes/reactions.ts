/**
 * `/reactions` and the per-user reaction delete, in the real server's check order. Reactions carry the
 * fields the server serialises beyond `@mattermost/types`' four (`update_at`, `delete_at`, `remote_id`,
 * `channel_id`). A removal broadcasts the reaction built from the URL (so `create_at` 0) with `update_at`
 * stamped by the store's `Delete` (`PreUpdate`), which is when it was removed.
 */
import type { Post } from '@mattermost/types/posts';
import type { Reaction } from '@mattermost/types/reactions';
import type { SystemEmojiNames } from '../emoji-names.js';
import { FakeAppError, permissionDenied } from '../errors.js';
import { bodyObject, json, statusOk, type Router } from '../http.js';
import { type FakeState, isValidId } from '../state.js';

const NAME_CHARS = /^[a-zA-Z0-9\-+_]+$/;

function touchPost(state: FakeState, postId: string): void {
  // `has_reactions` is sent by the server but absent from @mattermost/types' Post.
  const post = state.posts.get(postId) as (Post & { has_reactions?: boolean }) | undefined;
  if (!post) return;
  post.has_reactions = (state.reactions.get(postId) ?? []).length > 0;
  post.update_at = state.now();
}

export function registerReactionRoutes(router: Router, state: FakeState, emoji: SystemEmojiNames): void {
  // Answers 200 like api4 saveReaction (the spec says 201; the handler never writes a status).
  router.add('POST', '/api/v4/reactions', (ctx) => {
    const body = bodyObject(ctx, 'reaction');
    const r = { user_id: body.user_id, post_id: body.post_id, emoji_name: body.emoji_name };
    if (!isValidId(r.user_id) || !isValidId(r.post_id) || typeof r.emoji_name !== 'string' || r.emoji_name === '' || r.emoji_name.length > 64) {
      throw new FakeAppError(400, 'api.reaction.save_reaction.invalid.app_error', 'Reaction is not valid.');
    }
    if (r.user_id !== ctx.user.id) {
      throw new FakeAppError(403, 'api.reaction.save_reaction.user_id.app_error', 'You cannot save reaction for the other user.');
    }
    const post = state.posts.get(r.post_id);
    if (!post || !state.canUseChannel(ctx.user, post.channel_id)) throw permissionDenied();
    state.requirePost(r.post_id);
    // app SaveReactionForPost: system emoji, else custom emoji lookup (none exist in the fake) → 404.
    if (!emoji.names.has(r.emoji_name)) {
      throw new FakeAppError(404, 'app.emoji.get_by_name.no_result', 'Unable to find the emoji.');
    }
    if (state.requireChannel(post.channel_id).delete_at !== 0) {
      throw new FakeAppError(403, 'api.reaction.save.archived_channel.app_error', 'You cannot react to posts in an archived channel.');
    }
    if (!NAME_CHARS.test(r.emoji_name)) {
      throw new FakeAppError(400, 'model.reaction.is_valid.emoji_name.app_error', 'Invalid emoji name.');
    }
    const list = state.reactions.get(post.id) ?? [];
    let reaction = list.find((x) => x.user_id === ctx.user.id && x.emoji_name === r.emoji_name);
    if (!reaction) {
      const now = state.now();
      reaction = {
        user_id: ctx.user.id, post_id: post.id, emoji_name: r.emoji_name, create_at: now,
        update_at: now, delete_at: 0, remote_id: '', channel_id: post.channel_id,
      } as Reaction;
      list.push(reaction);
      state.reactions.set(post.id, list);
    }
    touchPost(state, post.id);
    state.broadcast({ event: 'reaction_added', data: { reaction: JSON.stringify(reaction) }, channelId: post.channel_id });
    return json(200, reaction);
  });

  router.add('DELETE', '/api/v4/users/{user_id}/posts/{post_id}/reactions/{emoji_name}', (ctx) => {
    const userId = ctx.params.user_id === 'me' ? ctx.user.id : (ctx.params.user_id as string);
    const postId = ctx.params.post_id as string;
    const name = ctx.params.emoji_name as string;
    if (!isValidId(userId) || !isValidId(postId) || !NAME_CHARS.test(name) || name.length > 64) {
      throw new FakeAppError(400, 'api.context.invalid_url_param.app_error', 'Invalid or missing parameter in request URL.');
    }
    const post = state.posts.get(postId);
    if (!post || !state.canUseChannel(ctx.user, post.channel_id)) throw permissionDenied();
    if (userId !== ctx.user.id && !state.isSystemAdmin(ctx.user)) throw permissionDenied();
    state.requirePost(postId);
    if (state.requireChannel(post.channel_id).delete_at !== 0) {
      throw new FakeAppError(403, 'api.reaction.delete.archived_channel.app_error', 'You cannot remove a reaction in an archived channel.');
    }
    const list = state.reactions.get(postId) ?? [];
    const reaction = {
      user_id: userId, post_id: postId, emoji_name: name, create_at: 0,
      update_at: state.now(), delete_at: 0, remote_id: '', channel_id: post.channel_id,
    } as Reaction;
    state.reactions.set(postId, list.filter((x) => !(x.user_id === userId && x.emoji_name === name)));
    touchPost(state, postId);
    state.broadcast({ event: 'reaction_removed', data: { reaction: JSON.stringify(reaction) }, channelId: post.channel_id });
    return statusOk();
  });

  router.add('GET', '/api/v4/posts/{post_id}/reactions', (ctx) => {
    const post = state.posts.get(ctx.params.post_id as string);
    if (!post || !state.canUseChannel(ctx.user, post.channel_id)) throw permissionDenied();
    return json(200, state.reactions.get(post.id) ?? []);
  });
}
