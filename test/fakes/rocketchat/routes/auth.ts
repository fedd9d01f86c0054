/**
 * `POST login` (`{user, password}` or `{resume}`), `GET me`, `POST logout` (which, as upstream, pulls
 * the presented token — a personal access token included — from the user's login tokens).
 */
import { MeteorError, RestReply } from '../errors.js';
import { ok, type Router } from '../http.js';
import { meInfo } from '../serialize.js';
import type { Deps } from './deps.js';

export function registerAuthRoutes(router: Router, { state }: Deps): void {
  router.add(
    'POST',
    '/api/v1/login',
    (ctx) => {
      const b = ctx.body;
      try {
        let userId: string;
        let token: string;
        if (typeof b.resume === 'string') {
          const t = state.tokens.get(b.resume);
          if (!t) throw new MeteorError(403, "You've been logged out by the server. Please log in again.");
          userId = t.userId;
          token = t.token;
        } else if (b.password !== undefined && b.password !== null) {
          const name = typeof b.user === 'string' ? b.user : typeof b.username === 'string' ? b.username : undefined;
          const login = name?.includes('@') ? name.split('@')[0] : name;
          const user = login ? state.userByName(login) : undefined;
          if (!user || user.password === undefined || user.password !== b.password) throw new MeteorError(403, 'User not found');
          userId = user._id;
          token = state.issueToken(user._id, 'login').token;
        } else {
          throw new MeteorError(400, 'Unrecognized options for login request');
        }
        const user = state.users.get(userId);
        if (!user) throw new RestReply(401, { success: false, error: 'unauthorized' });
        return ok({ status: 'success', data: { userId, authToken: token, me: meInfo(user, ctx.siteUrl) } });
      } catch (e) {
        if (!(e instanceof MeteorError)) throw e;
        const body: Record<string, unknown> = { success: false, error: e.error, status: 'error', message: e.reason ?? e.message };
        if (e.details) body.details = e.details;
        if (e.reason === 'User not found') Object.assign(body, { error: 'Unauthorized', message: 'Unauthorized' });
        return { status: 401, json: body };
      }
    },
    { auth: false },
  );

  router.add('GET', '/api/v1/me', (ctx) => ok(meInfo(ctx.user, ctx.siteUrl)));

  router.add('POST', '/api/v1/logout', (ctx) => {
    state.tokens.delete(ctx.token);
    return { status: 200, json: { status: 'success', data: { message: "You've been logged out!" } } };
  });
}
