import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { ComplianceDeps } from '../../../compliance/deps.js';
import type { AdminEnv, createAuth } from './auth.js';
import { apiError, errorResponse } from './errors.js';
import { AUTH_ERRORS, phoneBodySchema, secured } from './schemas.js';
import type { AdminServices } from './services.js';

const jsonBody = <T extends z.ZodType>(schema: T) => ({ required: true, content: { 'application/json': { schema } } });
const NOT_WIRED = errorResponse('not_implemented: this Relais build does not include the service yet.');

const exportRoute = createRoute({
  method: 'post', path: '/exports', tags: ['data subjects'],
  summary: 'Export everything about one person (GDPR Art. 15/20)',
  description: 'Scope **gdpr**. Answers a ZIP file (export.json and its JSON Schema, transcript.html, media/) for every conversation of the person with this number. Audited as `export`. Counts are in the X-Relais-Customers, X-Relais-Messages and X-Relais-Media headers.',
  ...secured('gdpr'),
  request: { body: jsonBody(phoneBodySchema.openapi('PhoneRequest')) },
  responses: {
    200: { description: 'The export.', content: { 'application/zip': { schema: z.string().openapi({ format: 'binary' }) } } },
    404: errorResponse('not_found: nobody with this number is in the archive.'),
    501: NOT_WIRED,
    ...AUTH_ERRORS,
  },
});

const erasureRoute = createRoute({
  method: 'post', path: '/erasures', tags: ['data subjects'],
  summary: 'Erase one person (GDPR Art. 17)',
  description: 'Scope **gdpr**. Crypto-shreds the person\'s data keys, deletes their messages and media, and treats their chat channel per ERASE_CHAT_POLICY. Irreversible. Refused with 409 legal_hold while a legal hold is set. Audited as `erase`.',
  ...secured('gdpr'),
  request: { body: jsonBody(phoneBodySchema) },
  responses: {
    200: {
      description: 'Erased.',
      content: { 'application/json': { schema: z.object({ customers: z.number().int(), messagesDeleted: z.number().int(), chat: z.enum(['deleted', 'archived', 'kept', 'pending']).describe('pending: the chat side could not be cleaned yet; send the same request again later.'), chatDetail: z.string().optional().describe('Why the chat step is pending, or why a channel was archived instead of deleted.') }).openapi('Erasure') } },
    },
    404: errorResponse('not_found: nobody with this number is in the archive.'),
    409: errorResponse('legal_hold: a legal hold protects this person; lift it first.'),
    501: NOT_WIRED,
    ...AUTH_ERRORS,
  },
});

const holdResult = { description: 'Done.', content: { 'application/json': { schema: z.object({ customers: z.number().int().describe('Conversations affected.') }).openapi('HoldResult') } } };

const setHoldRoute = createRoute({
  method: 'put', path: '/holds', tags: ['data subjects'],
  summary: 'Set a legal hold on one person',
  description: 'Scope **gdpr**. While held, retention skips the person and erasure is refused. Idempotent. Audited as `hold.on`.',
  ...secured('gdpr'),
  request: { body: jsonBody(phoneBodySchema.extend({ reason: z.string().max(200).optional().describe('Why (case reference). Do not put personal data here.') }).strict().openapi('HoldRequest')) },
  responses: { 200: holdResult, 404: errorResponse('not_found: nobody with this number is in the archive.'), 501: NOT_WIRED, ...AUTH_ERRORS },
});

const liftHoldRoute = createRoute({
  method: 'delete', path: '/holds', tags: ['data subjects'],
  summary: 'Lift a legal hold',
  description: 'Scope **gdpr**. The number goes in the JSON body. Idempotent. Audited as `hold.off`.',
  ...secured('gdpr'),
  request: { body: jsonBody(phoneBodySchema) },
  responses: { 200: holdResult, 404: errorResponse('not_found: nobody with this number is in the archive.'), 501: NOT_WIRED, ...AUTH_ERRORS },
});

/** `POST /exports`, `POST /erasures`, `PUT /holds`, `DELETE /holds` (gdpr). */
export function registerGdprRoutes(app: OpenAPIHono<AdminEnv>, deps: ComplianceDeps, services: AdminServices, auth: ReturnType<typeof createAuth>): void {
  const gdpr = [auth.requireScope('gdpr')];
  app.openapi({ ...exportRoute, middleware: gdpr }, async (c) => {
    if (!services.exportCustomer) return apiError(c, 'not_implemented', 'Data-subject export is not available in this build') as never;
    const r = await services.exportCustomer(deps, c.req.valid('json').phone, { actor: c.get('actor') });
    const day = new Date().toISOString().slice(0, 10);
    return c.body(r.zip as Uint8Array<ArrayBuffer>, 200, {
      'Content-Type': 'application/zip',
      'Content-Disposition': `attachment; filename="relais-export-${day}.zip"`,
      'X-Relais-Customers': String(r.customers), 'X-Relais-Messages': String(r.messages), 'X-Relais-Media': String(r.media),
    });
  });
  app.openapi({ ...erasureRoute, middleware: gdpr }, async (c) => {
    if (!services.eraseCustomer) return apiError(c, 'not_implemented', 'Erasure is not available in this build') as never;
    return c.json(await services.eraseCustomer(deps, c.req.valid('json').phone, { actor: c.get('actor') }), 200);
  });
  app.openapi({ ...setHoldRoute, middleware: gdpr }, async (c) => {
    if (!services.setLegalHold) return apiError(c, 'not_implemented', 'Legal holds are not available in this build') as never;
    const body = c.req.valid('json');
    return c.json(await services.setLegalHold(deps, body.phone, true, { actor: c.get('actor'), reason: body.reason }), 200);
  });
  app.openapi({ ...liftHoldRoute, middleware: gdpr }, async (c) => {
    if (!services.setLegalHold) return apiError(c, 'not_implemented', 'Legal holds are not available in this build') as never;
    return c.json(await services.setLegalHold(deps, c.req.valid('json').phone, false, { actor: c.get('actor') }), 200);
  });
}
