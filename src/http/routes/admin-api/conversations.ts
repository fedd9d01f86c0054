import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { appendAudit } from '../../../compliance/audit.js';
import { listConversations } from '../../../compliance/conversations.js';
import type { ComplianceDeps } from '../../../compliance/deps.js';
import type { AdminEnv, createAuth } from './auth.js';
import { AUTH_ERRORS, businessNumberIdSchema, limitSchema, secured } from './schemas.js';

const conversationSchema = z.object({
  customerId: z.string().describe('Internal customer id (one per person and business number).'),
  phoneNumberId: z.string().describe('The business number (Meta phone_number_id) the customer wrote to.'),
  businessLabel: z.string().nullable().describe('The business number\'s label from the configuration.'),
  maskedNumber: z.string().nullable().describe('The customer\'s number with the middle digits hidden; null when unknown or erased.'),
  number: z.string().nullable().optional().describe('The full number (E.164), only for tokens with the gdpr scope.'),
  chatChannelId: z.string().nullable(),
  lastInboundAt: z.string().nullable().describe('Last customer message (ISO 8601).'),
  createdAt: z.string(),
  inboundMessages: z.number().int(),
  outboundMessages: z.number().int(),
  legalHold: z.boolean(),
  retired: z.boolean().describe('Retention removed this customer\'s identity and message content.'),
}).openapi('Conversation');

const route = createRoute({
  method: 'get', path: '/conversations', tags: ['conversations'],
  summary: 'List customer conversations, most recently active first',
  description: 'Scope **read**. Numbers are masked; a token that also holds **gdpr** gets the full number too (and the listing is then audited as `conversations.list`). Paginated with `cursor`.',
  ...secured('read'),
  request: {
    query: z.object({
      limit: limitSchema(50, 200),
      cursor: z.string().max(200).optional().describe('nextCursor of the previous page.'),
      phoneNumberId: businessNumberIdSchema.optional().describe('Only this business number.'),
    }),
  },
  responses: {
    200: { description: 'One page of conversations.', content: { 'application/json': { schema: z.object({ conversations: z.array(conversationSchema), nextCursor: z.string().nullable() }).openapi('ConversationPage') } } },
    ...AUTH_ERRORS,
  },
});

/** `GET /conversations` (read). */
export function registerConversationRoutes(app: OpenAPIHono<AdminEnv>, deps: ComplianceDeps, auth: ReturnType<typeof createAuth>): void {
  app.openapi({ ...route, middleware: [auth.requireScope('read')] }, async (c) => {
    const q = c.req.valid('query');
    const token = c.get('token');
    const fullNumbers = token.scopes.includes('gdpr');
    const page = await listConversations(deps, { limit: q.limit, cursor: q.cursor, phoneNumberId: q.phoneNumberId, fullNumbers });
    if (fullNumbers && page.conversations.length) {
      await appendAudit(deps.db, deps.ring, { actor: c.get('actor'), action: 'conversations.list', details: { count: page.conversations.length, customerIds: page.conversations.map((x) => x.customerId) } }, { logger: deps.logger });
    }
    return c.json({
      conversations: page.conversations.map((x) => ({ ...x, lastInboundAt: x.lastInboundAt?.toISOString() ?? null, createdAt: x.createdAt.toISOString() })),
      nextCursor: page.nextCursor,
    }, 200);
  });
}
