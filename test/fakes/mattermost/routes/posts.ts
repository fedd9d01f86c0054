/** `/posts*` and `/channels/{channel_id}/posts`: create, read, patch, delete, threads and listings. */
import type { Post, PostList } from '@mattermost/types/posts';
import { FakeAppError, invalidBody, invalidParam, notImplemented, permissionDenied } from '../errors.js';
import { bodyObject, json, statusOk, type Router } from '../http.js';
import { createPost } from '../posts-core.js';
import type { FakeState } from '../state.js';

/** GetPostsSince's row limit on the real server. */
const SINCE_LIMIT = 1000;

function postList(state: FakeState, posts: Post[], extra: Partial<PostList> & { has_next?: boolean } = {}): PostList {
  const sorted = [...posts].sort((a, b) => b.create_at - a.create_at);
  const out: Record<string, Post> = {};
  for (const p of sorted) out[p.id] = state.postForClient(p);
  return {
    order: sorted.map((p) => p.id),
    posts: out,
    next_post_id: '',
    prev_post_id: '',
    first_inaccessible_post_time: 0,
    ...extra,
  };
}

export function registerPostRoutes(router: Router, state: FakeState): void {
  router.add('POST', '/api/v4/posts', (ctx) => {
    const body = bodyObject(ctx, 'post');
    const fileIds = body.file_ids;
    if (fileIds !== undefined && (!Array.isArray(fileIds) || fileIds.some((f) => typeof f !== 'string'))) throw invalidBody('post');
    if (body.props !== undefined && (typeof body.props !== 'object' || body.props === null || Array.isArray(body.props))) {
      throw invalidBody('post');
    }
    const post = createPost(state, ctx.user, {
      channel_id: typeof body.channel_id === 'string' ? body.channel_id : '',
      message: typeof body.message === 'string' ? body.message : '',
      root_id: typeof body.root_id === 'string' ? body.root_id : undefined,
      file_ids: fileIds as string[] | undefined,
      props: body.props as Record<string, unknown> | undefined,
      pending_post_id: typeof body.pending_post_id === 'string' ? body.pending_post_id : undefined,
    });
    return json(201, post);
  });

  router.add('GET', '/api/v4/posts/{post_id}', (ctx) => {
    const post = state.posts.get(ctx.params.post_id as string);
    if (post && !state.canUseChannel(ctx.user, post.channel_id)) throw permissionDenied();
    const p = state.requirePost(ctx.params.post_id as string);
    return json(200, state.postForClient(p));
  });

  // edit_post on your own posts (every channel member), edit_others_posts (admins) otherwise.
  router.add('PUT', '/api/v4/posts/{post_id}/patch', (ctx) => {
    const post = state.requirePost(ctx.params.post_id as string);
    if (!state.canUseChannel(ctx.user, post.channel_id)) throw permissionDenied();
    if (post.user_id !== ctx.user.id && !state.isTeamAdmin(ctx.user, state.requireChannel(post.channel_id).team_id)) {
      throw permissionDenied();
    }
    const body = bodyObject(ctx, 'post');
    if (body.file_ids !== undefined) throw notImplemented('editing file attachments through PUT /posts/{post_id}/patch');
    if (body.message !== undefined) {
      if (typeof body.message !== 'string') throw invalidBody('post');
      if (body.message !== post.message) post.edit_at = state.now();
      post.message = body.message;
    }
    if (body.props !== undefined) {
      if (typeof body.props !== 'object' || body.props === null || Array.isArray(body.props)) throw invalidBody('post');
      const props = { ...(body.props as Record<string, unknown>) };
      if (ctx.user.is_bot) props.from_bot = 'true';
      post.props = props;
    }
    if (typeof body.is_pinned === 'boolean') post.is_pinned = body.is_pinned;
    post.update_at = state.now();
    const client = state.postForClient(post);
    state.broadcast({ event: 'post_edited', data: { post: JSON.stringify(client) }, channelId: post.channel_id });
    return json(200, client);
  });

  router.add('DELETE', '/api/v4/posts/{post_id}', (ctx) => {
    if (ctx.query.get('permanent') === 'true') throw notImplemented('permanent post deletion');
    const post = state.requirePost(ctx.params.post_id as string);
    if (!state.canUseChannel(ctx.user, post.channel_id)) throw permissionDenied();
    if (post.user_id !== ctx.user.id && !state.isTeamAdmin(ctx.user, state.requireChannel(post.channel_id).team_id)) {
      throw permissionDenied();
    }
    // app.DeletePost: a post in an archived channel cannot be deleted.
    if (state.requireChannel(post.channel_id).delete_at !== 0) {
      throw new FakeAppError(400, 'api.post.delete_post.can_not_delete_post_in_deleted.error', 'Can not delete a post in a deleted channel.');
    }
    const now = state.now();
    for (const p of state.posts.values()) {
      if (p.id === post.id || p.root_id === post.id) {
        p.delete_at = now;
        p.update_at = now;
        // deletePostFiles: the post's file infos are marked deleted too (downloads answer 404).
        for (const id of p.file_ids ?? []) {
          const f = state.files.get(id);
          if (f) f.info.delete_at = now;
        }
      }
    }
    state.broadcast({ event: 'post_deleted', data: { post: JSON.stringify(state.postForClient(post)) }, channelId: post.channel_id });
    return statusOk();
  });

  // The whole thread, whichever of its posts is asked for. Pagination parameters are accepted and the
  // whole thread is answered (`has_next: false`).
  router.add('GET', '/api/v4/posts/{post_id}/thread', (ctx) => {
    const post = state.posts.get(ctx.params.post_id as string);
    if (post && !state.canUseChannel(ctx.user, post.channel_id)) throw permissionDenied();
    const p = state.requirePost(ctx.params.post_id as string);
    const rootId = p.root_id || p.id;
    const thread = [...state.posts.values()].filter((x) => x.delete_at === 0 && (x.id === rootId || x.root_id === rootId));
    return json(200, postList(state, thread, { has_next: false }));
  });

  // `since`: posts changed after that time (deleted ones included so clients can drop them), newest
  // first, at most 1000. Otherwise `page`/`per_page` over the channel's live posts, newest first.
  router.add('GET', '/api/v4/channels/{channel_id}/posts', (ctx) => {
    const channelId = ctx.params.channel_id as string;
    state.requireChannelAccess(ctx.user, channelId);
    for (const p of ['before', 'after']) {
      if (ctx.query.get(p)) throw notImplemented(`GET /api/v4/channels/{channel_id}/posts?${p}=`);
    }
    const inChannel = [...state.posts.values()].filter((p) => p.channel_id === channelId);
    const since = ctx.query.get('since');
    if (since !== null) {
      const t = Number(since);
      if (!Number.isFinite(t)) throw invalidParam('since');
      const changed = inChannel.filter((p) => p.update_at > t).sort((a, b) => b.create_at - a.create_at);
      return json(200, postList(state, changed.slice(0, SINCE_LIMIT)));
    }
    const page = Number(ctx.query.get('page') ?? 0);
    const perPage = Math.min(Number(ctx.query.get('per_page') ?? 60), 200);
    if (!Number.isInteger(page) || page < 0 || !Number.isInteger(perPage) || perPage < 1) {
      throw new FakeAppError(400, 'api.context.invalid_url_param.app_error', 'Invalid or missing page in request URL.');
    }
    const live = inChannel.filter((p) => p.delete_at === 0).sort((a, b) => b.create_at - a.create_at);
    const slice = live.slice(page * perPage, (page + 1) * perPage);
    const first = slice[0];
    const last = slice[slice.length - 1];
    const newer = first ? live[live.indexOf(first) - 1] : undefined;
    const older = last ? live[live.indexOf(last) + 1] : undefined;
    return json(200, postList(state, slice, {
      next_post_id: newer?.id ?? '',
      prev_post_id: older?.id ?? '',
      has_next: !!older,
    }));
  });
}
