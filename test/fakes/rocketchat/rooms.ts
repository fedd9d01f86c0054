/**
 * Room operations shared by REST and the test controls: `createPrivateGroup` (with getValidRoomName's
 * name rules and duplicate errors), `findPrivateGroupByIdOrName` as groups.ts uses it, inviting
 * (`addUsersToRoom`), archiving, unarchiving, renaming, erasing (`eraseRoom`) and the
 * topic/announcement/description settings — each with the permission, error id and system message of
 * the real server.
 */
import { MeteorError } from './errors.js';
import { objectIdHex, meteorId } from './ids.js';
import { insertSystemMessage } from './messages.js';
import type { FakeState, RoomDoc, SubscriptionDoc, UserDoc } from './state.js';

/** `UTF8_Channel_Names_Validation` default and `Accounts_SystemBlockedUsernameList`. */
const NAME_RULE = /^[0-9a-zA-Z\-_.]+$/;
const BLOCKED_NAMES = ['administrator', 'system', 'user'];

export function validRoomName(state: FakeState, name: string, rid = ''): string {
  if (!NAME_RULE.test(name) || BLOCKED_NAMES.includes(name.toLowerCase())) {
    throw new MeteorError('error-invalid-room-name', `${escapeHtml(name)} is not a valid room name.`, {
      function: 'RocketChat.getValidRoomName',
      channel_name: escapeHtml(name),
    });
  }
  const existing = state.roomByName(name);
  if (existing && existing._id !== rid) {
    if (existing.archived) {
      throw new MeteorError('error-archived-duplicate-name', `There's an archived channel with name ${name}`, {
        function: 'RocketChat.getValidRoomName',
        channel_name: name,
      });
    }
    throw new MeteorError('error-duplicate-channel-name', `A channel with name '${name}' exists`, {
      function: 'RocketChat.getValidRoomName',
      channel_name: name,
    });
  }
  return name;
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#x27;');
}

export function subscribe(state: FakeState, room: RoomDoc, user: UserDoc, roles: string[] = []): SubscriptionDoc {
  const now = new Date();
  const sub: SubscriptionDoc = {
    _id: meteorId(),
    rid: room._id,
    u: { _id: user._id, username: user.username, name: user.name },
    name: room.name,
    fname: room.fname,
    t: room.t,
    roles,
    ts: now,
    ls: now,
    _updatedAt: now,
    open: true,
    alert: false,
    unread: 0,
    ...(room.archived && { archived: true, open: false }),
  };
  state.subscriptions.set(`${room._id}:${user._id}`, sub);
  room.usersCount = state.members(room._id).length;
  state.emit({ kind: 'subscription', action: 'inserted', sub });
  return sub;
}

export interface CreateGroupInput {
  name: string;
  members?: string[];
  readOnly?: boolean;
  excludeSelf?: boolean;
  customFields?: Record<string, unknown>;
  extraData?: Record<string, unknown>;
  type?: 'p' | 'c';
}

/** `createPrivateGroup` → `createRoom('p', …)`. Unknown member usernames are skipped, as upstream. */
export function createGroup(state: FakeState, owner: UserDoc, input: CreateGroupInput): RoomDoc {
  const name = validRoomName(state, input.name);
  const now = new Date();
  const extra = input.extraData ?? {};
  const room: RoomDoc = {
    _id: objectIdHex(),
    fname: name,
    _updatedAt: now,
    customFields: structuredClone(input.customFields ?? {}),
    broadcast: extra.broadcast === true,
    encrypted: extra.encrypted === true,
    name,
    t: input.type ?? 'p',
    msgs: 0,
    usersCount: 0,
    u: { _id: owner._id, username: owner.username },
    ts: now,
    ro: input.readOnly === true,
    default: false,
    sysMes: true,
    ...(typeof extra.teamId === 'string' && { teamId: extra.teamId }),
  };
  state.rooms.set(room._id, room);
  state.emit({ kind: 'room', action: 'inserted', room });
  if (!input.excludeSelf) subscribe(state, room, owner, ['owner']);
  for (const username of new Set(input.members ?? [])) {
    const u = state.userByName(username);
    if (!u || state.sub(room._id, u._id)) continue;
    subscribe(state, room, u);
  }
  return room;
}

/** `findPrivateGroupByIdOrName` of groups.ts: private, accessible, optionally not archived. */
export function findPrivateGroup(
  state: FakeState,
  params: { roomId?: unknown; roomName?: unknown },
  userId: string,
  checkedArchived = true,
): RoomDoc {
  const hasId = 'roomId' in params && params.roomId !== undefined;
  const hasName = 'roomName' in params && params.roomName !== undefined;
  if ((!hasId && !hasName) || (hasId && !params.roomId && hasName && !params.roomName)) {
    throw new MeteorError('error-room-param-not-provided', 'The parameter "roomId" or "roomName" is required');
  }
  const room = hasId ? state.rooms.get(String(params.roomId)) : state.roomByName(String(params.roomName));
  if (!room || room.t !== 'p' || !state.canAccessRoom(room, userId)) {
    throw new MeteorError('error-room-not-found', 'The required "roomId" or "roomName" param provided does not match any group');
  }
  if (checkedArchived && room.archived) {
    throw new MeteorError('error-room-archived', `The private group, ${room.name}, is archived`);
  }
  return room;
}

/** `addUsersToRoom`: members with `add-user-to-joined-room`, or `add-user-to-any-p-room`. */
export function addUsersToRoom(state: FakeState, actor: UserDoc, room: RoomDoc, users: UserDoc[]): void {
  const inRoom = state.sub(room._id, actor._id) !== undefined;
  const canAdd =
    (inRoom && state.hasPermission(actor._id, 'add-user-to-joined-room', room._id)) ||
    (room.t === 'p' && state.hasPermission(actor._id, 'add-user-to-any-p-room'));
  if (!canAdd) throw new MeteorError('error-not-allowed', 'Not allowed', { method: 'addUsersToRoom' });
  for (const u of users) {
    if (state.sub(room._id, u._id)) continue;
    subscribe(state, room, u);
    insertSystemMessage(state, u._id === actor._id ? 'uj' : 'au', room, u.username, actor);
  }
}

function setArchived(state: FakeState, room: RoomDoc, archived: boolean): void {
  if (archived) room.archived = true;
  else delete room.archived;
  room._updatedAt = new Date();
  for (const sub of state.members(room._id)) {
    if (archived) {
      sub.archived = true;
      sub.open = false;
    } else {
      delete sub.archived;
      sub.open = true;
    }
    sub._updatedAt = new Date();
    state.emit({ kind: 'subscription', action: 'updated', sub });
  }
  state.emit({ kind: 'room', action: 'updated', room });
}

export function archiveRoom(state: FakeState, actor: UserDoc, room: RoomDoc): void {
  if (!state.hasPermission(actor._id, 'archive-room', room._id)) {
    throw new MeteorError('error-not-authorized', 'Not authorized', { method: 'archiveRoom' });
  }
  setArchived(state, room, true);
  insertSystemMessage(state, 'room-archived', room, '', actor);
}

/** Needs `unarchive-room` (admin only by default; grant it with `setPermission` or `rolePermissions`). */
export function unarchiveRoom(state: FakeState, actor: UserDoc, room: RoomDoc): void {
  if (!state.hasPermission(actor._id, 'unarchive-room', room._id)) {
    throw new MeteorError('error-not-authorized', 'Not authorized', { method: 'unarchiveRoom' });
  }
  setArchived(state, room, false);
  insertSystemMessage(state, 'room-unarchived', room, '', actor);
}

const SETTINGS = {
  roomTopic: { field: 'topic', type: 'room_changed_topic' },
  roomAnnouncement: { field: 'announcement', type: 'room_changed_announcement' },
  roomDescription: { field: 'description', type: 'room_changed_description' },
} as const;

/** `saveRoomSettings(rid, key, value)` for the three text settings; a change posts its system message. */
export function saveRoomSetting(state: FakeState, actor: UserDoc, room: RoomDoc, key: keyof typeof SETTINGS, value: string): void {
  if (!state.hasPermission(actor._id, 'edit-room', room._id)) {
    throw new MeteorError('error-action-not-allowed', 'Editing room is not allowed', { method: 'saveRoomSettings', action: 'Editing_room' });
  }
  const { field, type } = SETTINGS[key];
  if (room[field] === value) return;
  room[field] = value;
  room._updatedAt = new Date();
  insertSystemMessage(state, type, room, value, actor);
}

/**
 * `saveRoomSettings(rid, 'roomName', name)` as `groups.rename` calls it: `edit-room`, then
 * `saveRoomName` (same name: nothing; otherwise getValidRoomName's rules and duplicates), room and
 * subscriptions renamed, system message `r`.
 */
export function renameRoom(state: FakeState, actor: UserDoc, room: RoomDoc, name: string): void {
  if (!state.hasPermission(actor._id, 'edit-room', room._id)) {
    throw new MeteorError('error-action-not-allowed', 'Editing room is not allowed', { method: 'saveRoomSettings', action: 'Editing_room' });
  }
  if (room.name === name) return;
  validRoomName(state, name, room._id);
  room.name = name;
  room.fname = name;
  room._updatedAt = new Date();
  for (const sub of state.members(room._id)) {
    sub.name = name;
    sub.fname = name;
    sub._updatedAt = new Date();
    state.emit({ kind: 'subscription', action: 'updated', sub });
  }
  state.emit({ kind: 'room', action: 'updated', room });
  insertSystemMessage(state, 'r', room, name, actor);
}

/**
 * `eraseRoom(rid, user)` (`rooms.delete`, `groups.delete`): unknown room → `error-invalid-room`;
 * `delete-<t>` on the room (owners and admins by default) and, for a room of a team,
 * `delete-team-group` / `delete-team-channel` → otherwise `error-not-allowed`. Then `deleteRoom`:
 * the room's uploads, messages, subscriptions and the room itself are removed.
 */
export function eraseRoom(state: FakeState, actor: UserDoc, rid: string): void {
  const room = state.rooms.get(rid);
  if (!room) throw new MeteorError('error-invalid-room', 'Invalid room', { method: 'eraseRoom' });
  if (!state.hasPermission(actor._id, `delete-${room.t}`, room._id)) {
    throw new MeteorError('error-not-allowed', 'Not allowed', { method: 'eraseRoom' });
  }
  if (room.teamMain) throw new MeteorError('error-cannot-delete-team-channel', 'Cannot delete a team channel', { method: 'eraseRoom' });
  if (room.teamId) {
    const team = state.teams.get(room.teamId);
    const permission = `delete-team-${room.t === 'c' ? 'channel' : 'group'}`;
    if (team && !state.hasPermission(actor._id, permission, team.roomId)) {
      throw new MeteorError('error-not-allowed', 'Not allowed', { method: 'eraseRoom' });
    }
  }
  for (const [id, up] of state.uploads) if (up.rid === rid) state.uploads.delete(id);
  for (const [id, m] of state.messages) if (m.rid === rid) state.messages.delete(id);
  for (const sub of state.members(rid)) {
    state.subscriptions.delete(`${rid}:${sub.u._id}`);
    state.emit({ kind: 'subscription', action: 'removed', sub });
  }
  state.rooms.delete(rid);
}
