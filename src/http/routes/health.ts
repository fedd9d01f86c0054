import { Hono } from 'hono';

export interface ReadinessCheck {
  name: string;
  /** Resolves ok/detail; must not throw and should answer within a few seconds. */
  check(): Promise<{ ok: boolean; detail?: string }>;
}

/**
 * `GET /healthz`: the process is alive (no dependency checked, so a database outage never
 * restarts pods). `GET /readyz`: every dependency answers; 503 with the failing checks named.
 */
export function healthRoutes(opts: { checks: ReadinessCheck[]; missing: () => string[]; draining: () => boolean }) {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const results = await Promise.all(opts.checks.map(async (ch) => {
      const timeout = new Promise<{ ok: boolean; detail?: string }>((resolve) => {
        setTimeout(() => resolve({ ok: false, detail: 'no answer within 5 s' }), 5000).unref();
      });
      const r = await Promise.race([ch.check().catch((e: Error) => ({ ok: false, detail: e.message })), timeout]);
      return { name: ch.name, ...r };
    }));
    const missing = opts.missing();
    const draining = opts.draining();
    const ok = !draining && results.every((r) => r.ok) && missing.length === 0;
    return c.json({ status: ok ? 'ready' : 'not_ready', draining, checks: results, missing }, ok ? 200 : 503);
  });
  return app;
}
