import { Hono } from 'hono';

export interface ReadinessCheck {
  name: string;
  /**
   * True when this replica cannot accept webhooks without it (database, key). Only these gate
   * `/readyz/webhooks`, the Kubernetes readiness probe: a chat-platform outage must not take
   * every pod out of the Service, or Meta's webhooks would be refused while they can be stored.
   */
  gatesWebhooks?: boolean;
  /** Resolves ok/detail; must not throw and should answer within a few seconds. */
  check(): Promise<{ ok: boolean; detail?: string }>;
}

/**
 * `GET /healthz`: the process is alive (no dependency checked, so a database outage never
 * restarts pods). `GET /readyz`: every dependency answers (database, key, chat platform, WhatsApp
 * token, setup complete); 503 with the failing checks named — for monitoring and for people.
 * `GET /readyz/webhooks`: only what accepting webhooks needs; the Kubernetes readiness probe.
 */
export function healthRoutes(opts: { checks: ReadinessCheck[]; missing: () => string[]; draining: () => boolean }) {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  const run = (checks: ReadinessCheck[]) => Promise.all(checks.map(async (ch) => {
      const timeout = new Promise<{ ok: boolean; detail?: string }>((resolve) => {
        setTimeout(() => resolve({ ok: false, detail: 'no answer within 5 s' }), 5000).unref();
      });
      const r = await Promise.race([ch.check().catch((e: Error) => ({ ok: false, detail: e.message })), timeout]);
      return { name: ch.name, ...r };
  }));
  app.get('/readyz/webhooks', async (c) => {
    const results = await run(opts.checks.filter((ch) => ch.gatesWebhooks));
    const ok = !opts.draining() && results.every((r) => r.ok);
    return c.json({ status: ok ? 'ready' : 'not_ready', draining: opts.draining(), checks: results }, ok ? 200 : 503);
  });
  app.get('/readyz', async (c) => {
    const results = await run(opts.checks);
    const missing = opts.missing();
    const draining = opts.draining();
    const ok = !draining && results.every((r) => r.ok) && missing.length === 0;
    return c.json({ status: ok ? 'ready' : 'not_ready', draining, checks: results, missing }, ok ? 200 : 503);
  });
  return app;
}
