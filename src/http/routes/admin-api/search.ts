import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { ComplianceDeps } from '../../../compliance/deps.js';
import type { AdminEnv, createAuth } from './auth.js';
import { apiError, errorResponse } from './errors.js';
import { AUTH_ERRORS, businessNumberIdSchema, secured, uuidSchema } from './schemas.js';
import type { AdminServices } from './services.js';

const filters = {
  limit: z.coerce.number().int().min(1).max(100).default(20).describe('Results wanted (1 to 100, default 20).'),
  phoneNumberId: businessNumberIdSchema.optional().describe('Only this business number.'),
  customerId: uuidSchema.optional().describe('Only this customer.'),
};
const queryText = z.string().min(1).max(500).describe('Words that must all occur (accents and case ignored), or a phone number alone to list that person\'s messages.');

const hitSchema = z.object({
  messageId: z.string(), customerId: z.string(), direction: z.enum(['inbound', 'outbound']), at: z.string(),
  text: z.string().describe('About 160 characters around the first match.'),
  chat: z.object({ channelId: z.string().nullable(), postId: z.string().nullable(), link: z.string().nullable() }),
}).openapi('SearchHit');
const responses = {
  200: { description: 'Hits, newest first.', content: { 'application/json': { schema: z.object({ results: z.array(hitSchema) }).openapi('SearchResults') } } },
  501: errorResponse('not_implemented: this Relais build does not include search yet.'),
  ...AUTH_ERRORS,
};
const description = 'Scope **read**. Searches customer messages and agent replies in the encrypted archive. Every search is audited as `search` (never the query text).';

const getRoute = createRoute({
  method: 'get', path: '/search', tags: ['search'], summary: 'Search messages (query in the URL)',
  description: `${description} The query is in the URL and so may reach access logs: prefer POST /search for names or numbers.`,
  ...secured('read'),
  request: { query: z.object({ q: queryText, ...filters }) },
  responses,
});

const postRoute = createRoute({
  method: 'post', path: '/search', tags: ['search'], summary: 'Search messages (query in the body)',
  description: `${description} Same as GET /search, with the query and an optional phone filter kept out of URLs.`,
  ...secured('read'),
  request: { body: { required: true, content: { 'application/json': { schema: z.object({ q: queryText, phone: z.string().min(5).max(32).optional().describe('Only this person\'s conversations.'), ...filters }).strict().openapi('SearchRequest') } } } },
  responses,
});

/** `GET /search` and `POST /search` (read). */
export function registerSearchRoutes(app: OpenAPIHono<AdminEnv>, deps: ComplianceDeps, services: AdminServices, auth: ReturnType<typeof createAuth>): void {
  const run = async (c: Context<AdminEnv>, input: { q: string; limit: number; phone?: string; phoneNumberId?: string; customerId?: string }) => {
    if (!services.searchMessages) return apiError(c, 'not_implemented', 'Search is not available in this build');
    const { q, ...opts } = input;
    const hits = await services.searchMessages(deps, q, { ...opts, actor: c.get('actor') });
    return c.json({ results: hits.map((h) => ({ ...h, at: new Date(h.at).toISOString() })) }, 200);
  };
  app.openapi({ ...getRoute, middleware: [auth.requireScope('read')] }, (c) => run(c, c.req.valid('query')) as never);
  app.openapi({ ...postRoute, middleware: [auth.requireScope('read')] }, (c) => run(c, c.req.valid('json')) as never);
}
