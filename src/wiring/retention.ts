import type { ComplianceDeps } from '../compliance/deps.js';
import { runRetention } from '../compliance/retention.js';
import { retentionConfigured } from '../compliance/retention-policy.js';
import { errorCode } from '../core/errors.js';
import { QUEUES, type Queue } from '../queue/boss.js';

/** When the daily retention run starts: 03:00 UTC (documented in docs/retention.md). */
export const RETENTION_CRON = '0 3 * * *';

/**
 * Schedules the daily retention run and, when `workers`, runs it in this process. The schedule is
 * one pg-boss cron row (every replica writes the same row; one job per day is created); the
 * `retention` queue is a singleton queue, so one run is active at a time across replicas. A
 * deployment down at 03:00 runs once when it comes back (`missed: 'once'`). Without any retention
 * setting the schedule is removed. Does database I/O; throws if the queue is unavailable.
 */
export async function startRetentionJob(d: { queue: Queue; deps: ComplianceDeps; workers: boolean }): Promise<void> {
  const { boss } = d.queue;
  if (!retentionConfigured(d.deps.config)) {
    await boss.unschedule(QUEUES.retention);
    return;
  }
  if (d.workers) {
    await boss.work(QUEUES.retention, { pollingIntervalSeconds: 5 }, async () => {
      try {
        await runRetention(d.deps, { actor: 'system' });
      } catch (err) {
        d.deps.logger.warn({ code: errorCode(err) }, 'retention run failed; the queue retries it');
        throw err;
      }
    });
  }
  await boss.schedule(QUEUES.retention, RETENTION_CRON, {}, { tz: 'UTC', missed: 'once' });
}
