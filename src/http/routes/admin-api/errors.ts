import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { RelaisError } from '../../../core/errors.js';

/**
 * Stable error codes of the admin API: clients branch on `error.code`, never on the message.
 * Adding a code is a compatible change; renaming one is not.
 */
export const API_ERROR_STATUS = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  legal_hold: 409,
  target_gone: 409,
  conflict: 409,
  payload_too_large: 413,
  rate_limited: 429,
  internal: 500,
  not_implemented: 501,
  unavailable: 503,
} as const satisfies Record<string, ContentfulStatusCode>;
export type ApiErrorCode = keyof typeof API_ERROR_STATUS;

export const errorSchema = z.object({
  error: z.object({
    code: z.enum(Object.keys(API_ERROR_STATUS) as [ApiErrorCode, ...ApiErrorCode[]]).describe('Stable machine-readable code.'),
    message: z.string().describe('What is wrong and what to do, for people. Never holds personal data or secrets.'),
    issues: z.array(z.object({ path: z.array(z.union([z.string(), z.number()])), message: z.string(), code: z.string() })).optional()
      .describe('For invalid_request: each input problem (values are never echoed).'),
  }),
}).openapi('Error');

/** OpenAPI response entries for an error status. */
export function errorResponse(description: string) {
  return { description, content: { 'application/json': { schema: errorSchema } } };
}

/** Responses every authenticated route can give. */
export const AUTH_ERRORS = {
  400: errorResponse('invalid_request: the input failed validation (see issues).'),
  401: errorResponse('unauthorized: no token, or a malformed, unknown, revoked or expired one.'),
  403: errorResponse('forbidden: the token lacks the scope this route needs.'),
  429: errorResponse('rate_limited: too many requests for this token, or too many failed authentications from this address. See Retry-After.'),
  500: errorResponse('internal: unexpected error; see the Relais logs.'),
} as const;

/** A JSON error response with `Cache-Control: no-store`. */
export function apiError(c: Context, code: ApiErrorCode, message: string, extra: { issues?: z.core.$ZodIssue[]; retryAfterSeconds?: number } = {}): Response {
  c.header('Cache-Control', 'no-store');
  if (extra.retryAfterSeconds !== undefined) c.header('Retry-After', String(Math.max(1, Math.ceil(extra.retryAfterSeconds))));
  const issues = extra.issues?.map((i) => ({ path: i.path.map((p) => (typeof p === 'symbol' ? String(p) : p)), message: i.message, code: i.code }));
  return c.json({ error: { code, message, ...(issues ? { issues } : {}) } }, API_ERROR_STATUS[code]);
}

/** The API error for an error a service threw (RelaisError messages are safe to show: they never hold personal data). */
export function apiCodeFor(err: unknown): { code: ApiErrorCode; message: string } {
  if (err instanceof RelaisError) {
    if (err.code in API_ERROR_STATUS) return { code: err.code as ApiErrorCode, message: err.message };
    if (['usage', 'invalid_phone', 'invalid_argument'].includes(err.code) || err.code.startsWith('search_query')) return { code: 'invalid_request', message: err.message };
    if (err.code === 'erased' || err.code === 'in_progress') return { code: 'conflict', message: err.message };
    if (err.retryable) return { code: 'unavailable', message: err.message };
    return { code: 'internal', message: `${err.message} (${err.code})` };
  }
  return { code: 'internal', message: 'Unexpected error; see the Relais logs' };
}
