/**
 * Channel rules of the real server (model/channel.go, app/channel.go) shared by the channel routes and
 * the test controls: validation, creation, membership, archive and restore, with the system messages and
 * WebSocket events each produces.
 */
import type { Channel, ChannelMembership, ChannelType } from '@mattermost/types/channels';
import type { UserProfile } from '@mattermost/types/users';
import { FakeAppError } from './errors.js';
import { systemPost } from './posts-core.js';
import { type FakeState, newId, runeCount } from './state.js';

const NAME_RE = /^[a-z0-9]+([a-z\-_0-9]+|(__)?)[a-z0-9]*$/;

export function validateChannelFields(c: {
  name?: string; display_name?: string; header?: string; purpose?: string; type?: string;
}): void {
  if (c.name !== undefined) {
    const dm = /^[a-z0-9]{26}__[a-z0-9]{26}$/.test(c.name);
    if (c.name.length < 1 || c.name.length > 64 || !NAME_RE.test(c.name) || dm) {
      throw new FakeAppError(400, 'model.channel.is_valid.2_or_more.app_error', 'Name must be 2 or more lowercase alphanumeric characters.');
    }
  }
  if (c.display_name !== undefined && (runeCount(c.display_name) < 1 || runeCount(c.display_name) > 64)) {
    throw new FakeAppError(400, 'model.channel.is_valid.display_name.app_error', 'Invalid display name.');
  }
  if (c.header !== undefined && runeCount(c.header) > 1024) {
    throw new FakeAppError(400, 'model.channel.is_valid.header.app_error', 'Invalid header.');
  }
  if (c.purpose !== undefined && runeCount(c.purpose) > 250) {
    throw new FakeAppError(400, 'model.channel.is_valid.purpose.app_error', 'Invalid purpose.');
  }
  if (c.type !== undefined && c.type !== 'O' && c.type !== 'P') {
    throw new FakeAppError(400, 'model.channel.is_valid.type.app_error', 'Invalid type.');
  }
}

export function createChannel(
  state: FakeState,
  creator: UserProfile,
  input: { team_id: string; name: string; display_name: string; type: ChannelType; header?: string; purpose?: string },
): Channel {
  validateChannelFields(input);
  // The (team_id, name) unique index: archived channels keep their name.
  if (state.channelByName(input.team_id, input.name)) {
    throw new FakeAppError(400, 'store.sql_channel.save_channel.exists.app_error', 'A channel with that name already exists on the same team.');
  }
  const now = state.now();
  const channel: Channel = {
    id: newId(),
    create_at: now,
    update_at: now,
    delete_at: 0,
    team_id: input.team_id,
    type: input.type,
    display_name: input.display_name,
    name: input.name,
    header: input.header ?? '',
    purpose: input.purpose ?? '',
    last_post_at: 0,
    last_root_post_at: 0,
    creator_id: creator.id,
    scheme_id: '',
    group_constrained: false,
  };
  state.channels.set(channel.id, channel);
  state.channelMembers.set(channel.id, new Map());
  addMembership(state, channel, creator, true);
  state.broadcast({ event: 'channel_created', data: { channel_id: channel.id, team_id: channel.team_id }, userId: creator.id });
  return channel;
}

function addMembership(state: FakeState, channel: Channel, user: UserProfile, admin: boolean): ChannelMembership {
  const now = state.now();
  const m: ChannelMembership = {
    channel_id: channel.id,
    user_id: user.id,
    roles: admin ? 'channel_user channel_admin' : 'channel_user',
    last_viewed_at: 0,
    msg_count: 0,
    msg_count_root: 0,
    mention_count: 0,
    mention_count_root: 0,
    urgent_mention_count: 0,
    notify_props: { desktop: 'default', email: 'default', mark_unread: 'all', push: 'default', ignore_channel_mentions: 'default' },
    last_update_at: now,
    scheme_user: true,
    scheme_admin: admin,
  };
  state.channelMembers.get(channel.id)?.set(user.id, m);
  return m;
}

/**
 * app `AddChannelMember`: idempotent (an existing member is returned as is), refused for archived channels
 * and for users outside the channel's team; posts `system_join_channel` / `system_add_to_channel`.
 */
export function addChannelMember(state: FakeState, actor: UserProfile, channel: Channel, user: UserProfile): ChannelMembership {
  const existing = state.channelMember(channel.id, user.id);
  if (existing) return existing;
  if (channel.delete_at !== 0) {
    throw new FakeAppError(400, 'api.channel.add_user_to_channel.deleted.app_error', 'The channel has been archived or deleted.');
  }
  if (!state.teamMember(channel.team_id, user.id)) {
    throw new FakeAppError(404, 'app.team.get_member.missing.app_error', 'No team member found for that user ID and team ID.');
  }
  const m = addMembership(state, channel, user, false);
  if (actor.id === user.id) {
    systemPost(state, user, channel, 'system_join_channel', `${user.username} joined the channel.`, { username: user.username });
  } else {
    systemPost(state, actor, channel, 'system_add_to_channel', `${user.username} added to the channel by ${actor.username}.`, {
      userId: actor.id, username: actor.username, addedUserId: user.id, addedUsername: user.username,
    });
  }
  state.broadcast({ event: 'user_added', data: { user_id: user.id, team_id: channel.team_id }, channelId: channel.id });
  return m;
}

export function archiveChannel(state: FakeState, actor: UserProfile, channel: Channel): void {
  if (channel.delete_at !== 0) {
    throw new FakeAppError(400, 'api.channel.delete_channel.deleted.app_error', 'The channel has been archived or deleted.');
  }
  systemPost(state, actor, channel, 'system_channel_deleted', `${actor.username} archived the channel`, { username: actor.username });
  const now = state.now();
  channel.delete_at = now;
  channel.update_at = now;
  state.broadcast({ event: 'channel_deleted', data: { channel_id: channel.id, delete_at: now }, teamId: channel.team_id });
}

export function restoreChannel(state: FakeState, actor: UserProfile, channel: Channel): Channel {
  if (channel.delete_at === 0) {
    throw new FakeAppError(400, 'api.channel.restore_channel.restored.app_error', 'Unable to unarchive channel. The channel is not archived.');
  }
  channel.delete_at = 0;
  channel.update_at = state.now();
  systemPost(state, actor, channel, 'system_channel_restored', `${actor.username} unarchived the channel`, { username: actor.username });
  state.broadcast({ event: 'channel_restored', data: { channel_id: channel.id }, teamId: channel.team_id });
  return channel;
}

/** app `PatchChannel`: applies the patch and posts the change messages the web app shows. */
export function patchChannel(
  state: FakeState,
  actor: UserProfile,
  channel: Channel,
  patch: { display_name?: string; header?: string; purpose?: string; name?: string },
): Channel {
  validateChannelFields(patch);
  // SqlChannelStore.updateChannelT refuses any update of an archived channel.
  if (channel.delete_at !== 0) {
    throw new FakeAppError(400, 'store.sql_channel.update.archived_channel.app_error', 'You can not update an archived channel.');
  }
  if (patch.name !== undefined && patch.name !== channel.name) {
    if (state.channelByName(channel.team_id, patch.name)) {
      throw new FakeAppError(400, 'store.sql_channel.update.exists.app_error', 'A channel with that handle already exists.');
    }
    channel.name = patch.name;
  }
  if (patch.display_name !== undefined && patch.display_name !== channel.display_name) {
    const old = channel.display_name;
    channel.display_name = patch.display_name;
    systemPost(state, actor, channel, 'system_displayname_change', `${actor.username} updated the channel display name from: ${old} to: ${patch.display_name}`, {
      username: actor.username, old_displayname: old, new_displayname: patch.display_name,
    });
  }
  if (patch.header !== undefined && patch.header !== channel.header) {
    const old = channel.header;
    channel.header = patch.header;
    systemPost(state, actor, channel, 'system_header_change', `${actor.username} updated the channel header from: ${old} to: ${patch.header}`, {
      username: actor.username, old_header: old, new_header: patch.header,
    });
  }
  if (patch.purpose !== undefined && patch.purpose !== channel.purpose) {
    const old = channel.purpose;
    channel.purpose = patch.purpose;
    systemPost(state, actor, channel, 'system_purpose_change', `${actor.username} updated the channel purpose from: ${old} to: ${patch.purpose}`, {
      username: actor.username, old_purpose: old, new_purpose: patch.purpose,
    });
  }
  channel.update_at = state.now();
  state.broadcast({ event: 'channel_updated', data: { channel: JSON.stringify(channel) }, channelId: channel.id });
  return channel;
}

/**
 * app `PermanentDeleteChannel`: the channel's posts (and their reactions and files), its members and
 * the channel row are removed for good; the name becomes free again.
 */
export function permanentDeleteChannel(state: FakeState, channel: Channel): void {
  for (const [id, p] of state.posts) {
    if (p.channel_id !== channel.id) continue;
    state.posts.delete(id);
    state.reactions.delete(id);
  }
  for (const [id, f] of state.files) if (f.info.channel_id === channel.id) state.files.delete(id);
  state.channelMembers.delete(channel.id);
  state.channels.delete(channel.id);
}
