/**
 * Customer rooms and their members on Rocket.Chat.
 *
 * A customer room is the private group `wa-<key>` (never the phone number). Rocket.Chat's default
 * `UI_Allow_room_names_with_special_chars = false` keeps room names to `[0-9a-zA-Z-_.]`, so the
 * customer's display name ("Ana Souza · +55••••••21") cannot be the room's name: it goes into the
 * room's **announcement** (the banner above the conversation), `spec.header` into the **topic** (shown
 * next to the name) and `spec.purpose` into the **description**. Each is set only when it differs
 * (every change posts a system message).
 *
 * Creation is safe under concurrency: when two workers race, the loser's `groups.create` fails with
 * `error-duplicate-channel-name` and it re-reads the winner's group; `error-archived-duplicate-name`
 * means the group exists archived. Archived groups are unarchived (`groups.unarchive`, which needs the
 * `unarchive-room` permission — admin only by default), never re-created. Members are checked when a
 * group is created or restored and otherwise at most once per `memberTtlMs`.
 *
 * Agents (`spec.agents`): a username (`alice` or `@alice`), `team:<name>` (members of that team, as
 * `teams.members` shows them to the bot: the bot must be a team member or hold `view-all-teams`) or
 * `role:<name>` (`roles.getUsersInRole`, which needs `access-permissions`; a bot is refused on 7.x,
 * which is logged once as a warning and skipped). Unknown names are logged once and skipped.
 */
import type { ChannelRemoval, CustomerChannelSpec } from '../platform.js';
import { RelaisError } from '../../core/errors.js';
import type { Logger } from '../../log.js';
import { errorIdOfError, httpErrorOf, type RocketChatRest } from './rest.js';
import type { RcRoom } from './wire.js';
import { customerChannelName, isRetiredChannelName, retiredChannelName, truncateRunes } from '../channel-name.js';

export const MAX_DISPLAY_NAME = 64;
const MAX_TOPIC = 250;
const PAGE = 100;

export interface ChannelDeps {
  rest: RocketChatRest;
  logger: Logger;
  botUserId: string;
  memberTtlMs: number;
  now?: () => number;
}

type RoomSetting = 'topic' | 'announcement' | 'description';
const SETTERS: Record<RoomSetting, string> = { topic: 'groups.setTopic', announcement: 'groups.setAnnouncement', description: 'groups.setDescription' };

export class ChannelManager {
  private readonly inFlight = new Map<string, Promise<string>>();
  private readonly membersCheckedAt = new Map<string, number>();
  private readonly warned = new Set<string>();
  private readonly now: () => number;

  constructor(private readonly deps: ChannelDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** See `ChatPlatform.ensureCustomerChannel`. Concurrent calls for one key share one attempt. */
  ensureCustomerChannel(spec: CustomerChannelSpec): Promise<string> {
    const name = customerChannelName(spec.key);
    let p = this.inFlight.get(name);
    if (!p) {
      p = this.ensure(spec, name).finally(() => this.inFlight.delete(name));
      this.inFlight.set(name, p);
    }
    return p;
  }

  /** The group named `name` as the bot sees it (archived included), or null. */
  private async lookup(name: string): Promise<RcRoom | null> {
    try {
      return (await this.deps.rest.get<{ group: RcRoom }>('groups.info', 'groups.info', { roomName: name })).group;
    } catch (err) {
      if (errorIdOfError(err) === 'error-room-not-found') return null;
      throw err;
    }
  }

  private async ensure(spec: CustomerChannelSpec, name: string): Promise<string> {
    const { rest, logger } = this.deps;
    let room = await this.lookup(name);
    let fresh = false;
    if (!room) {
      const usernames = await this.resolveAgents(spec.agents);
      try {
        room = (await rest.post<{ group: RcRoom }>('groups.create', 'groups.create', { name, members: usernames.map((u) => u.username) })).group;
        fresh = true;
        logger.info({ channel: room._id }, 'rocketchat customer group created');
      } catch (err) {
        const id = errorIdOfError(err);
        if (id !== 'error-duplicate-channel-name' && id !== 'error-archived-duplicate-name') throw err;
        room = await this.lookup(name);
        if (!room) {
          throw new RelaisError('chat_channel_unavailable', `Rocket.Chat room ${name} exists but the bot cannot see it: add the bot back to that private group`, { retryable: false, cause: err });
        }
      }
    }
    if (room.archived) {
      try {
        await rest.post('groups.unarchive', 'groups.unarchive', { roomId: room._id });
      } catch (err) {
        const id = errorIdOfError(err);
        const status = httpErrorOf(err)?.status;
        if (id !== 'error-not-authorized' && id !== 'error-action-not-allowed' && status !== 403) throw err;
        throw new RelaisError('chat_auth_failed', `Rocket.Chat group ${name} is archived and the bot may not unarchive it: grant the unarchive-room permission to the bot role (Administration › Permissions)`, { retryable: false, cause: err });
      }
      room = { ...room, archived: false };
      fresh = true;
      logger.info({ channel: room._id }, 'rocketchat customer group unarchived');
    }
    await this.applySettings(room, {
      announcement: truncateRunes(spec.displayName.trim(), MAX_DISPLAY_NAME),
      ...(spec.header !== undefined && { topic: truncateRunes(spec.header, MAX_TOPIC) }),
      ...(spec.purpose !== undefined && { description: spec.purpose }),
    });
    await this.ensureMembers(room._id, spec.agents, fresh);
    return room._id;
  }

  /** Sets each given setting that differs from `room`'s (one request and one system message each). */
  private async applySettings(room: RcRoom, wanted: Partial<Record<RoomSetting, string>>): Promise<void> {
    for (const key of Object.keys(wanted) as RoomSetting[]) {
      const value = wanted[key] as string;
      if ((room[key] ?? '') === value) continue;
      await this.deps.rest.post(SETTERS[key], SETTERS[key], { roomId: room._id, [key]: value });
    }
  }

  /**
   * Throws `chat_channel_archived` (permanent) when the group is archived. Rocket.Chat stores a
   * message sent to an archived group (#12906) where agents no longer look, instead of refusing it
   * as Mattermost does; the refusal lets the caller restore the group (`ensureCustomerChannel`) and
   * post again.
   */
  async assertNotArchived(roomId: string): Promise<void> {
    const room = (await this.deps.rest.get<{ group: RcRoom }>('groups.info', 'groups.info', { roomId })).group;
    if (room.archived) {
      throw new RelaisError('chat_channel_archived', 'The Rocket.Chat group is archived: restore it before posting', { retryable: false });
    }
  }

  /** See `ChatPlatform.updateCustomerChannel`: patches only what changed. */
  async updateCustomerChannel(roomId: string, patch: { displayName?: string; header?: string }): Promise<void> {
    const room = (await this.deps.rest.get<{ group: RcRoom }>('groups.info', 'groups.info', { roomId })).group;
    const wanted: Partial<Record<RoomSetting, string>> = {};
    const displayName = patch.displayName === undefined ? '' : truncateRunes(patch.displayName.trim(), MAX_DISPLAY_NAME);
    if (displayName) wanted.announcement = displayName;
    if (patch.header !== undefined) wanted.topic = truncateRunes(patch.header, MAX_TOPIC);
    await this.applySettings(room, wanted);
  }

  private async ensureMembers(roomId: string, agents: string[], force: boolean): Promise<void> {
    const cacheKey = `${roomId}|${[...agents].sort().join(',')}`;
    const checked = this.membersCheckedAt.get(cacheKey);
    if (!force && checked !== undefined && this.now() - checked < this.deps.memberTtlMs) return;
    const { rest, botUserId } = this.deps;
    const present = new Set<string>();
    for (let offset = 0; ; offset += PAGE) {
      const res = await rest.get<{ members: { _id: string }[]; total?: number }>('groups.members', 'groups.members', { roomId, offset, count: PAGE });
      for (const m of res.members) present.add(m._id);
      if (res.members.length < PAGE) break;
    }
    // The bot cannot add itself to a private group it is not in; it is there as creator or invitee.
    if (!present.has(botUserId)) {
      this.warnOnce(`bot:${roomId}`, { channel: roomId }, 'rocketchat bot is not listed as a member of its customer group');
    }
    for (const user of await this.resolveAgents(agents)) {
      if (present.has(user._id)) continue;
      try {
        await rest.post('groups.invite', 'groups.invite', { roomId, userId: user._id });
      } catch (err) {
        if (err instanceof RelaisError && err.retryable) throw err;
        this.warnOnce(`member:${user._id}`, { user: user.username, code: (err as RelaisError).code, errorId: errorIdOfError(err) }, 'rocketchat agent could not be added to a customer group');
      }
    }
    this.membersCheckedAt.set(cacheKey, this.now());
  }

  /** The users behind `agents` (see the module comment), de-duplicated, the bot excluded. */
  private async resolveAgents(agents: string[]): Promise<{ _id: string; username: string }[]> {
    const out = new Map<string, { _id: string; username: string }>();
    for (const raw of agents.map((a) => a.trim()).filter(Boolean)) {
      let users: { _id: string; username: string }[] = [];
      if (raw.startsWith('team:')) users = await this.teamMembers(raw.slice(5).trim());
      else if (raw.startsWith('role:')) users = await this.roleMembers(raw.slice(5).trim());
      else {
        const user = await this.user(raw.replace(/^@/, ''));
        if (user) users = [user];
      }
      for (const u of users) if (u._id !== this.deps.botUserId) out.set(u._id, u);
    }
    return [...out.values()];
  }

  private async user(username: string): Promise<{ _id: string; username: string } | null> {
    try {
      const { user } = await this.deps.rest.get<{ user: { _id: string; username: string } }>('users.info', 'users.info', { username });
      return { _id: user._id, username: user.username };
    } catch (err) {
      if (err instanceof RelaisError && err.retryable) throw err;
      this.warnOnce(`agent:${username}`, { agent: username, errorId: errorIdOfError(err) }, 'rocketchat agent not found, skipped');
      return null;
    }
  }

  private async teamMembers(team: string): Promise<{ _id: string; username: string }[]> {
    const users: { _id: string; username: string }[] = [];
    try {
      for (let offset = 0; ; offset += PAGE) {
        const res = await this.deps.rest.get<{ members: { user: { _id: string; username: string } }[] }>('teams.members', 'teams.members', { teamName: team, offset, count: PAGE });
        users.push(...res.members.map((m) => ({ _id: m.user._id, username: m.user.username })));
        if (res.members.length < PAGE) break;
      }
    } catch (err) {
      if (err instanceof RelaisError && err.retryable) throw err;
      this.warnOnce(`team:${team}`, { team, errorId: errorIdOfError(err) }, 'rocketchat team of agents not found or not readable, skipped');
      return [];
    }
    if (users.length === 0) {
      this.warnOnce(`team-empty:${team}`, { team }, 'rocketchat team of agents shows no members to the bot: add the bot to the team or grant it view-all-teams');
    }
    return users;
  }

  private async roleMembers(role: string): Promise<{ _id: string; username: string }[]> {
    const users: { _id: string; username: string }[] = [];
    try {
      for (let offset = 0; ; offset += PAGE) {
        const res = await this.deps.rest.get<{ users: { _id: string; username: string }[] }>('roles.getUsersInRole', 'roles.getUsersInRole', { role, offset, count: PAGE });
        users.push(...res.users.map((u) => ({ _id: u._id, username: u.username })));
        if (res.users.length < PAGE) break;
      }
    } catch (err) {
      if (err instanceof RelaisError && err.retryable) throw err;
      const status = httpErrorOf(err)?.status;
      const refused = status === 401 || status === 403 || errorIdOfError(err) === 'error-unauthorized';
      this.warnOnce(`role:${role}`, { role, status, errorId: errorIdOfError(err) }, refused
        ? 'rocketchat role agents skipped: listing users in a role needs the access-permissions permission, which the bot role lacks by default; list the agents by username or team instead'
        : 'rocketchat role of agents not found, skipped');
      return [];
    }
    return users;
  }

  private warnOnce(key: string, fields: Record<string, unknown>, msg: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.deps.logger.warn(fields, msg);
  }

  /** The group by id as the bot sees it (archived included), or null when it does not exist (or the bot may not see it). */
  private async groupById(roomId: string): Promise<RcRoom | null> {
    try {
      return (await this.deps.rest.get<{ group: RcRoom }>('groups.info', 'groups.info', { roomId })).group;
    } catch (err) {
      if (errorIdOfError(err) === 'error-room-not-found') return null;
      throw err;
    }
  }

  /**
   * See `ChatPlatform.deleteCustomerChannel`: `rooms.delete` (Rocket.Chat's `eraseRoom`: messages,
   * uploaded files, subscriptions and the room go). Needs `delete-p`, which the group's owner (the
   * bot, its creator) has by default; refused (`error-not-allowed`), the group is retired instead
   * and the result says so. A room that no longer exists answers `error-invalid-room`.
   */
  async deleteCustomerChannel(roomId: string): Promise<ChannelRemoval> {
    try {
      await this.deps.rest.post('rooms.delete', 'rooms.delete', { roomId });
    } catch (err) {
      const id = errorIdOfError(err);
      if (id === 'error-not-allowed') {
        await this.archiveCustomerChannel(roomId);
        return {
          outcome: 'archived',
          detail: 'Rocket.Chat refused to let the bot delete the customer group (it needs the delete-p permission on it, which group owners have by default), so the group was archived instead: grant delete-p to the bot role (Administration › Permissions) to let Relais delete groups',
        };
      }
      if (id !== 'error-invalid-room') throw err;
    }
    this.forgetMembers(roomId);
    this.deps.logger.info({ channel: roomId }, 'rocketchat customer group deleted');
    return { outcome: 'deleted' };
  }

  /**
   * See `ChatPlatform.archiveCustomerChannel`: `groups.rename` to the retired name (refused on an
   * archived group, so an archived one is unarchived first: `unarchive-room`), then `groups.archive`
   * (`archive-room`, which the owner has). Idempotent.
   */
  async archiveCustomerChannel(roomId: string): Promise<void> {
    const { rest, logger } = this.deps;
    const room = await this.groupById(roomId);
    if (!room) return;
    let archived = room.archived === true;
    if (!isRetiredChannelName(room.name)) {
      if (archived) {
        await rest.post('groups.unarchive', 'groups.unarchive', { roomId });
        archived = false;
      }
      await rest.post('groups.rename', 'groups.rename', { roomId, name: retiredChannelName(room.name, this.now()) });
    }
    if (!archived) {
      try {
        await rest.post('groups.archive', 'groups.archive', { roomId });
      } catch (err) {
        if (errorIdOfError(err) !== 'error-room-archived') throw err;
      }
    }
    this.forgetMembers(roomId);
    logger.info({ channel: roomId }, 'rocketchat customer group retired (renamed and archived)');
  }

  private forgetMembers(roomId: string): void {
    for (const k of [...this.membersCheckedAt.keys()]) if (k.startsWith(`${roomId}|`)) this.membersCheckedAt.delete(k);
  }
}
