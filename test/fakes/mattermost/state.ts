/**
 * The fake server's in-memory state, typed with Mattermost's own types (`@mattermost/types`), plus the
 * permission rules the routes share. No I/O; everything here is synchronous so a request is atomic, like a
 * database transaction on the real server.
 */
import { randomBytes } from 'node:crypto';
import type { Channel, ChannelMembership } from '@mattermost/types/channels';
import type { FileInfo } from '@mattermost/types/files';
import type { Group } from '@mattermost/types/groups';
import type { Command } from '@mattermost/types/integrations';
import type { Post } from '@mattermost/types/posts';
import type { Reaction } from '@mattermost/types/reactions';
import type { Team, TeamMembership } from '@mattermost/types/teams';
import type { UserProfile } from '@mattermost/types/users';
import { FakeAppError, permissionDenied } from './errors.js';

/** Mattermost's id alphabet (model.NewId: base32 with this alphabet, 26 characters). */
const ID_ALPHABET = 'ybndrfg8ejkmcpqxot1uwisza345h769';

export function newId(): string {
  const bytes = randomBytes(17);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < 26) {
      out += ID_ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

export const isValidId = (id: unknown): id is string => typeof id === 'string' && /^[a-z0-9]{26}$/.test(id);

/** Number of Unicode code points ("runes" in Go), the unit of every Mattermost length limit. */
export const runeCount = (s: string): number => Array.from(s).length;

export interface StoredFile {
  info: FileInfo;
  data: Uint8Array;
}

/** A broadcast as `model.WebSocketEvent` carries it; the hub decides who receives it. */
export interface FakeBroadcast {
  event: string;
  data: Record<string, unknown>;
  channelId?: string;
  userId?: string;
  teamId?: string;
  omitUsers?: Record<string, boolean> | null;
}

export class FakeState {
  readonly users = new Map<string, UserProfile>();
  readonly tokens = new Map<string, string>(); // token → user id
  readonly teams = new Map<string, Team>();
  readonly teamMembers = new Map<string, Map<string, TeamMembership>>(); // team id → user id → member
  readonly channels = new Map<string, Channel>();
  readonly channelMembers = new Map<string, Map<string, ChannelMembership>>();
  readonly posts = new Map<string, Post>();
  readonly files = new Map<string, StoredFile>();
  readonly reactions = new Map<string, Reaction[]>(); // post id → reactions
  readonly groups = new Map<string, Group>();
  readonly groupMembers = new Map<string, Set<string>>(); // group id → user ids
  readonly commands = new Map<string, Command>();
  /** pending_post_id → post id, with the time it was seen (the server keeps these 30 s in memory). */
  readonly pendingPosts = new Map<string, { postId: string; at: number }>();

  private lastMillis = 0;
  private listeners: Array<(b: FakeBroadcast) => void> = [];

  /**
   * Server time in ms, strictly increasing so that posts created one after the other keep their order
   * (the real server can hand out equal timestamps within one millisecond; the fake never does).
   */
  now(): number {
    this.lastMillis = Math.max(Date.now(), this.lastMillis + 1);
    return this.lastMillis;
  }

  onBroadcast(listener: (b: FakeBroadcast) => void): void {
    this.listeners.push(listener);
  }

  broadcast(b: FakeBroadcast): void {
    for (const l of this.listeners) l(b);
  }

  // ---- lookups -------------------------------------------------------------------------------------

  userByName(username: string): UserProfile | undefined {
    for (const u of this.users.values()) if (u.username === username && u.delete_at === 0) return u;
    return undefined;
  }

  teamByName(name: string): Team | undefined {
    for (const t of this.teams.values()) if (t.name === name && t.delete_at === 0) return t;
    return undefined;
  }

  channelByName(teamId: string, name: string): Channel | undefined {
    for (const c of this.channels.values()) if (c.team_id === teamId && c.name === name) return c;
    return undefined;
  }

  teamMember(teamId: string, userId: string): TeamMembership | undefined {
    const m = this.teamMembers.get(teamId)?.get(userId);
    return m && m.delete_at === 0 ? m : undefined;
  }

  channelMember(channelId: string, userId: string): ChannelMembership | undefined {
    return this.channelMembers.get(channelId)?.get(userId);
  }

  requireChannel(channelId: string): Channel {
    const c = this.channels.get(channelId);
    if (!c) throw new FakeAppError(404, 'app.channel.get.existing.app_error', 'Unable to find the existing channel.');
    return c;
  }

  requirePost(postId: string): Post {
    const p = this.posts.get(postId);
    if (!p || p.delete_at !== 0) throw new FakeAppError(404, 'app.post.get.app_error', 'Unable to get the post.');
    return p;
  }

  // ---- permissions (the default permission scheme) -----------------------------------------------------

  isSystemAdmin(user: UserProfile): boolean {
    return user.roles.split(' ').includes('system_admin');
  }

  isTeamAdmin(user: UserProfile, teamId: string): boolean {
    if (this.isSystemAdmin(user)) return true;
    const m = this.teamMember(teamId, user.id);
    return !!m && m.roles.split(' ').includes('team_admin');
  }

  /** `read_channel` / `create_post` / `manage_private_channel_members`: members (and system admins). */
  canUseChannel(user: UserProfile, channelId: string): boolean {
    return this.isSystemAdmin(user) || !!this.channelMember(channelId, user.id);
  }

  requireChannelAccess(user: UserProfile, channelId: string): Channel {
    if (!this.canUseChannel(user, channelId)) throw permissionDenied();
    return this.requireChannel(channelId);
  }

  requireTeamMember(user: UserProfile, teamId: string): void {
    if (!this.isSystemAdmin(user) && !this.teamMember(teamId, user.id)) throw permissionDenied();
  }

  // ---- shaping for clients ---------------------------------------------------------------------------

  /** What `/users/*` returns to other users: no password or auth data (`User.Sanitize`). */
  sanitizeUser(u: UserProfile): UserProfile {
    return { ...u, password: '', auth_data: '' };
  }

  /** The post as `PreparePostForClient` returns it: metadata with files and reactions. */
  postForClient(p: Post): Post {
    const files = (p.file_ids ?? []).map((id) => this.files.get(id)?.info).filter((f): f is FileInfo => !!f);
    const reactions = this.reactions.get(p.id) ?? [];
    return {
      ...p,
      metadata: { embeds: [], emojis: [], images: {}, files, ...(reactions.length ? { reactions } : {}) },
    };
  }
}
