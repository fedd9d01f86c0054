/**
 * Private groups (apps/meteor/app/api/server/v1/groups.ts): create, info, invite, members, archive,
 * unarchive, rename, delete, setTopic / setAnnouncement / setDescription and history. Archived groups answer
 * `error-room-archived` wherever upstream uses `findPrivateGroupByIdOrName` with its default
 * `checkedArchived = true` (members, archive, the setters); info, unarchive and history allow them.
 */
import { MeteorError, failure, unauthorized } from '../errors.js';
import { channelHistory } from '../history.js';
import { ok, type Router } from '../http.js';
import { addUsersToRoom, archiveRoom, createGroup, eraseRoom, findPrivateGroup, renameRoom, saveRoomSetting, unarchiveRoom } from '../rooms.js';
import { publicMessage, publicRoom } from '../serialize.js';
import type { UserDoc } from '../state.js';
import { pagination, type Deps } from './deps.js';

export function registerGroupRoutes(router: Router, { state }: Deps): void {
  router.add('POST', '/api/v1/groups.create', (ctx) => {
    const b = ctx.body;
    if (!state.hasPermission(ctx.user._id, 'create-p')) throw unauthorized();
    if (!b.name) throw failure('Body param "name" is required');
    if (b.members !== undefined && !Array.isArray(b.members)) throw failure('Body param "members" must be an array if provided');
    if (b.customFields !== undefined && typeof b.customFields !== 'object') throw failure('Body param "customFields" must be an object if provided');
    if (b.extraData !== undefined && typeof b.extraData !== 'object') throw failure('Body param "extraData" must be an object if provided');
    const room = createGroup(state, ctx.user, {
      name: String(b.name),
      members: ((b.members as unknown[] | undefined) ?? []).map(String),
      readOnly: b.readOnly === true,
      excludeSelf: b.excludeSelf === true,
      customFields: b.customFields as Record<string, unknown> | undefined,
      extraData: b.extraData as Record<string, unknown> | undefined,
    });
    return ok({ group: publicRoom(room) });
  });

  router.add('GET', '/api/v1/groups.info', (ctx) => ok({ group: publicRoom(findPrivateGroup(state, ctx.query, ctx.user._id, false)) }));

  router.add('POST', '/api/v1/groups.invite', (ctx) => {
    const b = ctx.body;
    const idOrName = String(b.roomId ?? b.roomName ?? '');
    if (!idOrName.trim()) throw new MeteorError('error-room-param-not-provided', 'The parameter "roomId" or "roomName" is required');
    const room = state.rooms.get(idOrName) ?? state.roomByName(idOrName);
    if (!room || room.t !== 'p') {
      throw new MeteorError('error-room-not-found', 'The required "roomId" or "roomName" param provided does not match any group');
    }
    const users = userListFromParams(b, (id) => state.users.get(id), (name) => state.userByName(name));
    if (!users.length) throw new MeteorError('error-empty-invite-list', 'Cannot invite if no valid users are provided');
    addUsersToRoom(state, ctx.user, room, users);
    return ok({ group: publicRoom(room) });
  });

  router.add('GET', '/api/v1/groups.members', (ctx) => {
    const room = findPrivateGroup(state, ctx.query, ctx.user._id);
    const { offset, count } = pagination(ctx.query);
    const all = state.members(room._id).flatMap((s) => {
      const u = state.users.get(s.u._id);
      return u ? [{ _id: u._id, status: u.status, name: u.name, utcOffset: u.utcOffset, username: u.username, _updatedAt: u._updatedAt }] : [];
    });
    const members = all.slice(offset, offset + count);
    return ok({ members, count: members.length, offset, total: all.length });
  });

  router.add('POST', '/api/v1/groups.archive', (ctx) => {
    archiveRoom(state, ctx.user, findPrivateGroup(state, ctx.body, ctx.user._id));
    return ok();
  });

  router.add('POST', '/api/v1/groups.rename', (ctx) => {
    const name = ctx.body.name;
    if (typeof name !== 'string' || !name.trim()) throw failure('The bodyParam "name" is required');
    const room = findPrivateGroup(state, { roomId: ctx.body.roomId }, ctx.user._id);
    renameRoom(state, ctx.user, room, name);
    return ok({ group: publicRoom(room) });
  });

  // findPrivateGroupByIdOrName without the archive check, then eraseRoom.
  router.add('POST', '/api/v1/groups.delete', (ctx) => {
    eraseRoom(state, ctx.user, findPrivateGroup(state, ctx.body, ctx.user._id, false)._id);
    return ok();
  });

  router.add('POST', '/api/v1/groups.unarchive', (ctx) => {
    unarchiveRoom(state, ctx.user, findPrivateGroup(state, ctx.body, ctx.user._id, false));
    return ok();
  });

  const setter = (endpoint: string, field: 'topic' | 'announcement' | 'description', key: 'roomTopic' | 'roomAnnouncement' | 'roomDescription') =>
    router.add('POST', `/api/v1/groups.${endpoint}`, (ctx) => {
      if (!Object.prototype.hasOwnProperty.call(ctx.body, field)) throw failure(`The bodyParam "${field}" is required`);
      const room = findPrivateGroup(state, ctx.body, ctx.user._id);
      const value = ctx.body[field];
      saveRoomSetting(state, ctx.user, room, key, typeof value === 'string' ? value : '');
      return ok({ [field]: typeof value === 'string' ? value : '' });
    });
  setter('setTopic', 'topic', 'roomTopic');
  setter('setAnnouncement', 'announcement', 'roomAnnouncement');
  setter('setDescription', 'description', 'roomDescription');

  router.add('GET', '/api/v1/groups.history', (ctx) => {
    const room = findPrivateGroup(state, ctx.query, ctx.user._id, false);
    const q = ctx.query;
    const date = (s: string | undefined) => (s ? new Date(s) : undefined);
    const messages = channelHistory(state, room._id, {
      latest: date(q.latest),
      oldest: date(q.oldest),
      inclusive: q.inclusive === 'true',
      count: q.count ? Number.parseInt(q.count, 10) : 20,
      offset: q.offset ? Number.parseInt(q.offset, 10) : 0,
      showThreadMessages: q.showThreadMessages !== 'false',
    });
    return ok({ messages: messages.map(publicMessage) });
  });
}

/** `getUserListFromParams`: userId/username plus userIds/usernames; any unknown one is an error. */
export function userListFromParams(
  b: Record<string, unknown>,
  byId: (id: string) => UserDoc | undefined,
  byName: (name: string) => UserDoc | undefined,
): UserDoc[] {
  const ids = [...((b.userIds as unknown[] | undefined) ?? []), b.userId].filter((v): v is string => typeof v === 'string' && v !== '');
  const names = [...((b.usernames as unknown[] | undefined) ?? []), b.username].filter((v): v is string => typeof v === 'string' && v !== '');
  const out = new Map<string, UserDoc>();
  for (const id of new Set(ids)) {
    const u = byId(id);
    if (!u) throw new MeteorError('error-invalid-user', 'The required "userId" or "username" param provided does not match any users');
    out.set(u._id, u);
  }
  for (const name of new Set(names)) {
    const u = byName(name);
    if (!u) throw new MeteorError('error-invalid-user', 'The required "userId" or "username" param provided does not match any users');
    out.set(u._id, u);
  }
  return [...out.values()];
}
