/** `/teams/*`: team lookup and membership, with the default scheme's join rules. */
import type { TeamMembership } from '@mattermost/types/teams';
import type { UserProfile } from '@mattermost/types/users';
import { FakeAppError, invalidParam, permissionDenied } from '../errors.js';
import { bodyObject, json, type Router } from '../http.js';
import type { FakeState } from '../state.js';

/** Adds (or returns the existing) team membership. Shared by the route and the test controls. */
export function addTeamMember(state: FakeState, teamId: string, user: UserProfile, admin = false): TeamMembership {
  let members = state.teamMembers.get(teamId);
  if (!members) {
    members = new Map();
    state.teamMembers.set(teamId, members);
  }
  const existing = members.get(user.id);
  if (existing && existing.delete_at === 0) {
    if (admin && !existing.roles.includes('team_admin')) {
      existing.roles = 'team_user team_admin';
      existing.scheme_admin = true;
    }
    return existing;
  }
  const m: TeamMembership = {
    team_id: teamId,
    user_id: user.id,
    roles: admin ? 'team_user team_admin' : 'team_user',
    delete_at: 0,
    scheme_admin: admin,
    scheme_guest: false,
    scheme_user: true,
    msg_count: 0,
    mention_count: 0,
    mention_count_root: 0,
    msg_count_root: 0,
    urgent_mention_count: 0,
  } as TeamMembership;
  members.set(user.id, m);
  state.broadcast({ event: 'added_to_team', data: { team_id: teamId, user_id: user.id }, userId: user.id });
  return m;
}

export function registerTeamRoutes(router: Router, state: FakeState): void {
  // Visible to members, system admins, and anyone when the team is open to everyone.
  router.add('GET', '/api/v4/teams/name/{name}', (ctx) => {
    const t = state.teamByName(ctx.params.name as string);
    const visible = t && (t.allow_open_invite || state.isSystemAdmin(ctx.user) || state.teamMember(t.id, ctx.user.id));
    if (!t || !visible) throw new FakeAppError(404, 'app.team.get_by_name.missing.app_error', 'Unable to find the existing team.');
    return json(200, t);
  });

  // Adding yourself needs `join_public_teams` (every user) on an open team, `join_private_teams`
  // (system admins) otherwise; adding someone else needs `add_user_to_team` (team admins).
  router.add('POST', '/api/v4/teams/{team_id}/members', (ctx) => {
    const teamId = ctx.params.team_id as string;
    const body = bodyObject(ctx, 'team_member');
    if (body.team_id !== teamId) throw invalidParam('team_id');
    const team = state.teams.get(teamId);
    if (!team) throw new FakeAppError(404, 'app.team.get.find.app_error', 'Unable to find the existing team.');
    const target = typeof body.user_id === 'string' ? state.users.get(body.user_id) : undefined;
    if (!target) throw invalidParam('user_id');
    if (target.id === ctx.user.id) {
      if (!team.allow_open_invite && !state.isSystemAdmin(ctx.user)) throw permissionDenied();
    } else if (!state.isTeamAdmin(ctx.user, teamId)) {
      throw permissionDenied();
    }
    return json(201, addTeamMember(state, teamId, target));
  });

  router.add('GET', '/api/v4/teams/{team_id}/members/{user_id}', (ctx) => {
    const teamId = ctx.params.team_id as string;
    state.requireTeamMember(ctx.user, teamId);
    const userId = ctx.params.user_id === 'me' ? ctx.user.id : (ctx.params.user_id as string);
    const m = state.teamMember(teamId, userId);
    if (!m) throw new FakeAppError(404, 'app.team.get_member.missing.app_error', 'No team member found for that user ID and team ID.');
    return json(200, m);
  });
}
