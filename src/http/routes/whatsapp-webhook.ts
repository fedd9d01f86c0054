import { timingSafeEqual } from 'node:crypto';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
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

  app.post('/', bodyLimit({
    maxSize: WEBHOOK_MAX_BYTES,
    onError: (c) => {
      deps.metrics.webhooksRejected.inc({ reason: 'too_large' });
      deps.logger.warn('webhook refused: body over 3 MiB');
      return c.json({ error: { code: 'payload_too_large', message: 'Webhook bodies are limited to 3 MiB' } }, 413);
    },
  }), async (c) => {
    const raw = new Uint8Array(await c.req.arrayBuffer());
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
