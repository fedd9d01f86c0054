import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { KeyRing } from '../../../archive/keyring.js';
import { recordTokenUse, verifyApiToken, type ApiScope, type ApiTokenInfo, type TokenCheck } from '../../../compliance/api-tokens.js';
import { appendAudit } from '../../../compliance/audit.js';
import type { Db } from '../../../db/client.js';
import type { Logger } from '../../../log.js';
import { apiError } from './errors.js';
import type { AdminRateLimits } from './rate-limits.js';

/** What the auth middleware leaves for handlers. */
export type AdminEnv = {
  Variables: {
    token: ApiTokenInfo;
    /** `api:<token name>`: the audit actor for whatever this request does. */
    actor: string;
    /** The client address (socket peer) used for failure limits and audit entries. */
    address: string;
  };
};

const FAILURE_MESSAGES: Record<Exclude<TokenCheck, { ok: true }>['reason'], string> = {
  missing: 'Send a bearer token: "Authorization: Bearer rls_…" (create one with "relais tokens create").',
  malformed: 'The bearer token is not a Relais admin API token (rls_ followed by 43 characters).',
  unknown: 'This token is not known: it may have been mistyped, or issued by another Relais deployment.',
  revoked: 'This token was revoked; ask an administrator for a new one ("relais tokens create").',
  expired: 'This token has expired; ask an administrator for a new one ("relais tokens create").',
};

/**
 * The socket peer address. The admin API is meant for internal callers (it is not on the public
 * Ingress), so no forwarding header is trusted: a client could forge one to dodge the limits.
 */
export function clientAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown'; // no socket (in-process requests in tests)
  }
}

/** `GET /api/v1/dead-letters/:id/redrive`: the matched route's method and template, or `unmatched`. Never the raw URL. */
export function routeTemplate(c: Context): string {
  const route = matchedRoutes(c).filter((r) => r.method !== 'ALL' && !r.path.endsWith('*')).at(-1);
  return route ? `${route.method} ${route.path}` : 'unmatched';
}

/** The token of an `Authorization: Bearer …` header; any other scheme or shape counts as malformed. */
function bearer(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  return /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] ?? 'not-a-bearer-token';
}

/**
 * Route middleware: authenticates the bearer token, enforces the rate limits and the scope, and
 * records the use. Failures answer 401/403/429 JSON and never reach the handler; 401 and 403 are
 * audited as `api.auth_failed` (token id when known, client address; never the token).
 */
export function createAuth(deps: { db: Db; ring: KeyRing; logger: Logger; limits: AdminRateLimits }) {
  const { db, ring, logger, limits } = deps;

  async function fail(c: Context, details: { reason: string; address: string; tokenId?: string; actor?: string }): Promise<void> {
    logger.warn({ reason: details.reason, tokenId: details.tokenId, address: details.address }, 'admin API authentication failed');
    await appendAudit(db, ring, {
      actor: details.actor ?? 'api:anonymous', action: 'api.auth_failed', target: details.tokenId ?? null,
      details: { reason: details.reason, address: details.address, route: routeTemplate(c) },
    }, { logger });
  }

  /** Requires a valid token holding `scope`. */
  function requireScope(scope: ApiScope): MiddlewareHandler<AdminEnv> {
    return async (c, next) => {
      const address = clientAddress(c);
      c.set('address', address);
      const blocked = await limits.addressBlocked(address);
      if (blocked > 0) return apiError(c, 'rate_limited', 'Too many failed authentications from this address; wait before trying again.', { retryAfterSeconds: blocked });
      const check = await verifyApiToken(db, bearer(c.req.header('authorization')));
      if (!check.ok) {
        await limits.recordFailure(address);
        await fail(c, { reason: check.reason, address, tokenId: check.tokenId });
        c.header('WWW-Authenticate', 'Bearer realm="relais-admin"');
        return apiError(c, 'unauthorized', FAILURE_MESSAGES[check.reason]);
      }
      const token = check.token;
      const wait = await limits.takeToken(token.id);
      if (wait > 0) return apiError(c, 'rate_limited', 'This token has used its requests for this minute; wait before trying again.', { retryAfterSeconds: wait });
      if (!token.scopes.includes(scope)) {
        await fail(c, { reason: 'missing_scope', address, tokenId: token.id, actor: `api:${token.name}` });
        return apiError(c, 'forbidden', `This route needs a token with the "${scope}" scope; this token has ${token.scopes.join(', ')}.`);
      }
      await recordTokenUse(db, ring, token, { address });
      c.set('token', token);
      c.set('actor', `api:${token.name}`);
      await next();
    };
  }

  return { requireScope };
}
