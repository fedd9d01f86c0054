/**
 * `/commands`: custom slash command registration, listing, reading and updating, with api4/command.go's
 * checks (needs `manage_slash_commands`, which the default scheme gives team and system admins; they also
 * hold `manage_others_slash_commands`).
 */
import type { Command } from '@mattermost/types/integrations';
import { FakeAppError, invalidParam, notImplemented, permissionDenied } from '../errors.js';
import { bodyObject, json, type Router } from '../http.js';
import { createPost } from '../posts-core.js';
import { type FakeState, isValidId, newId } from '../state.js';

/** `ServiceSettings.OutgoingIntegrationRequestsTimeout` default (30 s). */
const OUTGOING_TIMEOUT_MS = 30_000;

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** `SetCommandNotFoundError`: also what callers without permission get, so ids do not leak. */
const commandNotFound = (): FakeAppError => new FakeAppError(404, 'store.sql_command.save.get.app_error', 'Unable to get the command.');

/** `model.Command.IsValid` for the fields a client sets. */
function validate(c: Pick<Command, 'trigger' | 'url' | 'method'>): void {
  if (c.trigger.length < 1 || c.trigger.length > 128 || c.trigger.startsWith('/') || /\s/.test(c.trigger)) {
    throw new FakeAppError(400, 'model.command.is_valid.trigger.app_error', 'Invalid trigger.');
  }
  if (!/^https?:\/\/[^\s]+$/.test(c.url) || c.url.length > 1024) {
    throw new FakeAppError(400, 'model.command.is_valid.url.app_error', 'Invalid URL.');
  }
  if (c.method !== 'P' && c.method !== 'G') {
    throw new FakeAppError(400, 'model.command.is_valid.method.app_error', 'Invalid Method.');
  }
}

/** `validateCommandTriggerUniqueness` (built-in triggers are not modelled). */
function requireUniqueTrigger(state: FakeState, teamId: string, trigger: string, exceptId = ''): void {
  for (const c of state.commands.values()) {
    if (c.team_id === teamId && c.id !== exceptId && c.trigger.toLowerCase() === trigger && c.delete_at === 0) {
      throw new FakeAppError(400, 'api.command.duplicate_trigger.app_error', 'This trigger word is already in use. Please choose another word.');
    }
  }
}

export function registerCommandRoutes(router: Router, state: FakeState): void {
  router.add('POST', '/api/v4/commands', (ctx) => {
    const body = bodyObject(ctx, 'command');
    const teamId = str(body.team_id);
    if (!state.teams.has(teamId)) throw invalidParam('team_id');
    // Default scheme: team admins and system admins manage slash commands.
    if (!state.isTeamAdmin(ctx.user, teamId)) throw permissionDenied();
    // app.createCommand lowercases the trigger before checking it.
    const trigger = str(body.trigger).toLowerCase();
    const url = str(body.url);
    const method = str(body.method) as Command['method'];
    validate({ trigger, url, method });
    requireUniqueTrigger(state, teamId, trigger);
    const now = state.now();
    const command: Command = {
      id: newId(),
      token: newId(),
      create_at: now,
      update_at: now,
      delete_at: 0,
      creator_id: ctx.user.id,
      team_id: teamId,
      trigger,
      method,
      username: str(body.username),
      icon_url: str(body.icon_url),
      auto_complete: body.auto_complete === true,
      auto_complete_desc: str(body.auto_complete_desc),
      auto_complete_hint: str(body.auto_complete_hint),
      display_name: str(body.display_name),
      description: str(body.description),
      url,
    };
    state.commands.set(command.id, command);
    return json(201, command);
  });

  // `custom_only=true` lists the team's custom commands; the built-in commands (`/away`, `/join`, …)
  // that the real server adds otherwise are not modelled.
  router.add('GET', '/api/v4/commands', (ctx) => {
    const teamId = ctx.query.get('team_id') ?? '';
    if (!state.teams.has(teamId)) throw invalidParam('team_id');
    if (ctx.query.get('custom_only') !== 'true') {
      if (!state.teamMember(teamId, ctx.user.id) && !state.isSystemAdmin(ctx.user)) throw permissionDenied();
      throw notImplemented('the built-in slash commands in GET /api/v4/commands (use custom_only=true)');
    }
    if (!state.isTeamAdmin(ctx.user, teamId)) throw permissionDenied();
    return json(200, [...state.commands.values()].filter((c) => c.team_id === teamId && c.delete_at === 0));
  });

  router.add('GET', '/api/v4/commands/{command_id}', (ctx) => {
    const c = state.commands.get(ctx.params.command_id as string);
    if (!c || c.delete_at !== 0 || !state.isTeamAdmin(ctx.user, c.team_id)) throw commandNotFound();
    return json(200, c);
  });

  // api4 updateCommand + app.UpdateCommand: the body's id must be the path's, the team cannot change,
  // and id, token, creator, team and timestamps are kept from the stored command whatever the body says.
  router.add('PUT', '/api/v4/commands/{command_id}', (ctx) => {
    const id = ctx.params.command_id as string;
    const body = bodyObject(ctx, 'command');
    if (str(body.id) !== id) throw invalidParam('command');
    const old = state.commands.get(id);
    if (!old || old.delete_at !== 0) throw commandNotFound();
    if (str(body.team_id) !== old.team_id) {
      throw new FakeAppError(400, 'api.command.team_mismatch.app_error', 'Unable to update command across teams.');
    }
    if (!state.isTeamAdmin(ctx.user, old.team_id)) throw commandNotFound();
    const trigger = str(body.trigger).toLowerCase();
    const updated: Command = {
      ...old,
      trigger,
      url: str(body.url),
      method: str(body.method) as Command['method'],
      username: str(body.username),
      icon_url: str(body.icon_url),
      auto_complete: body.auto_complete === true,
      auto_complete_desc: str(body.auto_complete_desc),
      auto_complete_hint: str(body.auto_complete_hint),
      display_name: str(body.display_name),
      description: str(body.description),
      update_at: state.now(),
    };
    validate(updated);
    requireUniqueTrigger(state, old.team_id, trigger, old.id);
    state.commands.set(id, updated);
    return json(200, updated);
  });

  // api4 executeCommand + app ExecuteCommand / tryExecuteCustomCommand / DoCommandRequest for the team's
  // custom commands (built-in commands and the @-mention fields are not modelled): the command's URL gets
  // the form-encoded fields with `Authorization: Token <token>`, and its answer (JSON, or plain text) comes
  // back to the caller; `in_channel` answers are posted as the caller with `from_webhook`, ephemeral
  // ones are sent to the caller alone as `ephemeral_message`.
  router.add('POST', '/api/v4/commands/execute', async (ctx) => {
    const body = bodyObject(ctx, 'command_args');
    const command = str(body.command);
    const channelId = str(body.channel_id);
    if (command.length <= 1 || !command.startsWith('/') || !isValidId(channelId)) {
      throw new FakeAppError(400, 'api.command.execute_command.start.app_error', 'No command trigger found.');
    }
    if (!state.canUseChannel(ctx.user, channelId)) throw permissionDenied();
    const channel = state.requireChannel(channelId);
    if (channel.delete_at !== 0) throw new FakeAppError(400, 'api.command.execute_command.deleted.error', 'Cannot execute commands in an archived channel.');
    const space = command.search(/\s/);
    const trigger = (space < 0 ? command : command.slice(0, space)).toLowerCase().slice(1);
    const message = space < 0 ? '' : command.slice(space + 1);
    const cmd = [...state.commands.values()].find((c) => c.team_id === channel.team_id && c.delete_at === 0 && c.trigger === trigger);
    if (!cmd) throw new FakeAppError(404, 'api.command.execute_command.not_found.app_error', `Command with a trigger of '${trigger}' not found.`);
    const team = state.teams.get(channel.team_id);
    const triggerId = Buffer.from(`${newId()}:${ctx.user.id}:${Date.now()}:fake-signature`).toString('base64');
    const siteUrl = `http://${String(ctx.headers.host ?? '127.0.0.1')}`;
    const form = new URLSearchParams({
      token: cmd.token,
      team_id: cmd.team_id,
      team_domain: team?.name ?? '',
      channel_id: channelId,
      channel_name: channel.name,
      user_id: ctx.user.id,
      user_name: ctx.user.username,
      command: `/${trigger}`,
      text: message,
      trigger_id: triggerId,
      root_id: str(body.root_id),
      response_url: `${siteUrl}/hooks/commands/${newId()}`,
    });
    const failed = () => new FakeAppError(500, 'api.command.execute_command.failed.app_error', `Command with a trigger of '${trigger}' failed.`);
    let res: Response;
    try {
      res = await fetch(cmd.method === 'G' ? `${cmd.url}${cmd.url.includes('?') ? '&' : '?'}${form}` : cmd.url, {
        method: cmd.method === 'G' ? 'GET' : 'POST',
        headers: {
          Accept: 'application/json',
          Authorization: `Token ${cmd.token}`,
          ...(cmd.method === 'G' ? {} : { 'Content-Type': 'application/x-www-form-urlencoded' }),
        },
        body: cmd.method === 'G' ? undefined : form.toString(),
        signal: AbortSignal.timeout(OUTGOING_TIMEOUT_MS),
      });
    } catch {
      throw failed();
    }
    const text = await res.text();
    if (res.status !== 200) {
      throw new FakeAppError(500, 'api.command.execute_command.failed_resp.app_error', `Command with a trigger of '${trigger}' returned response ${res.status}.`);
    }
    let response: Record<string, unknown>;
    if ((res.headers.get('content-type') ?? '').startsWith('application/json')) {
      try {
        response = JSON.parse(text) as Record<string, unknown>;
      } catch {
        throw failed();
      }
    } else {
      response = { text };
    }
    const replyText = str(response.text);
    const rootId = str(body.root_id) || undefined;
    if (response.response_type === 'in_channel') {
      createPost(state, ctx.user, { channel_id: channelId, message: replyText, root_id: rootId, props: { from_webhook: 'true' } });
    } else if (replyText) {
      const now = state.now();
      const post = {
        id: newId(), create_at: now, update_at: now, edit_at: 0, delete_at: 0, is_pinned: false, user_id: ctx.user.id,
        channel_id: channelId, root_id: rootId ?? '', original_id: '', message: replyText, type: 'system_ephemeral',
        props: {}, hashtags: '', pending_post_id: '', reply_count: 0, file_ids: [], metadata: { embeds: [], emojis: [], files: [], images: {} },
      };
      state.broadcast({ event: 'ephemeral_message', data: { post: JSON.stringify(post) }, userId: ctx.user.id });
    }
    return json(200, { ...response, trigger_id: triggerId });
  });
}
