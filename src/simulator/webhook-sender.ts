import { createHmac } from 'node:crypto';

/**
 * Delivers webhook bodies the way Meta does: compact JSON with non-ASCII and "/" escaped,
 * signed over the exact bytes (`X-Hub-Signature-256: sha256=<hex HMAC-SHA256(appSecret, body)>`),
 * redirects not followed, any non-2xx or network error retried. Meta retries for days with
 * decreasing frequency; this compresses that into a few attempts with a short backoff.
 */

/** `sha256=` + hex HMAC-SHA256 of the exact bytes, keyed with the app secret. */
export function signWebhookBody(appSecret: string, body: Uint8Array | string): string {
  return `sha256=${createHmac('sha256', appSecret).update(body).digest('hex')}`;
}

/**
 * Serialises a payload like Meta's servers: compact, every non-ASCII UTF-16 unit as `\uXXXX`
 * and `/` as `\/`. A receiver that re-encodes parsed JSON before checking the signature fails.
 */
export function encodeWebhookBody(payload: unknown): Uint8Array {
  const json = JSON.stringify(payload)
    .replace(/[\u007f-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(/\//g, '\\/');
  return new TextEncoder().encode(json);
}

export interface SendWebhookOptions {
  url: string;
  appSecret: string;
  /** Raw bytes or text are sent as is; anything else goes through `encodeWebhookBody`. */
  body: Uint8Array | string | object;
  fetchImpl?: typeof fetch;
  /** Total attempts including the first (default 5). */
  maxAttempts?: number;
  /** Delay before the 2nd attempt, doubled each time (default 200 ms). */
  baseDelayMs?: number;
  /** Cap on one delay (default 2000 ms). */
  maxDelayMs?: number;
  /** Per-attempt timeout (default 10 s). */
  timeoutMs?: number;
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
}

export interface WebhookDelivery {
  /** HTTP status of the last attempt; null when it got no response (network error, timeout). */
  status: number | null;
  attempts: number;
  ok: boolean;
  /** Message of the last network error, if the last attempt had one. */
  error?: string;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * POSTs one webhook body, retrying until a 2xx or `maxAttempts`. Never throws for HTTP or
 * network failures: the outcome is in the returned delivery. Each attempt is signed afresh
 * over the same bytes, so a receiver sees identical duplicates, as with Meta.
 */
export async function sendWebhook(opts: SendWebhookOptions): Promise<WebhookDelivery> {
  const doFetch = opts.fetchImpl ?? fetch;
  const sleep = opts.sleep ?? defaultSleep;
  const maxAttempts = Math.max(1, opts.maxAttempts ?? 5);
  const bytes = typeof opts.body === 'string' ? new TextEncoder().encode(opts.body)
    : opts.body instanceof Uint8Array ? opts.body : encodeWebhookBody(opts.body);
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'facebookexternalua',
    'x-hub-signature': `sha1=${createHmac('sha1', opts.appSecret).update(bytes).digest('hex')}`,
    'x-hub-signature-256': signWebhookBody(opts.appSecret, bytes),
  };
  let last: WebhookDelivery = { status: null, attempts: 0, ok: false };
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    if (attempt > 1) await sleep(Math.min((opts.baseDelayMs ?? 200) * 2 ** (attempt - 2), opts.maxDelayMs ?? 2000));
    try {
      const res = await doFetch(opts.url, {
        method: 'POST', headers, body: new Uint8Array(bytes), redirect: 'manual', signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
      });
      await res.arrayBuffer().catch(() => undefined);
      last = { status: res.status, attempts: attempt, ok: res.status >= 200 && res.status < 300 };
    } catch (err) {
      last = { status: null, attempts: attempt, ok: false, error: err instanceof Error ? err.message : String(err) };
    }
    if (last.ok) break;
  }
  return last;
}
