/** `/channels/*` and `/teams/{team_id}/channels/name/{name}`, with the default scheme's permissions. */
import type { ChannelMembership, ChannelType } from '@mattermost/types/channels';
import { addChannelMember, archiveChannel, createChannel, patchChannel, permanentDeleteChannel, restoreChannel } from '../channels-core.js';
import { FakeAppError, invalidParam, permissionDenied } from '../errors.js';
import { bodyObject, json, statusOk, type Router } from '../http.js';
import type { FakeState } from '../state.js';

/** Go's strconv.ParseBool, which `include_deleted` goes through. */
const parseBool = (v: string | null): boolean => ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v ?? '');

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export interface ChannelRouteSettings {
  /** `ServiceSettings.EnableAPIChannelDeletion` (default false on the real server). */
  enableAPIChannelDeletion: boolean;
}

export function registerChannelRoutes(router: Router, state: FakeState, settings: ChannelRouteSettings = { enableAPIChannelDeletion: false }): void {
  router.add('POST', '/api/v4/channels', (ctx) => {
    const body = bodyObject(ctx, 'channel');
    const teamId = str(body.team_id) ?? '';
    // create_public_channel / create_private_channel are team-scoped: non-members get 403.
    if (!state.teams.has(teamId)) throw permissionDenied();
    state.requireTeamMember(ctx.user, teamId);
    const channel = createChannel(state, ctx.user, {
      team_id: teamId,
      name: str(body.name) ?? '',
      display_name: str(body.display_name) ?? '',
      type: (str(body.type) ?? '') as ChannelType,
      header: str(body.header),
      purpose: str(body.purpose),
    });
    return json(201, channel);
  });

  // Private channels the caller cannot read answer 404, not 403, so their existence does not leak.
  router.add('GET', '/api/v4/teams/{team_id}/channels/name/{channel_name}', (ctx) => {
    const teamId = ctx.params.team_id as string;
    const c = state.channelByName(teamId, ctx.params.channel_name as string);
    const missing = () => new FakeAppError(404, 'app.channel.get_by_name.missing.app_error', 'Channel does not exist.');
    if (!c || (c.delete_at !== 0 && !parseBool(ctx.query.get('include_deleted')))) throw missing();
    if (c.type === 'O') state.requireTeamMember(ctx.user, teamId);
    else if (!state.canUseChannel(ctx.user, c.id)) throw missing();
    return json(200, c);
  });

  // api4 getChannel: GetChannel first (404 for an unknown id, archived channels included), then read_channel (403).
  router.add('GET', '/api/v4/channels/{channel_id}', (ctx) => {
    const channel = state.requireChannel(ctx.params.channel_id as string);
    if (!state.canUseChannel(ctx.user, channel.id)) throw permissionDenied();
    return json(200, channel);
  });

  router.add('PUT', '/api/v4/channels/{channel_id}/patch', (ctx) => {
    const channel = state.requireChannelAccess(ctx.user, ctx.params.channel_id as string);
    const body = bodyObject(ctx, 'channel');
    return json(200, patchChannel(state, ctx.user, channel, {
      name: str(body.name), display_name: str(body.display_name), header: str(body.header), purpose: str(body.purpose),
    }));
  });

  // api4 deleteChannel, in its order: GetChannel (404, archived channels included) → permission
  // (delete_private_channel / delete_public_channel: channel members under the default scheme) →
  // `?permanent=` (strconv.ParseBool) → PermanentDeleteChannel, or 401 while
  // ServiceSettings.EnableAPIChannelDeletion is off (its own id for system admins) → else archive.
  router.add('DELETE', '/api/v4/channels/{channel_id}', (ctx) => {
    const channel = state.requireChannel(ctx.params.channel_id as string);
    if (!state.canUseChannel(ctx.user, channel.id)) throw permissionDenied();
    if (parseBool(ctx.query.get('permanent'))) {
      if (!settings.enableAPIChannelDeletion) {
        throw state.isSystemAdmin(ctx.user)
          ? new FakeAppError(401, 'api.user.delete_channel.not_enabled.for_admin.app_error', 'Permanent channel deletion feature is not enabled. ServiceSettings.EnableAPIChannelDeletion must be set to true to use this feature.')
          : new FakeAppError(401, 'api.user.delete_channel.not_enabled.app_error', 'Permanent channel deletion feature is not enabled. Please contact your System Administrator.');
      }
      permanentDeleteChannel(state, channel);
      return statusOk();
    }
    archiveChannel(state, ctx.user, channel);
    return statusOk();
  });

  // Unarchiving needs manage_team: team admins and system admins only (api4 restoreChannel).
  router.add('POST', '/api/v4/channels/{channel_id}/restore', (ctx) => {
    const channel = state.requireChannel(ctx.params.channel_id as string);
    if (!state.isTeamAdmin(ctx.user, channel.team_id)) throw permissionDenied();
    return json(200, restoreChannel(state, ctx.user, channel));
  });

  // Body `{user_id}` answers one membership, `{user_ids}` (Client4.addToChannels) an array; the first
  // failing user aborts, like the real handler.
  router.add('POST', '/api/v4/channels/{channel_id}/members', (ctx) => {
    const channelId = ctx.params.channel_id as string;
    const body = bodyObject(ctx, 'channel_member');
    const channel = state.requireChannelAccess(ctx.user, channelId);
    const single = str(body.user_id);
    const many = Array.isArray(body.user_ids) ? body.user_ids : undefined;
    if (!single && !many) throw invalidParam('user_id');
    const ids = single ? [single] : (many as unknown[]);
    const out: ChannelMembership[] = [];
    for (const id of ids) {
      const user = typeof id === 'string' ? state.users.get(id) : undefined;
      if (!user || user.delete_at !== 0) throw invalidParam('user_id');
      out.push(addChannelMember(state, ctx.user, channel, user));
    }
    return json(201, single ? out[0] : out);
  });

  // read_channel on the channel; a user who is not a member answers 404.
  router.add('GET', '/api/v4/channels/{channel_id}/members/{user_id}', (ctx) => {
    const channelId = ctx.params.channel_id as string;
    state.requireChannelAccess(ctx.user, channelId);
    const m = state.channelMember(channelId, ctx.params.user_id as string);
    if (!m) throw new FakeAppError(404, 'app.channel.get_member.missing.app_error', 'No channel member found for that user ID and channel ID.');
    return json(200, m);
  });

  router.add('GET', '/api/v4/channels/{channel_id}/members', (ctx) => {
    const channelId = ctx.params.channel_id as string;
    state.requireChannelAccess(ctx.user, channelId);
    const page = Number(ctx.query.get('page') ?? 0);
    const perPage = Math.min(Number(ctx.query.get('per_page') ?? 60), 200);
    const all = [...(state.channelMembers.get(channelId)?.values() ?? [])];
    return json(200, all.slice(page * perPage, (page + 1) * perPage));
  });
}
