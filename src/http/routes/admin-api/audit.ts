import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { listAudit, verifyAuditChain } from '../../../compliance/audit.js';
import type { ComplianceDeps } from '../../../compliance/deps.js';
import type { AdminEnv, createAuth } from './auth.js';
import { AUTH_ERRORS, limitSchema, secured } from './schemas.js';

const entrySchema = z.object({
  id: z.number().int(),
  at: z.string().describe('ISO 8601.'),
  actor: z.string().describe('cli:<user>, api:<token name>, chat:<user id> or system.'),
  action: z.string().describe('Stable action name, e.g. export, erase, token.create, api.auth_failed, config.changed.'),
  target: z.string().nullable().describe('Internal id or keyed hash; never a phone number.'),
  details: z.record(z.string(), z.unknown()),
  prevHash: z.string(),
  hash: z.string(),
}).openapi('AuditEntry');

const listRoute = createRoute({
  method: 'get', path: '/audit', tags: ['audit'],
  summary: 'Audit log entries, newest first',
  description: 'Scope **admin**. Paginated with `before` (the smallest id of the previous page).',
  ...secured('admin'),
  request: { query: z.object({ limit: limitSchema(100, 1000), before: z.coerce.number().int().min(1).optional().describe('Entries with a smaller id.') }) },
  responses: {
    200: { description: 'Entries.', content: { 'application/json': { schema: z.object({ entries: z.array(entrySchema), nextBefore: z.number().int().nullable() }).openapi('AuditPage') } } },
    ...AUTH_ERRORS,
  },
});

const verifyRoute = createRoute({
  method: 'get', path: '/audit/verify', tags: ['audit'],
  summary: 'Verify the audit log\'s hash chain',
  description: 'Scope **admin**. Walks the whole chain; `ok` is false at the first edited, deleted or reordered entry. Compare `head` with the copy your log shipper holds to detect a truncated tail.',
  ...secured('admin'),
  responses: {
    200: {
      description: 'Verification result (200 even when the chain is broken: look at ok).',
      content: {
        'application/json': {
          schema: z.object({
            ok: z.boolean(), entries: z.number().int(), head: z.string(),
            brokenAt: z.object({ id: z.number().int(), reason: z.enum(['hash_mismatch', 'chain_mismatch', 'gap']) }).optional(),
          }).openapi('AuditVerification'),
        },
      },
    },
    ...AUTH_ERRORS,
  },
});

/** `GET /audit` and `GET /audit/verify` (admin). */
export function registerAuditRoutes(app: OpenAPIHono<AdminEnv>, deps: ComplianceDeps, auth: ReturnType<typeof createAuth>): void {
  app.openapi({ ...listRoute, middleware: [auth.requireScope('admin')] }, async (c) => {
    const q = c.req.valid('query');
    const entries = await listAudit(deps.db, { limit: q.limit, beforeId: q.before });
    const last = entries[entries.length - 1];
    return c.json({
      entries: entries.map((e) => ({ ...e, at: e.at.toISOString() })),
      nextBefore: entries.length === q.limit && last && last.id > 1 ? last.id : null,
    }, 200);
  });
  app.openapi({ ...verifyRoute, middleware: [auth.requireScope('admin')] }, async (c) => c.json(await verifyAuditChain(deps.db, deps.ring), 200));
}
