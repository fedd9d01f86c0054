/**
 * The `/wa` slash command on Mattermost: registration through REST (`/api/v4/commands`) and parsing of the
 * request Mattermost sends when an agent types it.
 *
 * Registration is idempotent and owned by the bot: the team's custom command with the same trigger that
 * the bot created (or that carries our display name "Relais") is ours. It is left alone when it already
 * points at `url` with our method and autocomplete texts, updated in place otherwise (`PUT`, the token
 * survives), and created when absent. A command with that trigger made by someone else is never taken
 * over. Two replicas racing to create it both end up with the one that won.
 *
 * Mattermost executes a command by POSTing `application/x-www-form-urlencoded` fields (token, team_id,
 * team_domain, channel_id, channel_name, user_id, user_name, command, text, trigger_id, root_id,
 * response_url) with `Authorization: Token <token>`; a JSON body with the same fields is accepted too.
 */
import { randomUUID } from 'node:crypto';
import type { Command } from '@mattermost/types/integrations';
import type { ChatChannelRef, SlashCommandCapability } from '../platform.js';
import { RelaisError } from '../../core/errors.js';
import type { Logger } from '../../log.js';
import { call, httpStatus, serverErrorId, type RelaisClient4 } from './client.js';

/** Marks the commands Relais manages (shown in Integrations › Slash Commands). */
export const COMMAND_DISPLAY_NAME = 'Relais';
/** Shown as the author of in-channel responses when the server allows username overrides. */
export const COMMAND_USERNAME = 'relais';

const ID = /^[a-z0-9]{26}$/;
const DUPLICATE_TRIGGER = 'api.command.duplicate_trigger.app_error';
const COMMANDS_DISABLED = 'api.command.disabled.app_error';
/** Bigger bodies are not slash-command requests (a command's text is at most one post). */
const MAX_BODY_BYTES = 256 * 1024;

export interface SlashCommandDeps {
  api: RelaisClient4;
  logger: Logger;
  botUserId: () => Promise<string>;
  /** The team's id, making sure the bot is a member (see ChannelManager.ensureTeam). */
  ensureTeam: (name: string) => Promise<string>;
}

type Wanted = Pick<Command, 'trigger' | 'url' | 'method' | 'auto_complete' | 'auto_complete_desc' | 'auto_complete_hint' | 'display_name' | 'description' | 'username'>;

function permissionError(team: string, cause: unknown): RelaisError {
  return new RelaisError(
    'chat_command_forbidden',
    `The Relais bot may not manage slash commands in Mattermost team "${team}": grant it the manage_slash_commands permission ` +
      '(System Console › User Management › Permissions › Integrations › "Manage Slash Commands", or make the bot a team admin) ' +
      'and keep System Console › Integrations › Integration Management › "Enable Custom Slash Commands" on. ' +
      'Until then agents can type !wa … in the customer channel instead.',
    { retryable: false, cause },
  );
}

function disabledError(cause: unknown): RelaisError {
  return new RelaisError(
    'chat_commands_disabled',
    'Custom slash commands are disabled on this Mattermost server: turn on System Console › Integrations › Integration Management › ' +
      '"Enable Custom Slash Commands". Until then agents can type !wa … in the customer channel instead.',
    { retryable: false, cause },
  );
}

function triggerTaken(team: string, trigger: string, cause?: unknown): RelaisError {
  return new RelaisError(
    'chat_command_trigger_taken',
    `Mattermost team "${team}" already has a /${trigger} command that Relais did not create: delete it (Integrations › Slash Commands) ` +
      'so Relais can register its own. Agents can type !wa … in the customer channel meanwhile.',
    { retryable: false, cause },
  );
}

export class MattermostSlashCommands implements SlashCommandCapability {
  constructor(private readonly deps: SlashCommandDeps) {}

  /** See `SlashCommandCapability.registerSlashCommand`. Network I/O; throws RelaisError. */
  async registerSlashCommand(opts: { team: string; url: string; trigger: string; description: string; hint: string }): Promise<{ token: string }> {
    const trigger = opts.trigger.trim().replace(/^\/+/, '').toLowerCase();
    const wanted: Wanted = {
      trigger,
      url: opts.url,
      method: 'P',
      auto_complete: true,
      auto_complete_desc: opts.description,
      auto_complete_hint: opts.hint,
      display_name: COMMAND_DISPLAY_NAME,
      description: opts.description,
      username: COMMAND_USERNAME,
    };
    try {
      return await this.register(opts.team, wanted, true);
    } catch (err) {
      const status = httpStatus(err);
      if (status === 403) throw permissionError(opts.team, err);
      if (status === 501 && serverErrorId(err) === COMMANDS_DISABLED) throw disabledError(err);
      throw err;
    }
  }

  private async register(team: string, wanted: Wanted, mayRetryRace: boolean): Promise<{ token: string }> {
    const { api, logger } = this.deps;
    const teamId = await this.deps.ensureTeam(team);
    const botId = await this.deps.botUserId();
    const commands = await call('listCommands', () => api.getCustomTeamCommands(teamId));
    const sameTrigger = commands.filter((c) => c.delete_at === 0 && c.trigger.toLowerCase() === wanted.trigger);
    const ours = sameTrigger.find((c) => c.creator_id === botId) ?? sameTrigger.find((c) => c.display_name === COMMAND_DISPLAY_NAME);
    if (ours) {
      const stale = (Object.keys(wanted) as Array<keyof Wanted>).filter((k) => ours[k] !== wanted[k]);
      if (stale.length === 0) return { token: ours.token };
      const updated = await call('editCommand', () => api.editCommand({ ...ours, ...wanted }));
      logger.info({ team, trigger: wanted.trigger, fields: stale }, 'mattermost slash command updated');
      return { token: updated.token || ours.token };
    }
    if (sameTrigger.length > 0) throw triggerTaken(team, wanted.trigger);
    try {
      const created = await call('addCommand', () => api.addCommand({ team_id: teamId, ...wanted } as Command));
      logger.info({ team, trigger: wanted.trigger }, 'mattermost slash command registered');
      return { token: created.token };
    } catch (err) {
      if (serverErrorId(err) !== DUPLICATE_TRIGGER) throw err;
      // Another replica created it between our list and our create: take the one that won. A second
      // refusal means a command we cannot see (another user's, or a built-in) holds the trigger.
      if (mayRetryRace) return this.register(team, wanted, false);
      throw triggerTaken(team, wanted.trigger, err);
    }
  }

  /**
   * See `SlashCommandCapability.channelsVisibleTo`: one `GET /channels/{id}/members/{user_id}` per
   * channel, in parallel (the bot reads channels it is a member of); 404 or 403 means not visible.
   */
  async channelsVisibleTo(userId: string, channels: ChatChannelRef[]): Promise<Set<string>> {
    const visible = new Set<string>();
    if (!ID.test(userId)) return visible;
    await Promise.all(channels.map(async (channel) => {
      try {
        await call('getChannelMember', () => this.deps.api.getChannelMember(channel, userId));
        visible.add(channel);
      } catch (err) {
        const status = httpStatus(err);
        if (status !== 404 && status !== 403) throw err;
      }
    }));
    return visible;
  }

  /**
   * See `SlashCommandCapability.parseSlashCommand`: reads the body (form or JSON); null when the request
   * is not a slash-command POST with a token, a channel id, a user id and a command. No I/O beyond the body.
   */
  async parseSlashCommand(req: Request): Promise<{ token: string; channel: ChatChannelRef; invocationId: string; text: string; userId: string } | null> {
    if (req.method !== 'POST') return null;
    const length = Number(req.headers.get('content-length') ?? '0');
    if (Number.isFinite(length) && length > MAX_BODY_BYTES) return null;
    const type = (req.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
    let body: string;
    try {
      body = await req.text();
    } catch {
      return null;
    }
    if (body.length > MAX_BODY_BYTES) return null;
    const fields = new Map<string, string>();
    if (type === 'application/x-www-form-urlencoded') {
      for (const [k, v] of new URLSearchParams(body)) if (!fields.has(k)) fields.set(k, v);
    } else if (type === 'application/json') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        return null;
      }
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
      for (const [k, v] of Object.entries(parsed)) if (typeof v === 'string') fields.set(k, v);
    } else {
      return null;
    }
    const headerToken = /^Token\s+(\S+)$/i.exec(req.headers.get('authorization') ?? '')?.[1];
    const token = fields.get('token') || headerToken;
    const channel = fields.get('channel_id') ?? '';
    const userId = fields.get('user_id') ?? '';
    const command = fields.get('command') ?? '';
    if (!token || !ID.test(channel) || !ID.test(userId) || !command.startsWith('/')) return null;
    return {
      token,
      channel: channel as ChatChannelRef,
      invocationId: fields.get('trigger_id') || randomUUID(),
      text: fields.get('text') ?? '',
      userId,
    };
  }
}
