/**
 * The one insert path for messages, shared by REST `chat.sendMessage`, the DDP `sendMessage` method,
 * `rooms.mediaConfirm` and the test's `agentSend` — the order of checks follows
 * apps/meteor/app/lib/server/methods/sendMessage.ts (`executeSendMessage`) and
 * functions/sendMessage.ts: thread flags, client `ts` (refused beyond 60 s, replaced beyond 10 s),
 * size, thread parent, room access, impersonation, custom fields, then the `_id` check that makes a
 * re-sent `_id` insert nothing and return `undefined`.
 *
 * Deliberately faithful: a room being archived is NOT checked (Rocket.Chat issue #12906).
 */
import { MeteorError } from './errors.js';
import { meteorId } from './ids.js';
import type { FakeState, MessageDoc, RoomDoc, UserDoc } from './state.js';

export interface SendOptions {
  /** `Message_CustomFields_Enabled` (off by default on a real server). */
  customFieldsEnabled: boolean;
  now?: () => number;
}

const MENTION = /(?:^|[\s(])@([0-9a-zA-Z\-_.]+)/g;

function mentionsOf(state: FakeState, msg: string): unknown[] {
  const out: unknown[] = [];
  const seen = new Set<string>();
  for (const m of msg.matchAll(MENTION)) {
    const name = m[1] as string;
    if (seen.has(name)) continue;
    seen.add(name);
    if (name === 'all' || name === 'here') {
      out.push({ _id: name, username: name, type: 'user' });
      continue;
    }
    const u = state.userByName(name);
    if (u) out.push({ _id: u._id, username: u.username, name: u.name, type: 'user' });
  }
  return out;
}

/** `canSendMessageAsync`: room exists, user may access it, read-only rooms need `post-readonly`. */
export function canSendMessage(state: FakeState, rid: string, user: UserDoc): RoomDoc {
  const room = state.rooms.get(rid);
  if (!room) throw new MeteorError('error-invalid-room', 'Invalid room');
  if (!state.canAccessRoom(room, user._id)) throw new Error('error-not-allowed');
  if (room.ro && !state.hasPermission(user._id, 'post-readonly', rid)) {
    throw new Error("You can't send messages because the room is readonly.");
  }
  return room;
}

function toDate(v: unknown): Date | undefined {
  if (v === undefined || v === null) return undefined;
  if (v instanceof Date) return v;
  if (typeof v === 'string' || typeof v === 'number') return new Date(v);
  if (typeof v === 'object' && typeof (v as { $date?: unknown }).$date === 'number') return new Date((v as { $date: number }).$date);
  return undefined;
}

/**
 * Inserts a user message. Returns `undefined` when a message with the same `_id` already exists
 * (nothing inserted, nothing broadcast), exactly like the server. Throws MeteorError / Error.
 */
export function executeSendMessage(
  state: FakeState,
  user: UserDoc,
  input: Record<string, unknown>,
  opts: SendOptions,
  extra: Partial<Pick<MessageDoc, 'file' | 'files' | 'attachments' | 'groupable'>> = {},
): MessageDoc | undefined {
  const now = opts.now?.() ?? Date.now();
  if (input.tshow && !input.tmid) throw new MeteorError('invalid-params', 'tshow provided but missing tmid', { method: 'sendMessage' });

  let ts = new Date(now);
  const clientTs = toDate(input.ts);
  if (clientTs && !Number.isNaN(clientTs.getTime())) {
    const diff = Math.abs(clientTs.getTime() - now);
    if (diff > 60000) {
      throw new MeteorError('error-message-ts-out-of-sync', 'Message timestamp is out of sync', {
        method: 'sendMessage',
        message_ts: clientTs.toISOString(),
        server_ts: now,
      });
    }
    ts = diff > 10000 ? new Date(now) : clientTs;
  }

  const msg = typeof input.msg === 'string' ? input.msg : '';
  if (msg.length > state.maxMessageSize) {
    throw new MeteorError('error-message-size-exceeded', 'Message size exceeds Message_MaxAllowedSize', { method: 'sendMessage' });
  }

  let rid = typeof input.rid === 'string' ? input.rid : undefined;
  let tmid = typeof input.tmid === 'string' ? input.tmid : undefined;
  if (tmid) {
    const parent = state.messages.get(tmid);
    tmid = parent?.tmid ?? tmid;
    if (parent?.rid) rid = parent.rid;
  }
  if (!rid) throw new Error("The 'rid' property on the message object is missing.");

  const room = canSendMessage(state, rid, user);

  if ((input.alias || input.avatar) && !state.hasPermission(user._id, 'message-impersonate', rid)) {
    throw new Error('Not enough permission');
  }
  if (input.customFields !== undefined && input.customFields !== null && !opts.customFieldsEnabled) {
    throw new Error('Custom fields not enabled');
  }

  const id = typeof input._id === 'string' && input._id ? input._id : undefined;
  if (id && state.messages.has(id)) return undefined;

  const message: MessageDoc = {
    _id: id ?? meteorId(),
    rid,
    msg,
    ts,
    u: { _id: user._id, username: user.username, name: user.name },
    _updatedAt: new Date(now),
    urls: [],
    mentions: mentionsOf(state, msg),
    channels: [],
  };
  if (tmid) message.tmid = tmid;
  if (input.tshow === true) message.tshow = true;
  for (const k of ['alias', 'avatar', 'emoji'] as const) if (typeof input[k] === 'string') message[k] = input[k] as string;
  if (Array.isArray(input.attachments)) message.attachments = structuredClone(input.attachments) as Record<string, unknown>[];
  if (input.customFields && typeof input.customFields === 'object') message.customFields = structuredClone(input.customFields) as Record<string, unknown>;
  if (input.bot && typeof input.bot === 'object') message.bot = structuredClone(input.bot);
  Object.assign(message, structuredClone(extra));

  insert(state, room, message);
  return message;
}

/** `Message.saveSystemMessage(type, rid, msg, user)`: `uj`, `au`, `room-archived`, `room_changed_topic`… */
export function insertSystemMessage(state: FakeState, type: string, room: RoomDoc, msg: string, user: UserDoc): MessageDoc {
  const now = new Date();
  const message: MessageDoc = {
    _id: meteorId(),
    t: type,
    rid: room._id,
    ts: now,
    msg,
    u: { _id: user._id, username: user.username, name: user.name },
    groupable: false,
    _updatedAt: now,
  };
  insert(state, room, message);
  return message;
}

function insert(state: FakeState, room: RoomDoc, message: MessageDoc): void {
  state.messages.set(message._id, message);
  // afterSaveMessage: room counters and last message, thread parent counters.
  room.msgs += 1;
  room.lm = message.ts;
  room.lastMessage = structuredClone(message);
  room._updatedAt = new Date();
  state.emit({ kind: 'message', message });
  if (message.tmid) {
    const parent = state.messages.get(message.tmid);
    if (parent) {
      parent.tcount = (parent.tcount ?? 0) + 1;
      parent.tlm = message.ts;
      parent.replies = [...new Set([...(parent.replies ?? []), parent.u._id, message.u._id])];
      parent._updatedAt = new Date();
      state.emit({ kind: 'message', message: parent });
    }
  }
  state.emit({ kind: 'room', action: 'updated', room });
}

/** `executeUpdateMessage` for a text edit (`chat.update`, DDP `updateMessage`). */
export function updateMessage(state: FakeState, user: UserDoc, original: MessageDoc, text: string, customFields?: Record<string, unknown>): MessageDoc {
  const canEdit = state.hasPermission(user._id, 'edit-message', original.rid);
  const editOwn = original.u._id === user._id;
  if (!canEdit && !editOwn) {
    throw new MeteorError('error-action-not-allowed', 'Message editing not allowed', { method: 'updateMessage', action: 'Message_editing' });
  }
  const room = state.rooms.get(original.rid);
  if (!room) throw new MeteorError('error-invalid-room', 'Invalid room');
  if (text.length > state.maxMessageSize) throw new MeteorError('error-message-size-exceeded', 'Message size exceeds Message_MaxAllowedSize');
  const now = new Date();
  original.msg = text;
  original.mentions = mentionsOf(state, text);
  if (customFields) original.customFields = structuredClone(customFields);
  original.editedAt = now;
  original.editedBy = { _id: user._id, username: user.username };
  original._updatedAt = now;
  if (room.lastMessage?._id === original._id) room.lastMessage = structuredClone(original);
  state.emit({ kind: 'message', message: original });
  return original;
}

/** `deleteMessageValidatingPermission` + `deleteMessage` with the default settings (no history kept). */
export function deleteMessage(state: FakeState, user: UserDoc, message: MessageDoc): void {
  const allowed =
    state.hasPermission(user._id, 'force-delete-message', message.rid) ||
    state.hasPermission(user._id, 'delete-message', message.rid) ||
    (message.u._id === user._id && state.hasPermission(user._id, 'delete-own-message'));
  if (!allowed) throw new MeteorError('error-action-not-allowed', 'Not allowed', { method: 'deleteMessage', action: 'Delete_message' });
  state.messages.delete(message._id);
  state.trash.set(message._id, { _id: message._id, rid: message.rid, _deletedAt: new Date() });
  for (const f of message.files ?? []) state.uploads.delete(f._id);
  if (message.tmid) {
    const parent = state.messages.get(message.tmid);
    if (parent?.tcount) {
      parent.tcount -= 1;
      parent._updatedAt = new Date();
      state.emit({ kind: 'message', message: parent });
    }
  }
  state.emit({ kind: 'message-deleted', rid: message.rid, _id: message._id });
}
