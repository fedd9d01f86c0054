import { randomBytes } from 'node:crypto';

/**
 * Graph API error bodies as the Cloud API returns them, for the fake and for status webhooks.
 *
 * Shape (CONTRACTS.md §1.1): `{"error":{"message","type","code","error_data":{"messaging_product","details"},"fbtrace_id"}}`.
 * Titles come from Meta's Cloud API error-code table; Relais must branch on `code`, never on titles.
 */

export interface GraphErrorBody {
  error: {
    message: string;
    type: string;
    code: number;
    error_subcode?: number;
    error_data?: { messaging_product: 'whatsapp'; details: string };
    fbtrace_id: string;
  };
}

export interface KnownGraphError {
  title: string;
  /** HTTP status Meta answers with when the error is synchronous. */
  httpStatus: number;
}

/** The codes the fake produces or that tests usually inject. Unknown codes fall back to HTTP 400. */
export const GRAPH_ERRORS: Readonly<Record<number, KnownGraphError>> = {
  1: { title: 'API Unknown', httpStatus: 400 },
  2: { title: 'API Service', httpStatus: 503 },
  4: { title: 'API Too Many Calls', httpStatus: 400 },
  100: { title: 'Invalid parameter', httpStatus: 400 },
  190: { title: 'Access token has expired', httpStatus: 401 },
  130429: { title: 'Rate limit hit', httpStatus: 400 },
  130472: { title: "User's number is part of an experiment", httpStatus: 400 },
  131000: { title: 'Something went wrong', httpStatus: 500 },
  131008: { title: 'Required parameter is missing', httpStatus: 400 },
  131009: { title: 'Parameter value is not valid', httpStatus: 400 },
  131026: { title: 'Message undeliverable', httpStatus: 400 },
  131047: { title: 'Re-engagement message', httpStatus: 400 },
  131048: { title: 'Spam rate limit hit', httpStatus: 400 },
  131051: { title: 'Unsupported message type', httpStatus: 400 },
  131052: { title: 'Media download error', httpStatus: 400 },
  131053: { title: 'Media upload error', httpStatus: 400 },
  131056: { title: '(Business Account, Consumer Account) pair rate limit hit', httpStatus: 400 },
  131057: { title: 'Account in maintenance mode', httpStatus: 500 },
  132000: { title: 'Number of parameters does not match the expected number of params', httpStatus: 400 },
  132001: { title: 'Template does not exist', httpStatus: 404 },
};

/** Meta-looking trace id (`AXsgnV2Cm3ZMGF3dF_cfYIn`): random, carries nothing. */
export function fbtraceId(): string {
  return randomBytes(17).toString('base64url');
}

/** HTTP status for `code`: Meta's table when known, else 400. */
export function httpStatusFor(code: number): number {
  return GRAPH_ERRORS[code]?.httpStatus ?? 400;
}

/**
 * Builds a WhatsApp-style Graph error body. `message` defaults to `(#code) Title`; `details`
 * (the part Meta recommends acting on together with `code`) defaults to the title.
 */
export function graphErrorBody(code: number, opts: { message?: string; details?: string; type?: string; subcode?: number } = {}): GraphErrorBody {
  const title = GRAPH_ERRORS[code]?.title ?? 'Error';
  const body: GraphErrorBody = {
    error: {
      message: opts.message ?? `(#${code}) ${title}`,
      type: opts.type ?? 'OAuthException',
      code,
      error_data: { messaging_product: 'whatsapp', details: opts.details ?? title },
      fbtrace_id: fbtraceId(),
    },
  };
  if (opts.subcode !== undefined) body.error.error_subcode = opts.subcode;
  return body;
}

/** Graph's answer for an id that is not a known object (code 100, subcode 33). */
export function unknownObjectBody(method: string, id: string): GraphErrorBody {
  return graphErrorBody(100, {
    message: `Unsupported ${method} request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`,
    type: 'GraphMethodException',
    subcode: 33,
  });
}

/** The 401 body for a missing or wrong Bearer token (code 190, no `error_data`, like Graph). */
export function invalidTokenBody(): GraphErrorBody {
  return {
    error: {
      message: 'Invalid OAuth access token - Cannot parse access token',
      type: 'OAuthException',
      code: 190,
      fbtrace_id: fbtraceId(),
    },
  };
}

/** One entry of `statuses[].errors[]` in a `failed` status webhook, as in the fixtures. */
export interface StatusErrorPayload {
  code: number;
  title: string;
  message: string;
  error_data: { details: string };
  href: string;
}

/** `statuses[].errors[]` entry for `code`, titles from the table above (see status_failed*.json). */
export function statusError(code: number, details?: string): StatusErrorPayload {
  const title = GRAPH_ERRORS[code]?.title ?? 'Error';
  return {
    code,
    title,
    message: title,
    error_data: { details: details ?? title },
    href: 'https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/',
  };
}
