/**
 * The REST v1 client of the Rocket.Chat adapter: plain `fetch` with the bot's `X-User-Id` +
 * `X-Auth-Token` on every request (the SDK's REST helpers only authenticate after their own password or
 * resume login, and force a JSON Content-Type that breaks multipart uploads). Every failure leaves this
 * module as a `RelaisError` whose `retryable` is decided here, in one place:
 *
 * - no answer (refused, reset, DNS, timeout, unreadable body) → `chat_unreachable`, retryable;
 * - 5xx → `chat_unavailable`, retryable; 429 / `error-too-many-requests` → `chat_rate_limited`,
 *   retryable, with `retryAfterMs` from `Retry-After` or `X-RateLimit-Reset` (epoch ms on Rocket.Chat);
 * - 401 / 403 → `chat_auth_failed`, permanent, telling the operator what to check;
 * - other 4xx → `chat_rejected` (`chat_not_found` for the "not found" ids), permanent.
 *
 * Messages carry the operation, the status and Rocket.Chat's error id (`errorType`), never the server's
 * free text (it can quote room or file names) and never a credential. Wire types stay in this folder.
 */
import { RelaisError } from '../../core/errors.js';

/** An HTTP answer other than 2xx (or a 200 with `success: false`). Kept as the `cause` of the RelaisError. */
export class RocketChatHttpError extends Error {
  constructor(
    readonly status: number,
    /** Rocket.Chat's error id (`errorType`, or the `[id]` at the end of `error`), when there is one. */
    readonly errorType: string | undefined,
    /** The server's `error` text: matched against known answers, never logged or put in a message. */
    readonly serverError: string | undefined,
    readonly retryAfterMs: number | undefined,
  ) {
    super(`Rocket.Chat answered HTTP ${status}${errorType ? ` (${errorType})` : ''}`);
    this.name = 'RocketChatHttpError';
  }
}

/** No HTTP answer at all. */
export class RocketChatTransportError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RocketChatTransportError';
  }
}

/** `Retry-After` (seconds or HTTP date), else `X-RateLimit-Reset` (epoch ms on Rocket.Chat; seconds if small), in ms. */
export function retryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const retryAfter = headers.get('retry-after');
  if (retryAfter) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
    const date = Date.parse(retryAfter);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  const reset = Number(headers.get('x-ratelimit-reset') ?? '');
  if (headers.has('x-ratelimit-reset') && Number.isFinite(reset) && reset >= 0) {
    // Rocket.Chat sends the epoch time (ms) at which the limiter resets.
    return reset > 1e11 ? Math.max(0, Math.round(reset - now)) : Math.round(reset * 1000);
  }
  return undefined;
}

/** The error id of a Rocket.Chat error body: `errorType`, else a trailing `[error-id]` in `error`. */
export function errorIdOf(body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const b = body as { errorType?: unknown; error?: unknown };
  if (typeof b.errorType === 'string' && b.errorType) return b.errorType;
  if (typeof b.error === 'string') {
    const m = /\[([a-zA-Z0-9_.-]+)\]\s*$/.exec(b.error);
    if (m) return m[1];
  }
  return undefined;
}

/** The HTTP error behind a RelaisError produced here, if there was an answer. */
export function httpErrorOf(err: unknown): RocketChatHttpError | undefined {
  const cause = err instanceof RelaisError ? err.cause : err;
  return cause instanceof RocketChatHttpError ? cause : undefined;
}

/** Rocket.Chat's error id behind an error (`error-room-not-found`…). */
export function errorIdOfError(err: unknown): string | undefined {
  return httpErrorOf(err)?.errorType;
}

const NOT_FOUND_IDS = new Set(['error-room-not-found', 'error-message-not-found', 'error-invalid-room', 'error-invalid-user']);

/** Maps a failure of operation `op` to a RelaisError (see the module comment). */
export function toRelaisError(op: string, err: unknown): RelaisError {
  if (err instanceof RelaisError) return err;
  if (err instanceof RocketChatTransportError) {
    return new RelaisError('chat_unreachable', `Rocket.Chat unreachable during ${op}: ${err.message}; check ROCKETCHAT_URL and the network`, { retryable: true, cause: err });
  }
  if (err instanceof RocketChatHttpError) {
    const what = `Rocket.Chat refused ${op}: HTTP ${err.status}${err.errorType ? ` ${err.errorType}` : ''}`;
    if (err.status === 429 || err.errorType === 'error-too-many-requests') {
      return new RelaisError('chat_rate_limited', `${what} (rate limited; give the bridge user the bot role, which has api-bypass-rate-limit)`, { retryable: true, retryAfterMs: err.retryAfterMs, cause: err });
    }
    if (err.status === 401) {
      return new RelaisError('chat_auth_failed', `${what}. Check ROCKETCHAT_USER_ID and ROCKETCHAT_TOKEN (a valid personal access token of that user)`, { retryable: false, cause: err });
    }
    if (err.status === 403) {
      return new RelaisError('chat_auth_failed', `${what}. Check ROCKETCHAT_USER_ID and ROCKETCHAT_TOKEN, that the user has the bot role and the permissions this needs, and that it is a member of the room`, { retryable: false, cause: err });
    }
    if (err.status >= 500) {
      return new RelaisError('chat_unavailable', `${what} (server error)`, { retryable: true, retryAfterMs: err.retryAfterMs, cause: err });
    }
    const notFound = err.status === 404 || (err.errorType !== undefined && NOT_FOUND_IDS.has(err.errorType));
    return new RelaisError(notFound ? 'chat_not_found' : 'chat_rejected', what, { retryable: false, cause: err });
  }
  return new RelaisError('chat_unexpected', `Unexpected failure during Rocket.Chat ${op}`, { retryable: true, cause: err });
}

export interface RestOptions {
  url: string;
  userId: string;
  token: string;
  fetchImpl: typeof fetch;
  timeoutMs: number;
  uploadTimeoutMs: number;
}

type Query = Record<string, string | number | boolean | undefined>;

/** Authenticated REST v1 calls and file downloads. Stateless apart from its settings. */
export class RocketChatRest {
  readonly base: string;

  constructor(private readonly opts: RestOptions) {
    this.base = opts.url.replace(/\/+$/, '');
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { 'X-User-Id': this.opts.userId, 'X-Auth-Token': this.opts.token, 'User-Agent': 'relais', Accept: 'application/json', ...extra };
  }

  private async send(op: string, url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
    let response: Response;
    try {
      response = await this.opts.fetchImpl(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw toRelaisError(op, new RocketChatTransportError('Rocket.Chat did not answer', { cause: err }));
    }
    return response;
  }

  private async json<T>(op: string, response: Response): Promise<T> {
    let body: unknown;
    try {
      const text = await response.text();
      body = text ? JSON.parse(text) : {};
    } catch (err) {
      if (!response.ok) body = undefined;
      else throw toRelaisError(op, new RocketChatTransportError('Rocket.Chat sent an unreadable answer', { cause: err }));
    }
    const failed = !response.ok || (body !== null && typeof body === 'object' && (body as { success?: unknown }).success === false);
    if (failed) {
      const serverError = body && typeof body === 'object' && typeof (body as { error?: unknown }).error === 'string' ? (body as { error: string }).error : undefined;
      const status = response.ok ? 400 : response.status;
      throw toRelaisError(op, new RocketChatHttpError(status, errorIdOf(body), serverError, retryAfterMs(response.headers)));
    }
    return body as T;
  }

  /** `GET /api/v1/<endpoint>?query`. Throws RelaisError. */
  async get<T>(op: string, endpoint: string, query: Query = {}): Promise<T> {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) qs.set(k, String(v));
    const url = `${this.base}/api/v1/${endpoint}${qs.size > 0 ? `?${qs.toString()}` : ''}`;
    const response = await this.send(op, url, { method: 'GET', headers: this.headers() }, this.opts.timeoutMs);
    return this.json<T>(op, response);
  }

  /** `POST /api/v1/<endpoint>` with a JSON body. Throws RelaisError. */
  async post<T>(op: string, endpoint: string, body: unknown): Promise<T> {
    const response = await this.send(op, `${this.base}/api/v1/${endpoint}`, {
      method: 'POST',
      headers: this.headers({ 'Content-Type': 'application/json' }),
      body: JSON.stringify(body),
    }, this.opts.timeoutMs);
    return this.json<T>(op, response);
  }

  /** `POST /api/v1/<endpoint>` with a multipart body (fetch sets the boundary). Upload timeout. */
  async postForm<T>(op: string, endpoint: string, form: FormData): Promise<T> {
    const response = await this.send(op, `${this.base}/api/v1/${endpoint}`, { method: 'POST', headers: this.headers(), body: form }, this.opts.uploadTimeoutMs);
    return this.json<T>(op, response);
  }

  /**
   * `GET <site><path>` for a file (`/file-upload/<id>/<name>`), with the bot's headers (needed with
   * `FileUpload_ProtectFiles`, the default). A refusal is a 403 with an empty body. Upload timeout.
   */
  async download(op: string, path: string): Promise<{ data: Uint8Array; contentType: string | null }> {
    const response = await this.send(op, `${this.base}${path}`, { method: 'GET', headers: this.headers({ Accept: '*/*' }) }, this.opts.uploadTimeoutMs);
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      throw toRelaisError(op, new RocketChatHttpError(response.status, undefined, undefined, retryAfterMs(response.headers)));
    }
    try {
      return { data: new Uint8Array(await response.arrayBuffer()), contentType: response.headers.get('content-type') };
    } catch (err) {
      throw toRelaisError(op, new RocketChatTransportError('Rocket.Chat download was interrupted', { cause: err }));
    }
  }
}
