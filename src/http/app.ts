import { Hono } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { RelaisError } from '../core/errors.js';
import type { Language } from '../core/i18n.js';
import { healthRoutes, type ReadinessCheck } from './routes/health.js';
import { homeRoutes, type HomeInfo } from './routes/home.js';
import { metricsRoutes } from './routes/metrics.js';
import { whatsappWebhookRoutes, type WebhookDeps } from './routes/whatsapp-webhook.js';

export interface AppDeps {
  logger: Logger;
  metrics: Metrics;
  language: Language;
  webhook: Omit<WebhookDeps, 'logger' | 'metrics'>;
  readiness: ReadinessCheck[];
  missing: () => string[];
  draining: () => boolean;
  home: () => HomeInfo;
  sampleMetrics?: () => Promise<void>;
  /** Extra sub-apps (e.g. the simulator at /simulator in development). */
  mounts?: { path: string; app: Hono }[];
}

/** Builds the HTTP application. No I/O until a request arrives. */
export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  app.use('*', secureHeaders({ crossOriginResourcePolicy: false }));
  app.route('/', healthRoutes({ checks: deps.readiness, missing: deps.missing, draining: deps.draining }));
  app.route('/', metricsRoutes(deps.metrics, deps.sampleMetrics));
  app.route('/webhooks/whatsapp', whatsappWebhookRoutes({ ...deps.webhook, logger: deps.logger, metrics: deps.metrics }));
  for (const m of deps.mounts ?? []) app.route(m.path, m.app);
  app.route('/', homeRoutes(deps.home, deps.language));
  app.notFound((c) => c.json({ error: { code: 'not_found', message: `No route for ${c.req.method} ${c.req.path}` } }, 404));
  app.onError((err, c) => {
    if (err instanceof RelaisError) {
      deps.logger.warn({ code: err.code }, 'request failed');
      return c.json({ error: { code: err.code, message: err.message } }, err.retryable ? 503 : 400);
    }
    deps.logger.error({ err }, 'unexpected error in request');
    return c.json({ error: { code: 'internal', message: 'Unexpected error; see the Relais logs' } }, 500);
  });
  return app;
}
