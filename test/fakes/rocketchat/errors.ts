/**
 * Errors as Rocket.Chat raises them and the two ways it writes them on the wire.
 *
 * `MeteorError` mirrors `Meteor.Error`: `message` is `"<reason> [<error>]"` (or `"[<error>]"` without a
 * reason). A plain `Error` (a TypeError, or `new Error('Not enough permission')`) is what the server
 * throws where it does not use Meteor.Error; REST then answers `{success:false, error:<message>}` with
 * no `errorType`, exactly like apps/meteor/app/api/server/api.ts does.
 */

export class MeteorError extends Error {
  readonly error: string | number;
  readonly reason: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(error: string | number, reason?: string, details?: Record<string, unknown>) {
    super(reason ? `${reason} [${error}]` : `[${error}]`);
    this.name = 'Meteor.Error';
    this.error = error;
    this.reason = reason;
    this.details = details;
  }
}

/** A REST reply already decided by a route (the server's `API.v1.failure/unauthorized/forbidden`). */
export class RestReply extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(`REST ${status}`);
  }
}

/** `API.v1.failure(result?, errorType?)`: 400, the string as `error`, `errorType` only when given. */
export function failure(error?: string, errorType?: string): RestReply {
  const body: Record<string, unknown> = { success: false };
  if (error !== undefined) body.error = error;
  if (errorType !== undefined) body.errorType = errorType;
  return new RestReply(400, body);
}

/** `API.v1.unauthorized()`: 401 `{success:false, error:'unauthorized'}`. */
export function unauthorized(msg = 'unauthorized'): RestReply {
  return new RestReply(401, { success: false, error: msg });
}

/** `API.v1.forbidden()`: 403; before 8.0 the body still says `'unauthorized'`. */
export function forbidden(msg = 'unauthorized'): RestReply {
  return new RestReply(403, { success: false, error: msg });
}

/**
 * Maps anything a route throws to the status and body of REST v1 (the catch block of the route
 * wrapper in api.ts, pre-8.0 behaviour).
 */
export function restErrorReply(e: unknown): { status: number; body: Record<string, unknown> } {
  if (e instanceof RestReply) return { status: e.status, body: e.body };
  if (e instanceof MeteorError) {
    if (e.error === 'error-too-many-requests') return { status: 429, body: { success: false, error: e.message } };
    if (e.error === 'unauthorized' || e.error === 'error-unauthorized') return { status: 403, body: { success: false, error: e.message } };
    const body: Record<string, unknown> = { success: false, error: e.message, errorType: e.error };
    if (e.details) body.details = e.details;
    return { status: 400, body };
  }
  const message = e instanceof Error ? e.message : String(e);
  return { status: 400, body: { success: false, error: message } };
}

/** The `error` object of a DDP `result`/`nosub` (Meteor sanitises non-Meteor errors to a 500). */
export function ddpError(e: unknown): Record<string, unknown> {
  if (e instanceof MeteorError) {
    const out: Record<string, unknown> = { isClientSafe: true, error: e.error, message: e.message, errorType: 'Meteor.Error' };
    if (e.reason !== undefined) out.reason = e.reason;
    if (e.details) out.details = e.details;
    return out;
  }
  return { isClientSafe: true, error: 500, reason: 'Internal server error', message: 'Internal server error [500]', errorType: 'Meteor.Error' };
}
