import { OpenAPIHono } from '@hono/zod-openapi';
import type { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { bodyLimit } from 'hono/body-limit';
import type { ComplianceDeps } from '../../../compliance/deps.js';
import { errorCode } from '../../../core/errors.js';
import type { Metrics } from '../../../metrics.js';
import type { Queue } from '../../../queue/boss.js';
import { registerAuditRoutes } from './audit.js';
import { createAuth, routeTemplate, type AdminEnv } from './auth.js';
import { registerConversationRoutes } from './conversations.js';
import { registerDeadLetterRoutes } from './dead-letters.js';
import { apiCodeFor, apiError } from './errors.js';
import { registerGdprRoutes } from './gdpr.js';
import { createAdminRateLimits } from './rate-limits.js';
import { registerSearchRoutes } from './search.js';
import type { AdminServices } from './services.js';

export type { AdminServices } from './services.js';

export interface AdminApiDeps {
  compliance: ComplianceDeps;
  queue: Queue;
  /** Requests per minute per token, and failed authentications per minute per client address. */
  ratePerMinute: number;
  services: AdminServices;
  /** Relais version shown in the OpenAPI document. */
  version: string;
  metrics?: Metrics;
}

/** Path of the OpenAPI document, relative to the mount point (/api/v1). */
export const OPENAPI_PATH = '/openapi.json';

/**
 * The admin API, to mount at `/api/v1`: bearer-token routes for conversations, search,
 * data-subject requests, dead letters and the audit log, plus the unauthenticated OpenAPI 3.1
 * document generated from the same zod schemas that validate requests. Every response carries
 * `Cache-Control: no-store`; every error is `{ error: { code, message } }` with a stable code.
 * No I/O until a request arrives.
 */
export function adminApiRoutes(deps: AdminApiDeps): Hono {
  const { compliance } = deps;
  const app = new OpenAPIHono<AdminEnv>({
    defaultHook: (result, c) => {
      if (!result.success) return apiError(c, 'invalid_request', `The request ${result.target} is not valid; see issues.`, { issues: result.error.issues });
      return undefined;
    },
  });
  const auth = createAuth({ db: compliance.db, ring: compliance.ring, logger: compliance.logger, limits: createAdminRateLimits(compliance.db, deps.ratePerMinute) });

  app.use('*', async (c, next) => {
    await next();
    c.header('Cache-Control', 'no-store');
    deps.metrics?.adminApiRequests.inc({ route: routeTemplate(c), status: String(c.res.status) });
  });
  app.use('*', bodyLimit({ maxSize: 64 * 1024, onError: (c) => apiError(c, 'payload_too_large', 'Request bodies are limited to 64 KiB') }));

  registerConversationRoutes(app, compliance, auth);
  registerSearchRoutes(app, compliance, deps.services, auth);
  registerGdprRoutes(app, compliance, deps.services, auth);
  registerDeadLetterRoutes(app, compliance, deps.queue, auth);
  registerAuditRoutes(app, compliance, auth);

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http', scheme: 'bearer', description: 'A token from `relais tokens create` (rls_…). Scopes: read, gdpr, admin.',
  });
  app.doc31(OPENAPI_PATH, {
    openapi: '3.1.0',
    info: {
      title: 'Relais admin API', version: deps.version,
      description: 'Administration of a Relais deployment: conversations, search, data-subject requests (export, erasure, legal hold), dead letters and the audit log. Keep it off the public Internet; see docs/admin-api.md.',
    },
    servers: [{ url: '/api/v1' }],
  });

  app.all('*', (c) => apiError(c, 'not_found', `No admin API route for ${c.req.method} ${c.req.path}; see ${c.req.path.startsWith('/api/v1') ? '/api/v1' : ''}${OPENAPI_PATH}`));
  app.onError((err, c) => {
    if (err instanceof HTTPException) return apiError(c, err.status === 413 ? 'payload_too_large' : 'invalid_request', err.status === 400 ? 'The request body is not valid JSON' : err.message);
    const { code, message } = apiCodeFor(err);
    if (code === 'internal' || code === 'unavailable') compliance.logger.error({ code: errorCode(err), err }, 'admin API request failed');
    else compliance.logger.warn({ code: errorCode(err) }, 'admin API request refused');
    return apiError(c, code, message);
  });
  // Mounted like any sub-app; its typed variables stay internal.
  return app as unknown as Hono;
}
