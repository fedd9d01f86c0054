/**
 * The fake server's data: users and their tokens, rooms, subscriptions (room memberships), messages,
 * the trash of deleted messages, uploads, teams and permissions. Dates are kept as `Date` so that
 * `JSON.stringify` writes them as REST does (ISO strings) and the DDP layer can write EJSON `{$date}`.
 *
 * Every change that the real server would broadcast is announced to `listeners` (the DDP hub).
 */
import { loginToken, meteorId } from './ids.js';

export interface UserRef {
  _id: string;
  username: string;
  name?: string;
}

export interface UserDoc {
  _id: string;
  username: string;
  name: string;
  type: 'user' | 'bot';
  roles: string[];
  active: boolean;
  status: 'online' | 'offline';
  utcOffset: number;
  createdAt: Date;
  _updatedAt: Date;
  /** Plain text, only for `login {user, password}`; absent means password login is impossible. */
  password?: string;
}

export interface TokenDoc {
  token: string;
  userId: string;
  when: Date;
  type: 'personalAccessToken' | 'login';
}

export interface RoomDoc {
  _id: string;
  t: 'p' | 'c';
  name: string;
  fname: string;
  u: UserRef;
  ts: Date;
  _updatedAt: Date;
  msgs: number;
  usersCount: number;
  ro: boolean;
  default: boolean;
  sysMes: boolean;
  customFields: Record<string, unknown>;
  broadcast: boolean;
  encrypted: boolean;
  topic?: string;
  announcement?: string;
  description?: string;
  archived?: boolean;
  lm?: Date;
  lastMessage?: MessageDoc;
  teamId?: string;
  teamMain?: boolean;
}

export interface SubscriptionDoc {
  _id: string;
  rid: string;
  u: UserRef;
  name: string;
  fname: string;
  t: 'p' | 'c';
  roles: string[];
  ts: Date;
  ls: Date;
  _updatedAt: Date;
  open: boolean;
  alert: boolean;
  unread: number;
  archived?: boolean;
}

export interface FileProp {
  _id: string;
  name: string;
  type: string;
  size: number;
  format: string;
  typeGroup?: string;
}

export interface MessageDoc {
  _id: string;
  rid: string;
  msg: string;
  ts: Date;
  u: UserRef;
  _updatedAt: Date;
  t?: string;
  tmid?: string;
  tshow?: boolean;
  alias?: string;
  avatar?: string;
  emoji?: string;
  groupable?: boolean;
  attachments?: Record<string, unknown>[];
  file?: FileProp;
  files?: FileProp[];
  reactions?: Record<string, { usernames: string[] }>;
  customFields?: Record<string, unknown>;
  editedAt?: Date;
  editedBy?: { _id: string; username: string };
  tcount?: number;
  tlm?: Date;
  replies?: string[];
  urls?: unknown[];
  mentions?: unknown[];
  channels?: unknown[];
  bot?: unknown;
}

export interface UploadDoc {
  _id: string;
  name: string;
  size: number;
  type: string;
  rid: string;
  userId: string;
  uploadedAt: Date;
  _updatedAt: Date;
  complete: boolean;
  /** Temporary until confirmed by rooms.mediaConfirm (or a message that uses it). */
  expiresAt?: Date;
  confirmed: boolean;
  typeGroup: string;
  identify?: { format: 'png' | 'gif' | 'jpeg'; size: { width: number; height: number } };
  originalFileId?: string;
  description?: string;
  path: string;
  url: string;
  data: Buffer;
}

export interface TeamDoc {
  _id: string;
  name: string;
  type: 0 | 1;
  roomId: string;
  createdAt: Date;
  createdBy: { _id: string; username: string };
  members: { userId: string; roles: string[]; createdAt: Date; createdBy: { _id: string; username: string } }[];
}

/** What the DDP hub (and anyone else) hears. */
export type StateEvent =
  | { kind: 'message'; message: MessageDoc }
  | { kind: 'message-deleted'; rid: string; _id: string }
  | { kind: 'subscription'; action: 'inserted' | 'updated' | 'removed'; sub: SubscriptionDoc }
  | { kind: 'room'; action: 'inserted' | 'updated'; room: RoomDoc };

/**
 * Default roles of the permissions the fake checks (Rocket.Chat's upsertPermissions defaults).
 * Room-scoped roles (`owner`, `moderator`, `leader`) come from the subscription.
 */
export const DEFAULT_PERMISSION_ROLES: Record<string, string[]> = {
  'access-permissions': ['admin'],
  'add-user-to-any-p-room': ['admin'],
  'add-user-to-joined-room': ['admin', 'owner', 'moderator'],
  'api-bypass-rate-limit': ['admin', 'bot', 'app'],
  'archive-room': ['admin', 'owner'],
  'unarchive-room': ['admin'],
  'create-p': ['admin', 'user', 'bot', 'app'],
  'delete-c': ['admin', 'owner'],
  'delete-message': ['admin', 'owner', 'moderator'],
  'delete-p': ['admin', 'owner'],
  'delete-own-message': ['admin', 'user'],
  'edit-message': ['admin', 'owner', 'moderator'],
  'edit-room': ['admin', 'owner', 'moderator'],
  'force-delete-message': ['admin', 'owner'],
  'message-impersonate': ['bot', 'app'],
  'post-readonly': ['admin', 'owner', 'moderator'],
  'send-many-messages': ['admin', 'bot', 'app'],
  'view-broadcast-member-list': ['admin', 'owner', 'moderator'],
  'view-full-other-user-info': ['admin'],
  'view-other-user-channels': ['admin'],
  'view-all-teams': ['admin'],
  'view-room-administration': ['admin'],
};

export class FakeState {
  readonly users = new Map<string, UserDoc>();
  readonly tokens = new Map<string, TokenDoc>();
  readonly rooms = new Map<string, RoomDoc>();
  /** Keyed `${rid}:${userId}`. */
  readonly subscriptions = new Map<string, SubscriptionDoc>();
  readonly messages = new Map<string, MessageDoc>();
  /** Deleted messages, as `chat.syncMessages` reports them. */
  readonly trash = new Map<string, { _id: string; rid: string; _deletedAt: Date }>();
  readonly uploads = new Map<string, UploadDoc>();
  readonly teams = new Map<string, TeamDoc>();
  readonly permissionRoles: Record<string, string[]>;
  /** Per-user overrides set by the test (`setPermission`). */
  readonly userPermissions = new Map<string, Map<string, boolean>>();
  readonly listeners = new Set<(e: StateEvent) => void>();
  /** Largest message size (`Message_MaxAllowedSize`). */
  maxMessageSize = 5000;

  constructor(rolePermissions: Record<string, string[]> = {}) {
    this.permissionRoles = { ...DEFAULT_PERMISSION_ROLES, ...rolePermissions };
  }

  emit(e: StateEvent): void {
    for (const l of this.listeners) l(e);
  }

  // ---------------- users and tokens ----------------

  addUser(u: { username: string; name?: string; roles?: string[]; password?: string }): UserDoc {
    if (this.userByName(u.username)) throw new Error(`fake: user ${u.username} exists`);
    const now = new Date();
    const roles = u.roles ?? ['user'];
    const doc: UserDoc = {
      _id: meteorId(),
      username: u.username,
      name: u.name ?? u.username,
      type: roles.includes('bot') ? 'bot' : 'user',
      roles,
      active: true,
      status: 'online',
      utcOffset: 0,
      createdAt: now,
      _updatedAt: now,
      ...(u.password !== undefined && { password: u.password }),
    };
    this.users.set(doc._id, doc);
    return doc;
  }

  userByName(username: string): UserDoc | undefined {
    for (const u of this.users.values()) if (u.username === username) return u;
    return undefined;
  }

  issueToken(userId: string, type: TokenDoc['type']): TokenDoc {
    const t: TokenDoc = { token: loginToken(), userId, when: new Date(), type };
    this.tokens.set(t.token, t);
    return t;
  }

  /** The user owning this token, if the id matches (REST header auth and `rc_uid`/`rc_token`). */
  authenticate(userId: string | undefined, token: string | undefined): UserDoc | undefined {
    if (!userId || !token) return undefined;
    const t = this.tokens.get(token);
    if (!t || t.userId !== userId) return undefined;
    return this.users.get(userId);
  }

  // ---------------- rooms and memberships ----------------

  roomByName(name: string): RoomDoc | undefined {
    for (const r of this.rooms.values()) if (r.name === name) return r;
    return undefined;
  }

  sub(rid: string, userId: string): SubscriptionDoc | undefined {
    return this.subscriptions.get(`${rid}:${userId}`);
  }

  members(rid: string): SubscriptionDoc[] {
    return [...this.subscriptions.values()].filter((s) => s.rid === rid);
  }

  /** `canAccessRoom`: public rooms for everyone, private groups for their members. */
  canAccessRoom(room: RoomDoc, userId: string | null | undefined): boolean {
    if (!userId) return false;
    if (room.t === 'c') return true;
    return this.sub(room._id, userId) !== undefined;
  }

  // ---------------- permissions ----------------

  hasRole(userId: string, role: string, rid?: string): boolean {
    const u = this.users.get(userId);
    if (u?.roles.includes(role)) return true;
    return rid !== undefined && (this.sub(rid, userId)?.roles.includes(role) ?? false);
  }

  hasPermission(userId: string, permission: string, rid?: string): boolean {
    const override = this.userPermissions.get(userId)?.get(permission);
    if (override !== undefined) return override;
    const roles = this.permissionRoles[permission] ?? [];
    return roles.some((role) => this.hasRole(userId, role, rid));
  }

  setPermission(userId: string, permission: string, allowed: boolean): void {
    let m = this.userPermissions.get(userId);
    if (!m) this.userPermissions.set(userId, (m = new Map()));
    m.set(permission, allowed);
  }

  // ---------------- messages ----------------

  /** Messages of a room, oldest first. */
  roomMessages(rid: string): MessageDoc[] {
    return [...this.messages.values()].filter((m) => m.rid === rid).sort((a, b) => a.ts.getTime() - b.ts.getTime());
  }
}
