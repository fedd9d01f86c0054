/**
 * The REST client of the Mattermost adapter: `@mattermost/client`'s Client4 (its routes, headers and
 * request shapes) with our own transport, so that we can inject `fetch`, time requests out, keep the
 * response headers (`Retry-After`, `X-Ratelimit-Reset`) and tell network failures from HTTP answers.
 * Every failure leaves this module as a `RelaisError` with `retryable` decided here, in one place.
 *
 * Wire types stay inside `chat/mattermost/`.
 */
import mm from '@mattermost/client';
import type { Options } from '@mattermost/types/client4';
import { RelaisError } from '../../core/errors.js';

/** An HTTP answer other than 2xx. Kept as the `cause` of the RelaisError it becomes. */
export class MattermostHttpError extends Error {
  constructor(
    readonly status: number,
    readonly serverErrorId: string | undefined,
    readonly retryAfterMs: number | undefined,
  ) {
    super(`Mattermost answered HTTP ${status}${serverErrorId ? ` (${serverErrorId})` : ''}`);
    this.name = 'MattermostHttpError';
  }
}

/** No HTTP answer at all: connection refused or reset, DNS failure, timeout, unreadable body. */
export class MattermostTransportError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MattermostTransportError';
  }
}

/** `Retry-After` (seconds or HTTP date) or Mattermost's `X-Ratelimit-Reset` (seconds), in ms. */
export function retryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const retryAfter = headers.get('retry-after');
  if (retryAfter) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
    const date = Date.parse(retryAfter);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  const reset = Number(headers.get('x-ratelimit-reset') ?? '');
  if (headers.has('x-ratelimit-reset') && Number.isFinite(reset) && reset >= 0) return Math.round(reset * 1000);
  return undefined;
}

type DoFetchWithResponse = (url: string, options: Options) => Promise<{ response: Response; headers: Map<string, string>; data: unknown }>;

/** Client4 with an injectable transport, a typed GET for routes Client4 has no method for, and binary GETs. */
export class RelaisClient4 extends mm.Client4 {
  private readonly send: (requestUrl: string, options: Options, timeoutMs: number) => Promise<Response>;

  /** `timeoutMs` bounds every call; uploads (multipart bodies) and downloads get `uploadTimeoutMs` instead. */
  constructor(url: string, token: string, fetchImpl: typeof fetch, timeoutMs: number, private readonly uploadTimeoutMs: number) {
    super();
    this.setUrl(url.replace(/\/+$/, ''));
    this.setToken(token);
    this.setUserAgent('relais');
    // One request with Client4's headers (Bearer token, User-Agent…): network failures become
    // MattermostTransportError, non-2xx answers MattermostHttpError (with Retry-After kept).
    this.send = async (requestUrl, options, limitMs) => {
      let response: Response;
      try {
        response = await fetchImpl(requestUrl, { ...this.getOptions(options), signal: AbortSignal.timeout(limitMs) } as RequestInit);
      } catch (err) {
        throw new MattermostTransportError('Mattermost did not answer', { cause: err });
      }
      if (!response.ok) {
        let data: unknown;
        try {
          data = (response.headers.get('content-type') ?? '').startsWith('application/json') ? await response.json() : await response.text();
        } catch {
          // the status says enough
        }
        const id = data && typeof data === 'object' ? (data as { id?: unknown }).id : undefined;
        throw new MattermostHttpError(response.status, typeof id === 'string' ? id : undefined, retryAfterMs(response.headers));
      }
      return response;
    };
    const transport: DoFetchWithResponse = async (requestUrl, options) => {
      const response = await this.send(requestUrl, options, options.body instanceof FormData ? uploadTimeoutMs : timeoutMs);
      const headers = new Map<string, string>();
      response.headers.forEach((value, key) => headers.set(key, value));
      let data: unknown;
      try {
        const type = response.headers.get('content-type') ?? '';
        data = type.startsWith('application/json') ? await response.json() : await response.text();
      } catch (err) {
        throw new MattermostTransportError('Mattermost sent an unreadable answer', { cause: err });
      }
      return { response, headers, data };
    };
    // Client4 declares its transport private; replacing it is the one supported seam for a custom fetch.
    (this as unknown as { doFetchWithResponse: DoFetchWithResponse }).doFetchWithResponse = transport;
  }

  /** GET a JSON route by path below `/api/v4` (for routes Client4 has no method for). */
  getJson<T>(path: string): Promise<T> {
    return this.doFetch<T>(`${this.getBaseRoute()}${path}`, { method: 'get' });
  }

  /** DELETE a route by path below `/api/v4`, query included (for options Client4 does not expose, e.g. `?permanent=true`). */
  deletePath<T>(path: string): Promise<T> {
    return this.doFetch<T>(`${this.getBaseRoute()}${path}`, { method: 'delete' });
  }

  /**
   * GET a binary route below `/api/v4` (file downloads) with the bot's token, bounded by the upload
   * timeout. Throws MattermostHttpError / MattermostTransportError like every other call.
   */
  async getBytes(path: string): Promise<{ data: Uint8Array; contentType: string | null }> {
    const response = await this.send(`${this.getBaseRoute()}${path}`, { method: 'get' }, this.uploadTimeoutMs);
    try {
      return { data: new Uint8Array(await response.arrayBuffer()), contentType: response.headers.get('content-type') };
    } catch (err) {
      throw new MattermostTransportError('Mattermost download was interrupted', { cause: err });
    }
  }
}

/** The HTTP status behind an error produced by `call`, if there was an answer. */
export function httpStatus(err: unknown): number | undefined {
  const cause = err instanceof RelaisError ? err.cause : err;
  return cause instanceof MattermostHttpError ? cause.status : undefined;
}

/** Mattermost's error id (`store.sql_channel.save_channel.exists.app_error`…) behind an error. */
export function serverErrorId(err: unknown): string | undefined {
  const cause = err instanceof RelaisError ? err.cause : err;
  return cause instanceof MattermostHttpError ? cause.serverErrorId : undefined;
}

/**
 * Maps any failure of operation `op` to a RelaisError: network errors, timeouts, 5xx and 429 are
 * retryable (with `retryAfterMs` when the server said so); 401/403 are `chat_auth_failed`; other 4xx are
 * permanent. Messages carry the operation, status and Mattermost error id, never server-provided text
 * (which can contain file names).
 */
export function toRelaisError(op: string, err: unknown): RelaisError {
  if (err instanceof RelaisError) return err;
  if (err instanceof MattermostTransportError) {
    return new RelaisError('chat_unreachable', `Mattermost unreachable during ${op}: ${err.message}; check MATTERMOST_URL and the network`, { retryable: true, cause: err });
  }
  if (err instanceof MattermostHttpError) {
    const what = `Mattermost refused ${op}: HTTP ${err.status}${err.serverErrorId ? ` ${err.serverErrorId}` : ''}`;
    if (err.status === 401 || err.status === 403) {
      return new RelaisError('chat_auth_failed', `${what}. Check MATTERMOST_TOKEN (a valid access token of the bot account) and that the bot is a member of the team with the permissions it needs`, { retryable: false, cause: err });
    }
    if (err.status === 429) {
      return new RelaisError('chat_rate_limited', `${what} (rate limited)`, { retryable: true, retryAfterMs: err.retryAfterMs, cause: err });
    }
    if (err.status >= 500) {
      return new RelaisError('chat_unavailable', `${what} (server error)`, { retryable: true, retryAfterMs: err.retryAfterMs, cause: err });
    }
    return new RelaisError(err.status === 404 ? 'chat_not_found' : 'chat_rejected', what, { retryable: false, cause: err });
  }
  return new RelaisError('chat_unexpected', `Unexpected failure during Mattermost ${op}`, { retryable: true, cause: err });
}

/** Runs one client call and maps its failure (see `toRelaisError`). */
export async function call<T>(op: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toRelaisError(op, err);
  }
}
