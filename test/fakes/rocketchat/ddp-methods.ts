/**
 * DDP methods a bot (and the SDK's helpers) call, with the server's argument checks and results.
 * Each takes the session's user (or null) and the EJSON-revived params; results are EJSON-encoded by
 * the hub. `sendMessage` keeps the server's quirks: only `error-not-allowed` is reported, any other
 * failure (duplicate `_id` included) yields an empty result; its `check()` refuses `alias`, `avatar`,
 * `emoji` and `attachments` (REST-only fields) with `Match failed`.
 */
import { MeteorError } from './errors.js';
import { loadHistory } from './history.js';
import { deleteMessage, executeSendMessage, updateMessage, type SendOptions } from './messages.js';
import { executeSetReaction } from './reactions.js';
import { addUsersToRoom, archiveRoom, createGroup, unarchiveRoom } from './rooms.js';
import { publicMessage, publicRoom, publicSubscription } from './serialize.js';
import type { FakeState, UserDoc } from './state.js';
import { createHash } from 'node:crypto';

export interface MethodSession {
  userId: string | null;
  token: string | null;
}

export interface MethodContext {
  state: FakeState;
  send: SendOptions;
  session: MethodSession;
  /** Broadcast a client write on a notify stream (`stream-notify-room`). */
  notifyRoom: (eventName: string, args: unknown[], from: MethodSession) => void;
}

type Method = (ctx: MethodContext, params: unknown[]) => unknown;

/** Login tokens expire after `Accounts_LoginExpiration` (90 days). */
const LOGIN_EXPIRATION_MS = 90 * 24 * 3600 * 1000;

function requireUser(ctx: MethodContext, method: string): UserDoc {
  const u = ctx.session.userId ? ctx.state.users.get(ctx.session.userId) : undefined;
  if (!u) throw new MeteorError('error-invalid-user', 'Invalid user', { method });
  return u;
}

const SEND_MESSAGE_KEYS = new Set(['_id', 'rid', 'msg', 'tmid', 'tshow', 'ts', 't', 'bot', 'content', 'e2e', 'e2eMentions', 'customFields', 'federation', 'groupable', 'sentByEmail']);

function login(ctx: MethodContext, params: unknown[]): unknown {
  const opts = (params[0] ?? {}) as Record<string, unknown>;
  let userId: string;
  let token: string;
  let when: Date;
  let type: 'resume' | 'password';
  if (typeof opts.resume === 'string') {
    const t = ctx.state.tokens.get(opts.resume);
    if (!t) throw new MeteorError(403, "You've been logged out by the server. Please log in again.");
    ({ userId, token, when } = t);
    type = 'resume';
  } else if (opts.user && opts.password !== undefined) {
    const sel = opts.user as { username?: string; email?: string };
    const user = sel.username ? ctx.state.userByName(sel.username) : sel.email ? ctx.state.userByName(sel.email.split('@')[0] ?? '') : undefined;
    if (!user) throw new MeteorError(403, 'User not found');
    const pw = opts.password as string | { digest?: string };
    const digest = typeof pw === 'string' ? createHash('sha256').update(pw).digest('hex') : pw.digest;
    if (user.password === undefined || createHash('sha256').update(user.password).digest('hex') !== digest) throw new MeteorError(403, 'Incorrect password');
    const t = ctx.state.issueToken(user._id, 'login');
    ({ userId, token, when } = t);
    type = 'password';
  } else {
    throw new MeteorError(400, 'Unrecognized options for login request');
  }
  ctx.session.userId = userId;
  ctx.session.token = token;
  return { id: userId, token, tokenExpires: new Date(when.getTime() + LOGIN_EXPIRATION_MS), type };
}

export const METHODS: Record<string, Method> = {
  login,

  logout(ctx) {
    ctx.session.userId = null;
    ctx.session.token = null;
    return undefined;
  },

  sendMessage(ctx, [message]) {
    if (!message || typeof message !== 'object') throw new MeteorError(400, 'Match failed');
    for (const k of Object.keys(message)) if (!SEND_MESSAGE_KEYS.has(k)) throw new MeteorError(400, 'Match failed');
    const user = requireUser(ctx, 'sendMessage');
    const m = message as Record<string, unknown>;
    if (typeof m.t === 'string' && m.t !== 'e2e') throw new Error("Cannot send system messages using 'sendMessage'");
    try {
      const sent = executeSendMessage(ctx.state, user, m, ctx.send);
      return sent ? publicMessage(sent) : undefined;
    } catch (e) {
      const code = e instanceof MeteorError ? e.error : e instanceof Error ? e.message : undefined;
      if (code === 'error-not-allowed') throw new MeteorError('error-not-allowed', e instanceof MeteorError ? e.reason : undefined, { method: 'sendMessage' });
      return undefined;
    }
  },

  updateMessage(ctx, [message]) {
    const user = requireUser(ctx, 'updateMessage');
    const m = (message ?? {}) as { _id?: string; msg?: string };
    const original = m._id ? ctx.state.messages.get(m._id) : undefined;
    if (!original) throw new MeteorError('error-invalid-message_id', 'Invalid message id', { method: 'updateMessage' });
    updateMessage(ctx.state, user, original, typeof m.msg === 'string' ? m.msg : '');
    return undefined;
  },

  deleteMessage(ctx, [message]) {
    const user = requireUser(ctx, 'deleteMessage');
    const id = (message as { _id?: string } | undefined)?._id;
    const original = id ? ctx.state.messages.get(id) : undefined;
    if (!original) throw new MeteorError('error-invalid-message', 'Invalid message', { method: 'deleteMessage' });
    deleteMessage(ctx.state, user, original);
    return undefined;
  },

  setReaction(ctx, [reaction, messageId, shouldReact]) {
    const user = requireUser(ctx, 'setReaction');
    try {
      executeSetReaction(ctx.state, user, String(reaction ?? ''), String(messageId ?? ''), typeof shouldReact === 'boolean' ? shouldReact : undefined);
      return undefined;
    } catch (e) {
      if (e instanceof MeteorError && e.error === 'error-not-allowed' && e.details?.rid) return false;
      throw e;
    }
  },

  loadHistory(ctx, [rid, end, limit, , showThreadMessages]) {
    const user = requireUser(ctx, 'loadHistory');
    const room = typeof rid === 'string' ? ctx.state.rooms.get(rid) : undefined;
    if (!room || !ctx.state.canAccessRoom(room, user._id)) return false;
    const messages = loadHistory(ctx.state, room._id, end instanceof Date ? end : null, typeof limit === 'number' ? limit : 20, showThreadMessages !== false);
    return { messages: messages.map(publicMessage), unreadNotLoaded: 0 };
  },

  getRoomRoles(ctx, [rid]) {
    const user = requireUser(ctx, 'getRoomRoles');
    const room = typeof rid === 'string' ? ctx.state.rooms.get(rid) : undefined;
    if (!room || !ctx.state.canAccessRoom(room, user._id)) throw new MeteorError('error-invalid-room', 'Invalid room', { method: 'getRoomRoles' });
    return ctx.state
      .members(room._id)
      .filter((s) => s.roles.some((r) => r === 'owner' || r === 'moderator' || r === 'leader'))
      .map((s) => ({ _id: s._id, rid: s.rid, u: s.u, roles: s.roles }));
  },

  getRoomIdByNameOrId(ctx, [nameOrId]) {
    const user = requireUser(ctx, 'getRoomIdByNameOrId');
    const key = String(nameOrId ?? '');
    const room = ctx.state.rooms.get(key) ?? ctx.state.roomByName(key);
    if (!room) return null;
    if (!ctx.state.canAccessRoom(room, user._id)) throw new MeteorError('error-not-allowed', 'Not allowed', { method: 'getRoomIdByNameOrId' });
    return room._id;
  },

  'subscriptions/get'(ctx, [updatedSince]) {
    const user = requireUser(ctx, 'subscriptions/get');
    const subs = [...ctx.state.subscriptions.values()].filter((s) => s.u._id === user._id).map(publicSubscription);
    if (updatedSince instanceof Date) return { update: subs.filter((s) => s._updatedAt > updatedSince), remove: [] };
    return subs;
  },

  'rooms/get'(ctx, [updatedSince]) {
    const user = requireUser(ctx, 'rooms/get');
    const rooms = [...ctx.state.rooms.values()].filter((r) => ctx.state.sub(r._id, user._id)).map(publicRoom);
    if (updatedSince instanceof Date) return { update: rooms.filter((r) => r._updatedAt > updatedSince), remove: [] };
    return rooms;
  },

  getUsersOfRoom(ctx, [rid]) {
    const user = requireUser(ctx, 'getUsersOfRoom');
    const room = typeof rid === 'string' ? ctx.state.rooms.get(rid) : undefined;
    if (!room || !ctx.state.canAccessRoom(room, user._id)) throw new MeteorError('error-not-allowed', 'Not allowed', { method: 'getUsersOfRoom' });
    const records = ctx.state.members(room._id).flatMap((s) => {
      const u = ctx.state.users.get(s.u._id);
      return u ? [{ _id: u._id, username: u.username, name: u.name, status: u.status }] : [];
    });
    return { total: records.length, records };
  },

  createPrivateGroup(ctx, [name, members, readOnly, customFields, extraData]) {
    const user = requireUser(ctx, 'createPrivateGroup');
    if (!ctx.state.hasPermission(user._id, 'create-p')) throw new MeteorError('error-not-allowed', 'Not allowed', { method: 'createPrivateGroup' });
    const room = createGroup(ctx.state, user, {
      name: String(name ?? ''),
      members: Array.isArray(members) ? members.map(String) : [],
      readOnly: readOnly === true,
      customFields: customFields as Record<string, unknown> | undefined,
      extraData: extraData as Record<string, unknown> | undefined,
    });
    return { rid: room._id, name: room.name };
  },

  addUsersToRoom(ctx, [data]) {
    const user = requireUser(ctx, 'addUsersToRoom');
    const { rid, users } = (data ?? {}) as { rid?: string; users?: string[] };
    const room = rid ? ctx.state.rooms.get(rid) : undefined;
    if (!room) throw new MeteorError('error-invalid-room', 'Invalid room', { method: 'addUsersToRoom' });
    const docs = (users ?? []).map((n) => {
      const u = ctx.state.userByName(n);
      if (!u) throw new MeteorError('error-user-not-found', 'User not found', { method: 'addUsersToRoom' });
      return u;
    });
    addUsersToRoom(ctx.state, user, room, docs);
    return true;
  },

  archiveRoom(ctx, [rid]) {
    const user = requireUser(ctx, 'archiveRoom');
    const room = typeof rid === 'string' ? ctx.state.rooms.get(rid) : undefined;
    if (!room) throw new MeteorError('error-invalid-room', 'Invalid room', { method: 'archiveRoom' });
    archiveRoom(ctx.state, user, room);
    return undefined;
  },

  unarchiveRoom(ctx, [rid]) {
    const user = requireUser(ctx, 'unarchiveRoom');
    const room = typeof rid === 'string' ? ctx.state.rooms.get(rid) : undefined;
    if (!room) throw new MeteorError('error-invalid-room', 'Invalid room', { method: 'unarchiveRoom' });
    unarchiveRoom(ctx.state, user, room);
    return undefined;
  },

  readMessages(ctx, [rid]) {
    const user = requireUser(ctx, 'readMessages');
    const sub = typeof rid === 'string' ? ctx.state.sub(rid, user._id) : undefined;
    if (sub) {
      sub.ls = new Date();
      sub.unread = 0;
      sub.alert = false;
    }
    return undefined;
  },

  'stream-notify-room'(ctx, [eventName, ...args]) {
    const user = requireUser(ctx, 'stream-notify-room');
    const [rid, event] = String(eventName ?? '').split('/');
    const room = rid ? ctx.state.rooms.get(rid) : undefined;
    const writable = event === 'typing' || event === 'user-activity';
    if (!room || !writable || !ctx.state.canAccessRoom(room, user._id)) return false;
    ctx.notifyRoom(String(eventName), args, ctx.session);
    return undefined;
  },

  'UserPresence:setDefaultStatus'(ctx) {
    requireUser(ctx, 'UserPresence:setDefaultStatus');
    return true;
  },
  'UserPresence:online'() {
    return undefined;
  },
  'UserPresence:away'() {
    return undefined;
  },
};
