import { timingSafeEqual } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { dbErrorFields, type Logger } from '../../log.js';
import type { Metrics } from '../../metrics.js';
import type { ParsedWebhook } from '../../core/messages.js';

/** Meta caps webhook payloads at 3 MB; anything larger is refused before it is read. */
export const WEBHOOK_MAX_BYTES = 3 * 1024 * 1024;

export interface WebhookDeps {
  logger: Logger;
  metrics: Metrics;
  appSecret(): string | undefined;
  verifyToken(): string | undefined;
  verifySignature(appSecret: string, raw: Uint8Array, header: string | undefined): boolean;
  parse(raw: Uint8Array): { ok: true; webhook: ParsedWebhook } | { ok: false; reason: string; detail: string };
  /**
   * Persists the webhook durably (one transaction) and resolves once committed. Throws when
   * the database is unavailable; the route then answers 503 so Meta retries.
   */
  accept(raw: Uint8Array, parsed: ParsedWebhook): Promise<{ stored: number; duplicates: number; statuses: number; quarantined: boolean }>;
  /** Keeps signed bytes Relais could not read. Throws when the database is unavailable. */
  quarantine(raw: Uint8Array, reason: string): Promise<void>;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The request body, or `null` when it is over `maxBytes`. A declared Content-Length is checked
 * before anything is read; a chunked body is read with a running count and abandoned at the cap.
 * Hono's bodyLimit middleware is not used here because it touches `c.req.raw.body`, which makes
 * the Node adapter build a full WHATWG Request and stream for every webhook (about a tenth of the
 * CPU of the acknowledgement path); `c.req.arrayBuffer()` reads the Node stream directly.
 */
async function readBodyCapped(c: Context, maxBytes: number): Promise<Uint8Array | null> {
  const declared = c.req.header('content-length');
  if (declared !== undefined && c.req.header('transfer-encoding') === undefined) {
    if (!/^\d+$/.test(declared) || Number(declared) > maxBytes) return null;
    return new Uint8Array(await c.req.arrayBuffer());
  }
  const reader = c.req.raw.body?.getReader();
  if (!reader) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) { await reader.cancel().catch(() => undefined); return null; }
    chunks.push(value);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

/**
 * `GET /webhooks/whatsapp` (Meta's verification handshake) and `POST /webhooks/whatsapp`.
 * The POST handler verifies, persists and acknowledges; nothing else runs in the request.
 */
export function whatsappWebhookRoutes(deps: WebhookDeps) {
  const app = new Hono();

  app.get('/', (c) => {
    // Query keys contain dots (hub.mode): read them literally.
    const mode = c.req.query('hub.mode');
    const token = c.req.query('hub.verify_token') ?? '';
    const challenge = c.req.query('hub.challenge') ?? '';
    const expected = deps.verifyToken();
    if (mode === 'subscribe' && expected && safeEqual(token, expected)) {
      deps.logger.info('webhook verification handshake accepted');
      return c.text(challenge, 200);
    }
    deps.metrics.webhooksRejected.inc({ reason: 'verify_token' });
    deps.logger.warn({ mode, configured: Boolean(expected) }, 'webhook verification handshake refused');
    return c.text('Forbidden: hub.verify_token does not match WHATSAPP_VERIFY_TOKEN', 403);
  });

  app.post('/', async (c) => {
    const raw = await readBodyCapped(c, WEBHOOK_MAX_BYTES);
    if (!raw) {
      deps.metrics.webhooksRejected.inc({ reason: 'too_large' });
      deps.logger.warn('webhook refused: body over 3 MiB');
      return c.json({ error: { code: 'payload_too_large', message: 'Webhook bodies are limited to 3 MiB' } }, 413);
    }
    const secret = deps.appSecret();
    if (!secret || !deps.verifySignature(secret, raw, c.req.header('x-hub-signature-256'))) {
      const reason = !secret ? 'no_app_secret' : c.req.header('x-hub-signature-256') ? 'bad_signature' : 'missing_signature';
      deps.metrics.webhooksRejected.inc({ reason });
      deps.logger.warn({ reason, bytes: raw.byteLength }, 'webhook refused: signature check failed');
      return c.json({ error: { code: reason, message: 'X-Hub-Signature-256 does not match the body signed with WHATSAPP_APP_SECRET' } }, 401);
    }
    const parsed = deps.parse(raw);
    try {
      if (!parsed.ok) {
        // Signed by Meta but unreadable: keep the bytes (sealed) so nothing is lost.
        await deps.quarantine(raw, parsed.reason);
        deps.metrics.webhooksQuarantined.inc({ reason: parsed.reason });
        deps.logger.warn({ reason: parsed.reason, detail: parsed.detail }, 'signed webhook could not be read; quarantined');
        if (parsed.reason === 'malformed_json') {
          deps.metrics.webhooksRejected.inc({ reason: 'malformed_json' });
          return c.json({ error: { code: 'malformed_json', message: 'The body is not valid JSON' } }, 400);
        }
        deps.metrics.webhooksReceived.inc({ outcome: 'quarantined' });
        return c.json({ ok: true, quarantined: true }, 200);
      }
      const r = await deps.accept(raw, parsed.webhook);
      deps.metrics.webhooksReceived.inc({ outcome: r.quarantined ? 'quarantined' : 'stored' });
      deps.logger.debug({ stored: r.stored, duplicates: r.duplicates, statuses: r.statuses }, 'webhook committed');
      return c.json({ ok: true }, 200);
    } catch (err) {
      deps.metrics.webhooksRejected.inc({ reason: 'database_unavailable' });
      deps.logger.error({ err: dbErrorFields(err) }, 'webhook not stored: database unavailable; answering 503 so Meta retries');
      return c.json({ error: { code: 'database_unavailable', message: 'Not stored; retry later' } }, 503);
    }
  });

  return app;
}
