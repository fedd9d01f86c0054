/** `/commands`: custom slash command registration and listing (needs `manage_slash_commands`). */
import type { Command } from '@mattermost/types/integrations';
import { FakeAppError, invalidParam, notImplemented, permissionDenied } from '../errors.js';
import { bodyObject, json, type Router } from '../http.js';
import { type FakeState, newId } from '../state.js';

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

export function registerCommandRoutes(router: Router, state: FakeState): void {
  router.add('POST', '/api/v4/commands', (ctx) => {
    const body = bodyObject(ctx, 'command');
    const teamId = str(body.team_id);
    if (!state.teams.has(teamId)) throw invalidParam('team_id');
    // Default scheme: team admins and system admins manage slash commands.
    if (!state.isTeamAdmin(ctx.user, teamId)) throw permissionDenied();
    const trigger = str(body.trigger);
    if (trigger.length < 1 || trigger.length > 128 || trigger.startsWith('/') || /\s/.test(trigger)) {
      throw new FakeAppError(400, 'model.command.is_valid.trigger.app_error', 'Invalid trigger.');
    }
    const url = str(body.url);
    if (!/^https?:\/\/[^\s]+$/.test(url) || url.length > 1024) {
      throw new FakeAppError(400, 'model.command.is_valid.url.app_error', 'Invalid URL.');
    }
    const method = str(body.method);
    if (method !== 'P' && method !== 'G') {
      throw new FakeAppError(400, 'model.command.is_valid.method.app_error', 'Invalid Method.');
    }
    for (const c of state.commands.values()) {
      if (c.team_id === teamId && c.trigger === trigger && c.delete_at === 0) {
        throw new FakeAppError(400, 'api.command.duplicate_trigger.app_error', 'This trigger word is already in use. Please choose another word.');
      }
    }
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
}
