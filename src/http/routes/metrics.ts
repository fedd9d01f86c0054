import { Hono } from 'hono';
import type { Metrics } from '../../metrics.js';

/** `GET /metrics` in the Prometheus text format. `sample` refreshes gauges (queue depth) first. */
export function metricsRoutes(metrics: Metrics, sample?: () => Promise<void>) {
  const app = new Hono();
  app.get('/metrics', async (c) => {
    if (sample) await sample().catch(() => undefined);
    c.header('Content-Type', metrics.registry.contentType);
    return c.body(await metrics.registry.metrics());
  });
  return app;
}
