/** `/system/ping`, `/users/*` and `/groups*`: identity and directory lookups. */
import type { Group } from '@mattermost/types/groups';
import type { UserProfile } from '@mattermost/types/users';
import { FakeAppError, invalidBody, notImplemented } from '../errors.js';
import { bodyJson, json, type Router } from '../http.js';
import type { FakeState } from '../state.js';

export function registerUserRoutes(router: Router, state: FakeState): void {
  // Unauthenticated, like the real ping. `use_rest_semantics=true` (sent by Client4.ping) only changes the
  // status code of an unhealthy answer, and the fake is always healthy.
  router.add('GET', '/api/v4/system/ping', () =>
    json(200, {
      ActiveSearchBackend: 'database',
      AndroidLatestVersion: '',
      AndroidMinVersion: '',
      IosLatestVersion: '',
      IosMinVersion: '',
      status: 'OK',
    }), { auth: false });

  router.add('GET', '/api/v4/users/{user_id}', (ctx) => {
    const id = ctx.params.user_id === 'me' ? ctx.user.id : (ctx.params.user_id as string);
    const u = state.users.get(id);
    if (!u || u.delete_at !== 0) {
      throw new FakeAppError(404, 'app.user.missing_account.const', 'Unable to find the user.');
    }
    return json(200, u.id === ctx.user.id ? u : state.sanitizeUser(u));
  });

  router.add('GET', '/api/v4/users/username/{username}', (ctx) => {
    const u = state.userByName(ctx.params.username as string);
    if (!u) throw new FakeAppError(404, 'app.user.get_by_username.app_error', 'Unable to find an existing account matching your username for this team. This team may require an invite from the team owner to join.');
    return json(200, state.sanitizeUser(u));
  });

  // Missing names are simply absent from the answer (no error), like the real server.
  router.add('POST', '/api/v4/users/usernames', (ctx) => {
    const names = bodyJson(ctx, 'usernames');
    if (!Array.isArray(names) || names.some((n) => typeof n !== 'string')) throw invalidBody('usernames');
    const found: UserProfile[] = [];
    for (const n of names as string[]) {
      const u = state.userByName(n);
      if (u) found.push(state.sanitizeUser(u));
    }
    return json(200, found);
  });

  // Groups (LDAP-synced or custom). The real server needs a licence for them; the fake always has one.
  // Search (`q`) matches name or display name, case-insensitively, anywhere in the string; users without
  // the group-management permission only see groups that allow @-mentions (`filter_allow_reference`).
  router.add('GET', '/api/v4/groups', (ctx) => {
    for (const p of ['filter_has_member', 'not_associated_to_team', 'not_associated_to_channel']) {
      if (ctx.query.get(p)) throw notImplemented(`GET /api/v4/groups?${p}=`);
    }
    const q = (ctx.query.get('q') ?? '').toLowerCase();
    const admin = state.isSystemAdmin(ctx.user);
    const page = Number(ctx.query.get('page') ?? 0);
    const perPage = Math.min(Number(ctx.query.get('per_page') ?? 60), 200);
    const all: Group[] = [...state.groups.values()].filter((g) =>
      g.delete_at === 0 &&
      (admin || g.allow_reference) &&
      (q === '' || g.name.toLowerCase().includes(q) || g.display_name.toLowerCase().includes(q)));
    return json(200, all.slice(page * perPage, (page + 1) * perPage));
  });

  router.add('GET', '/api/v4/groups/{group_id}/members', (ctx) => {
    const g = state.groups.get(ctx.params.group_id as string);
    if (!g || g.delete_at !== 0) throw new FakeAppError(404, 'app.group.no_rows', 'No matching group found.');
    const all = [...(state.groupMembers.get(g.id) ?? [])]
      .map((id) => state.users.get(id))
      .filter((u): u is UserProfile => !!u)
      .map((u) => state.sanitizeUser(u));
    const page = Number(ctx.query.get('page') ?? 0);
    const perPage = Math.min(Number(ctx.query.get('per_page') ?? 60), 200);
    return json(200, { members: all.slice(page * perPage, (page + 1) * perPage), total_member_count: all.length });
  });
}
