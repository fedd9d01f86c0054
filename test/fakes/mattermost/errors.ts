/**
 * Mattermost `AppError` as the fake answers it: the same JSON body
 * `{id, message, detailed_error, request_id, status_code, is_oauth}` and the same ids the real server uses
 * for the cases the fake implements.
 */
export class FakeAppError extends Error {
  constructor(
    readonly status: number,
    readonly id: string,
    message: string,
    readonly where = '',
  ) {
    super(message);
    this.name = 'FakeAppError';
  }

  toBody(requestId: string): Record<string, unknown> {
    return {
      id: this.id,
      message: this.message,
      detailed_error: '',
      request_id: requestId,
      status_code: this.status,
      is_oauth: false,
    };
  }
}

/** 401 for a missing, unknown or revoked token (api4 `c.SessionRequired()`). */
export const sessionExpired = (): FakeAppError =>
  new FakeAppError(401, 'api.context.session_expired.app_error', 'Invalid or expired session, please login again.');

/** 403 from `c.SetPermissionError(...)`. */
export const permissionDenied = (): FakeAppError =>
  new FakeAppError(403, 'api.context.permissions.app_error', 'You do not have the appropriate permissions.');

/** 400 from `c.SetInvalidParam(name)`. */
export const invalidParam = (name: string): FakeAppError =>
  new FakeAppError(400, 'api.context.invalid_param.app_error', `Invalid ${name} parameter.`);

/** 400 from `c.SetInvalidParamWithErr` for unreadable JSON bodies. */
export const invalidBody = (name: string): FakeAppError =>
  new FakeAppError(400, 'api.context.invalid_body_param.app_error', `Invalid or missing ${name} in request body.`);

/** The fake's honesty rule: a feature the real server has and the fake does not is a loud 501. */
export const notImplemented = (what: string): FakeAppError =>
  new FakeAppError(501, 'fake.not_implemented', `The Mattermost fake does not implement ${what}.`);
