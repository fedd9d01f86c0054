/**
 * Projections of the stored documents as the wire shows them. REST bodies are `JSON.stringify`d, which
 * writes dates as ISO strings (what REST v1 answers); DDP frames go through `toEJSON`, which writes
 * dates as `{$date: <ms>}` (what Meteor's EJSON sends).
 */
import type { MessageDoc, RoomDoc, SubscriptionDoc, UploadDoc, UserDoc } from './state.js';

/** Deep copy with every Date as `{$date}`. */
export function toEJSON(value: unknown): unknown {
  if (value instanceof Date) return { $date: value.getTime() };
  if (Array.isArray(value)) return value.map(toEJSON);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toEJSON(v);
    return out;
  }
  return value;
}

/** Revives EJSON `{$date}` values inside DDP method parameters. */
export function fromEJSON(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromEJSON);
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === '$date' && typeof o.$date === 'number') return new Date(o.$date);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) out[k] = fromEJSON(v);
    return out;
  }
  return value;
}

export function publicMessage(m: MessageDoc): MessageDoc {
  return structuredClone(m);
}

export function publicRoom(r: RoomDoc): RoomDoc {
  return structuredClone(r);
}

export function publicSubscription(s: SubscriptionDoc): SubscriptionDoc {
  return structuredClone(s);
}

/** A user as other users see it (`users.info`, members lists); `roles` only when privileged. */
export function publicUser(u: UserDoc, opts: { withRoles?: boolean } = {}): Record<string, unknown> {
  return {
    _id: u._id,
    type: u.type,
    status: u.status,
    active: u.active,
    name: u.name,
    username: u.username,
    utcOffset: u.utcOffset,
    createdAt: u.createdAt,
    _updatedAt: u._updatedAt,
    ...(opts.withRoles && { roles: [...u.roles] }),
  };
}

/** `getUserInfo(user)`: the `me` of `login` and `GET /me`. */
export function meInfo(u: UserDoc, siteUrl: string): Record<string, unknown> {
  return {
    _id: u._id,
    name: u.name,
    emails: [{ address: `${u.username}@relais.test`, verified: true }],
    status: u.status,
    statusConnection: u.status,
    username: u.username,
    utcOffset: u.utcOffset,
    active: u.active,
    roles: [...u.roles],
    settings: { preferences: {} },
    avatarUrl: `${siteUrl}/avatar/${encodeURIComponent(u.username)}`,
  };
}

/** The `files` inspector's view of an upload (bytes included). */
export function uploadView(f: UploadDoc): UploadDoc {
  return { ...f, data: Buffer.from(f.data) };
}
