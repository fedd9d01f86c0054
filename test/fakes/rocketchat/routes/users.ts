/**
 * Looking people up: `users.info`, `roles.getUsersInRole` (7.x: `access-permissions` required, admin
 * only by default) and `teams.members` (only team members — or holders of `view-all-teams` — see the
 * members; everyone else gets an empty list, as `Team.members` does).
 */
import { MeteorError, failure } from '../errors.js';
import { ok, type Router } from '../http.js';
import { publicUser } from '../serialize.js';
import { pagination, type Deps } from './deps.js';

const BUILT_IN_ROLES = ['admin', 'user', 'bot', 'app', 'guest', 'anonymous', 'owner', 'moderator', 'leader', 'livechat-agent', 'livechat-manager'];

export function registerUserRoutes(router: Router, { state }: Deps): void {
  router.add('GET', '/api/v1/users.info', (ctx) => {
    const { userId, username } = ctx.query;
    if (!userId && !username) {
      throw new MeteorError('error-user-param-not-provided', 'The required "userId" or "username" param was not provided');
    }
    const user = userId ? state.users.get(userId) : state.userByName(username as string);
    if (!user) throw failure('User not found.');
    const withRoles = user._id === ctx.user._id || state.hasPermission(ctx.user._id, 'view-full-other-user-info');
    return ok({ user: publicUser(user, { withRoles }) });
  });

  router.add('GET', '/api/v1/roles.getUsersInRole', (ctx) => {
    if (!state.hasPermission(ctx.user._id, 'access-permissions')) {
      throw new MeteorError('error-unauthorized', 'User does not have the permissions required for this action', { permissions: ['access-permissions'] });
    }
    const { role, roomId } = ctx.query;
    if (!role) throw new MeteorError('error-param-not-provided', 'Query param "role" is required');
    if (roomId && !state.hasPermission(ctx.user._id, 'view-other-user-channels')) throw new MeteorError('error-not-allowed', 'Not allowed');
    const known = new Set([...BUILT_IN_ROLES, ...[...state.users.values()].flatMap((u) => u.roles)]);
    if (!known.has(role)) throw new MeteorError('error-invalid-roleId', 'Role not found');
    const { offset, count } = pagination(ctx.query);
    const all = [...state.users.values()]
      .filter((u) => (roomId ? state.sub(roomId, u._id)?.roles.includes(role) : u.roles.includes(role)))
      .sort((a, b) => a.username.localeCompare(b.username));
    const users = all.slice(offset, offset + count).map((u) => ({
      _id: u._id,
      username: u.username,
      name: u.name,
      type: u.type,
      status: u.status,
      active: u.active,
      createdAt: u.createdAt,
      _updatedAt: u._updatedAt,
    }));
    return ok({ users, total: all.length });
  });

  router.add('GET', '/api/v1/teams.members', (ctx) => {
    const { teamName, teamId } = ctx.query;
    if (!teamName && !teamId) throw failure('missing-teamId-or-teamName');
    const team = [...state.teams.values()].find((t) => (teamId ? t._id === teamId : t.name === teamName));
    if (!team) throw failure('team-does-not-exist');
    const { offset, count } = pagination(ctx.query);
    const canSeeAll = state.hasPermission(ctx.user._id, 'view-all-teams', team.roomId);
    const isMember = team.members.some((m) => m.userId === ctx.user._id);
    const visible = canSeeAll || isMember ? team.members : [];
    const members = visible.slice(offset, offset + count).flatMap((m) => {
      const u = state.users.get(m.userId);
      if (!u) return [];
      return [{ user: { _id: u._id, username: u.username, name: u.name, status: u.status }, roles: m.roles, createdBy: m.createdBy, createdAt: m.createdAt }];
    });
    return ok({ members, total: visible.length, count: members.length, offset });
  });
}
