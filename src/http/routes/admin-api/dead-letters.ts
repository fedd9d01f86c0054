import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { listDeadLetters, redriveDeadLetter } from '../../../compliance/dead-letters.js';
import type { ComplianceDeps } from '../../../compliance/deps.js';
import type { Queue } from '../../../queue/boss.js';
import type { AdminEnv, createAuth } from './auth.js';
import { errorResponse } from './errors.js';
import { AUTH_ERRORS, limitSchema, secured, uuidSchema } from './schemas.js';

const deadLetterSchema = z.object({
  id: z.string().describe('Job id in the dead-letter queue.'),
  queue: z.enum(['relay', 'send']),
  messageId: z.string().optional().describe('relay: the customer message (internal id).'),
  outboxId: z.string().optional().describe('send: the agent reply (internal id).'),
  customerId: z.string().optional(),
  errorCode: z.string().nullable().describe('Code of the last failure.'),
  deadLetteredAt: z.string(),
  originalCreatedAt: z.string().nullable(),
  retries: z.number().int().nullable(),
}).openapi('DeadLetter');

const listRoute = createRoute({
  method: 'get', path: '/dead-letters', tags: ['dead letters'],
  summary: 'Jobs waiting in a dead-letter queue, oldest first',
  description: 'Scope **admin**. `relay`: customer messages that could not be posted to the chat; `send`: agent replies that could not be sent to WhatsApp. Ids only, never content.',
  ...secured('admin'),
  request: {
    query: z.object({
      queue: z.enum(['relay', 'send']).describe('Which dead-letter queue.'),
      limit: limitSchema(100, 1000),
      after: uuidSchema.optional().describe('Last id of the previous page.'),
    }),
  },
  responses: {
    200: { description: 'One page.', content: { 'application/json': { schema: z.object({ deadLetters: z.array(deadLetterSchema), nextAfter: z.string().nullable() }).openapi('DeadLetterPage') } } },
    ...AUTH_ERRORS,
  },
});

const redriveRoute = createRoute({
  method: 'post', path: '/dead-letters/{id}/redrive', tags: ['dead letters'],
  summary: 'Send a dead-lettered job back to its queue',
  description: 'Scope **admin**. The message (or reply) is tried again, in order within its conversation. Audited as `dead_letter.redrive`.',
  ...secured('admin'),
  request: { params: z.object({ id: uuidSchema.describe('Dead-letter job id from GET /dead-letters.') }) },
  responses: {
    200: { description: 'Redriven.', content: { 'application/json': { schema: z.object({ id: z.string(), queue: z.enum(['relay', 'send']), via: z.enum(['retry', 'requeue']).describe('retry: the parked original job was retried; requeue: a new job was queued.') }).openapi('Redriven') } } },
    404: errorResponse('not_found: no waiting dead-lettered job has this id.'),
    409: errorResponse('target_gone: its message was erased or purged.'),
    ...AUTH_ERRORS,
  },
});

/** `GET /dead-letters` and `POST /dead-letters/{id}/redrive` (admin). */
export function registerDeadLetterRoutes(app: OpenAPIHono<AdminEnv>, deps: ComplianceDeps, queue: Queue, auth: ReturnType<typeof createAuth>): void {
  app.openapi({ ...listRoute, middleware: [auth.requireScope('admin')] }, async (c) => {
    const q = c.req.valid('query');
    const page = await listDeadLetters(queue, q.queue, { limit: q.limit, after: q.after });
    return c.json({
      deadLetters: page.deadLetters.map((d) => ({ ...d, deadLetteredAt: new Date(d.deadLetteredAt).toISOString(), originalCreatedAt: d.originalCreatedAt ? new Date(d.originalCreatedAt).toISOString() : null })),
      nextAfter: page.nextAfter,
    }, 200);
  });
  app.openapi({ ...redriveRoute, middleware: [auth.requireScope('admin')] }, async (c) => {
    const { id } = c.req.valid('param');
    const r = await redriveDeadLetter(deps, queue, id, { actor: c.get('actor') });
    return c.json({ id, ...r }, 200);
  });
}
