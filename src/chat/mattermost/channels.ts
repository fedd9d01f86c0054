/**
 * Teams, customer channels and their members on Mattermost.
 *
 * A customer channel is the private channel `wa-<key>` (never the phone number). Creation is safe under
 * concurrency: when two workers race, the loser's create fails with Mattermost's "exists" error and it
 * re-reads the winner's channel by name. Archived channels are unarchived, never re-created (the name
 * stays taken). Membership is checked when a channel is created or restored and otherwise at most once
 * per `memberTtlMs`, so a steady conversation costs one GET per message.
 */
import type { Channel } from '@mattermost/types/channels';
import type { Group } from '@mattermost/types/groups';
import type { UserProfile } from '@mattermost/types/users';
import type { ChannelRemoval, CustomerChannelSpec } from '../platform.js';
import { RelaisError } from '../../core/errors.js';
import type { Logger } from '../../log.js';
import { call, httpStatus, serverErrorId, type RelaisClient4 } from './client.js';
import { customerChannelName, isRetiredChannelName, retiredChannelName, truncateRunes } from '../channel-name.js';

const CHANNEL_EXISTS = 'store.sql_channel.save_channel.exists.app_error';
const ALREADY_ARCHIVED = 'api.channel.delete_channel.deleted.app_error';
/** `DELETE /channels/{id}?permanent=true` refused because `ServiceSettings.EnableAPIChannelDeletion` is off (401). */
const DELETION_DISABLED = new Set(['api.user.delete_channel.not_enabled.app_error', 'api.user.delete_channel.not_enabled.for_admin.app_error']);
const MAX_DISPLAY_NAME = 64;
const MAX_HEADER = 1024;
const MAX_PURPOSE = 250;

export interface ChannelDeps {
  api: RelaisClient4;
  logger: Logger;
  botUserId: () => Promise<string>;
  memberTtlMs: number;
  now?: () => number;
}

export class ChannelManager {
  private readonly teams = new Map<string, Promise<string>>();
  private readonly inFlight = new Map<string, Promise<string>>();
  private readonly membersCheckedAt = new Map<string, number>();
  private readonly warned = new Set<string>();
  private readonly now: () => number;

  constructor(private readonly deps: ChannelDeps) {
    this.now = deps.now ?? Date.now;
  }

  /**
   * The id of team `name`, making sure the bot is a member (joining it when the team allows). Cached
   * on success; network I/O; throws RelaisError (`chat_team_not_found`, `chat_auth_failed`, retryable).
   */
  ensureTeam(name: string): Promise<string> {
    let p = this.teams.get(name);
    if (!p) {
      p = this.resolveTeam(name);
      this.teams.set(name, p);
      p.catch(() => this.teams.delete(name));
    }
    return p;
  }

  private async resolveTeam(name: string): Promise<string> {
    const { api } = this.deps;
    const botId = await this.deps.botUserId();
    let teamId: string;
    try {
      teamId = (await call('getTeamByName', () => api.getTeamByName(name))).id;
    } catch (err) {
      if (httpStatus(err) !== 404) throw err;
      throw new RelaisError('chat_team_not_found', `Mattermost team "${name}" not found or not visible to the bot: check the configured team name and add the bot to that team`, { retryable: false, cause: err });
    }
    try {
      await call('getTeamMember', () => api.getTeamMember(teamId, botId));
      return teamId;
    } catch (err) {
      const status = httpStatus(err);
      if (status !== 404 && status !== 403) throw err;
    }
    try {
      await call('addToTeam', () => api.addToTeam(teamId, botId));
    } catch (err) {
      if (httpStatus(err) !== 403) throw err;
      throw new RelaisError('chat_auth_failed', `The bot is not a member of Mattermost team "${name}" and may not join it: add the bot to the team (System Console › User Management › Teams) and check MATTERMOST_TOKEN`, { retryable: false, cause: err });
    }
    this.deps.logger.info({ team: name }, 'mattermost bot joined team');
    return teamId;
  }

  /** See `ChatPlatform.ensureCustomerChannel`. Concurrent calls for one channel share one attempt. */
  ensureCustomerChannel(spec: CustomerChannelSpec): Promise<string> {
    const name = customerChannelName(spec.key);
    const key = `${spec.team}/${name}`;
    let p = this.inFlight.get(key);
    if (!p) {
      p = this.ensure(spec, name).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, p);
    }
    return p;
  }

  private async lookup(teamId: string, name: string): Promise<Channel | null> {
    try {
      return await call('getChannelByName', () => this.deps.api.getChannelByName(teamId, name, true));
    } catch (err) {
      if (httpStatus(err) === 404) return null;
      throw err;
    }
  }

  private async ensure(spec: CustomerChannelSpec, name: string): Promise<string> {
    const { api, logger } = this.deps;
    const teamId = await this.ensureTeam(spec.team);
    let channel = await this.lookup(teamId, name);
    let fresh = false;
    if (!channel) {
      const displayName = truncateRunes(spec.displayName.trim(), MAX_DISPLAY_NAME) || name;
      try {
        channel = await call('createChannel', () => api.createChannel({
          team_id: teamId,
          name,
          display_name: displayName,
          type: 'P',
          header: truncateRunes(spec.header ?? '', MAX_HEADER),
          purpose: truncateRunes(spec.purpose ?? '', MAX_PURPOSE),
        }));
        fresh = true;
        logger.info({ channel: channel.id }, 'mattermost customer channel created');
      } catch (err) {
        if (serverErrorId(err) !== CHANNEL_EXISTS) throw err;
        channel = await this.lookup(teamId, name);
        if (!channel) {
          throw new RelaisError('chat_channel_unavailable', `Mattermost channel ${name} exists but the bot cannot see it: add the bot back to that private channel`, { retryable: false, cause: err });
        }
      }
    }
    if (channel.delete_at > 0) {
      try {
        await call('unarchiveChannel', () => api.unarchiveChannel((channel as Channel).id));
      } catch (err) {
        if (httpStatus(err) !== 403) throw err;
        throw new RelaisError('chat_auth_failed', `Mattermost channel ${name} is archived and the bot may not unarchive it: unarchiving needs the manage_team permission, so make the bot a team admin of "${spec.team}"`, { retryable: false, cause: err });
      }
      fresh = true;
      logger.info({ channel: channel.id }, 'mattermost customer channel unarchived');
    }
    await this.ensureMembers(channel.id, spec.agents, fresh);
    return channel.id;
  }

  private async ensureMembers(channelId: string, agents: string[], force: boolean): Promise<void> {
    const cacheKey = `${channelId}|${[...agents].sort().join(',')}`;
    const checked = this.membersCheckedAt.get(cacheKey);
    if (!force && checked !== undefined && this.now() - checked < this.deps.memberTtlMs) return;
    const { api } = this.deps;
    const wanted = new Set([await this.deps.botUserId(), ...(await this.resolveAgents(agents))]);
    const present = new Set<string>();
    for (let page = 0; ; page++) {
      const members = await call('getChannelMembers', () => api.getChannelMembers(channelId, page, 200));
      for (const m of members) present.add(m.user_id);
      if (members.length < 200) break;
    }
    for (const userId of wanted) {
      if (present.has(userId)) continue;
      try {
        await call('addToChannel', () => api.addToChannel(userId, channelId));
      } catch (err) {
        if (err instanceof RelaisError && err.retryable) throw err;
        this.warnOnce(`member:${userId}`, { user: userId, code: (err as RelaisError).code, status: httpStatus(err) }, 'mattermost agent could not be added to a customer channel');
      }
    }
    this.membersCheckedAt.set(cacheKey, this.now());
  }

  /** User ids for usernames and `@group` names; unknown names are logged once and skipped. */
  private async resolveAgents(agents: string[]): Promise<string[]> {
    const { api } = this.deps;
    const ids: string[] = [];
    const usernames = agents.filter((a) => !a.startsWith('@')).map((a) => a.trim()).filter(Boolean);
    for (const group of agents.filter((a) => a.startsWith('@')).map((a) => a.slice(1).trim()).filter(Boolean)) {
      const members = await this.groupMembers(group);
      if (members) ids.push(...members.map((u) => u.id));
      else usernames.push(group); // `@alice` without a group named alice: try the user alice
    }
    if (usernames.length > 0) {
      const found = await call('getProfilesByUsernames', () => api.getProfilesByUsernames(usernames));
      const byName = new Map(found.map((u) => [u.username, u.id]));
      for (const name of usernames) {
        const id = byName.get(name);
        if (id) ids.push(id);
        else this.warnOnce(`agent:${name}`, { agent: name }, 'mattermost agent or group not found, skipped');
      }
    }
    return ids;
  }

  /** Members of group `name`, or null when there is no such group (or groups are unavailable). */
  private async groupMembers(name: string): Promise<UserProfile[] | null> {
    const { api } = this.deps;
    let groups: Group[];
    try {
      groups = await call('getGroups', () => api.getJson<Group[]>(`/groups?q=${encodeURIComponent(name)}&per_page=200`));
    } catch (err) {
      if (err instanceof RelaisError && err.retryable) throw err;
      this.warnOnce('groups-unavailable', { status: httpStatus(err) }, 'mattermost groups API unavailable (licence or permission); @group agents are looked up as users');
      return null;
    }
    const group = groups.find((g) => g.name === name && g.delete_at === 0);
    if (!group) return null;
    const members: UserProfile[] = [];
    for (let page = 0; ; page++) {
      const res = await call('getGroupMembers', () =>
        api.getJson<{ members: UserProfile[] }>(`/groups/${group.id}/members?page=${page}&per_page=200`));
      members.push(...res.members);
      if (res.members.length < 200) return members;
    }
  }

  private warnOnce(key: string, fields: Record<string, unknown>, msg: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.deps.logger.warn(fields, msg);
  }

  /** See `ChatPlatform.updateCustomerChannel`: patches only what changed. */
  async updateCustomerChannel(channelId: string, patch: { displayName?: string; header?: string }): Promise<void> {
    const { api } = this.deps;
    const current = await call('getChannel', () => api.getChannel(channelId));
    const body: Partial<Channel> = {};
    const displayName = patch.displayName === undefined ? undefined : truncateRunes(patch.displayName.trim(), MAX_DISPLAY_NAME);
    if (displayName && displayName !== current.display_name) body.display_name = displayName;
    const header = patch.header === undefined ? undefined : truncateRunes(patch.header, MAX_HEADER);
    if (header !== undefined && header !== current.header) body.header = header;
    if (Object.keys(body).length === 0) return;
    await call('patchChannel', () => api.patchChannel(channelId, body));
  }

  /** The channel (archived ones included), or null when it no longer exists. */
  private async channelOrNull(channelId: string): Promise<Channel | null> {
    try {
      return await call('getChannel', () => this.deps.api.getChannel(channelId));
    } catch (err) {
      if (httpStatus(err) === 404) return null;
      throw err;
    }
  }

  /**
   * See `ChatPlatform.deleteCustomerChannel`: `DELETE /channels/{id}?permanent=true` (posts, members
   * and the channel row go; needs `delete_private_channel`, which channel members have by default).
   * Refused with 401 while `ServiceSettings.EnableAPIChannelDeletion` is off (the default): then the
   * channel is retired instead and the result says so.
   */
  async deleteCustomerChannel(channelId: string): Promise<ChannelRemoval> {
    const { api, logger } = this.deps;
    if (!(await this.channelOrNull(channelId))) return { outcome: 'deleted' };
    try {
      await call('deleteChannel', () => api.deletePath(`/channels/${encodeURIComponent(channelId)}?permanent=true`));
      logger.info({ channel: channelId }, 'mattermost customer channel deleted');
      return { outcome: 'deleted' };
    } catch (err) {
      if (httpStatus(err) === 404) return { outcome: 'deleted' };
      if (!DELETION_DISABLED.has(serverErrorId(err) ?? '')) throw err;
    }
    await this.archiveCustomerChannel(channelId);
    return {
      outcome: 'archived',
      detail: 'Mattermost refuses to delete channels through its API (ServiceSettings.EnableAPIChannelDeletion is off), so the channel was archived instead: enable that setting to let Relais delete channels, or delete this one with "mmctl channel delete"',
    };
  }

  /**
   * See `ChatPlatform.archiveCustomerChannel`. Renames the channel to its retired name (a patch is
   * refused on an archived channel, so an archived one is restored first, which needs `manage_team`),
   * then archives it. Idempotent: a retired channel or a missing one is left as is.
   */
  async archiveCustomerChannel(channelId: string): Promise<void> {
    const { api, logger } = this.deps;
    let channel = await this.channelOrNull(channelId);
    if (!channel) return;
    if (!isRetiredChannelName(channel.name)) {
      if (channel.delete_at > 0) {
        await call('unarchiveChannel', () => api.unarchiveChannel(channelId));
        channel = { ...channel, delete_at: 0 };
      }
      const name = retiredChannelName(channel.name, this.now());
      await call('patchChannel', () => api.patchChannel(channelId, { name }));
    }
    if (channel.delete_at === 0) {
      try {
        await call('deleteChannel', () => api.deleteChannel(channelId));
      } catch (err) {
        if (serverErrorId(err) !== ALREADY_ARCHIVED) throw err;
      }
    }
    this.membersCheckedAt.forEach((_, k) => { if (k.startsWith(`${channelId}|`)) this.membersCheckedAt.delete(k); });
    logger.info({ channel: channelId }, 'mattermost customer channel retired (renamed and archived)');
  }
}
