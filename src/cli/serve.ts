import { loadConfig } from '../config/load.js';
import { createLogger } from '../log.js';
import { startRuntime } from '../runtime.js';

/** `relais serve`: validates the configuration, starts the bridge, stops cleanly on SIGTERM/SIGINT. */
export async function runServe(env: NodeJS.ProcessEnv): Promise<number> {
  const r = await loadConfig(env);
  const logger = createLogger({ level: r.config?.logLevel ?? 'info' });
  if (!r.config) {
    for (const p of r.problems) logger.error({ problem: p }, 'configuration problem');
    console.error(`\nRelais cannot start: ${r.problems.length} configuration problem(s):\n${r.problems.map((p) => `  - ${p}`).join('\n')}\n\nRun "relais check-config" after fixing them.`);
    return 1;
  }
  for (const w of r.warnings) logger.warn({ warning: w }, 'configuration warning');
  const runtime = await startRuntime(r.config, { logger, listen: true, missing: r.missing, warnings: r.warnings });
  logger.info({ url: runtime.url, simulator: Boolean(runtime.simulator), workers: r.config.workers }, 'relais is listening');
  const base = r.config.publicUrl ?? runtime.url;
  const lines = [`Relais is running on ${runtime.url}`];
  if (runtime.simulator) lines.push(`WhatsApp simulator (play the customer): ${base}/simulator/`);
  if (r.missing.length) lines.push('', 'To configure next:', ...r.missing.map((m) => `  - ${m}`));
  lines.push('', `Status page: ${base}/   Readiness: ${base}/readyz`);
  console.log(lines.join('\n'));
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      logger.info({ signal }, 'shutting down: finishing in-flight jobs');
      runtime.stop().then(resolve, resolve);
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
  return 0;
}
