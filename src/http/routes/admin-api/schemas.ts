import { z } from '@hono/zod-openapi';
import type { ApiScope } from '../../../compliance/api-tokens.js';
import { AUTH_ERRORS } from './errors.js';

/** A phone number in the request body (never in the URL: URLs end up in access logs). */
export const phoneBodySchema = z.object({
  phone: z.string().min(5).max(32).regex(/^[+0-9][0-9 ()./-]*$/, 'an international number such as +33 6 12 34 56 78')
    .describe('The data subject\'s phone number in international form (+33 6 12 34 56 78, 0033612345678 or 33612345678).'),
}).strict();

export const uuidSchema = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'a uuid');
export const businessNumberIdSchema = z.string().regex(/^\d{5,20}$/, 'a phone_number_id (5 to 20 digits)');

/** `?limit=` with a default and a cap. */
export function limitSchema(def: number, max: number) {
  return z.coerce.number().int().min(1).max(max).default(def).describe(`Items per page (1 to ${max}, default ${def}).`);
}

/**
 * The OpenAPI fields every authenticated route carries: bearer security, the scope it needs
 * (`x-relais-scope`, also stated in the description) and the common error responses.
 */
export function secured(scope: ApiScope): { security: { bearerAuth: string[] }[]; 'x-relais-scope': ApiScope } {
  return { security: [{ bearerAuth: [] }], 'x-relais-scope': scope };
}

export { AUTH_ERRORS };
