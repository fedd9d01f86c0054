import type { ComplianceDeps } from '../compliance/deps.js';
import { reapplyErasures } from '../compliance/erase.js';
import { errorCode } from '../core/errors.js';
import { QUEUES, type Queue } from '../queue/boss.js';

/** Hourly, at minute 41 (away from the top of the hour other jobs like). */
export const ERASURE_UPKEEP_CRON = '41 * * * *';

/**
 * Keeps erasures finished without anyone watching: every hour, one replica re-applies every
 * recorded erasure (`reapplyErasures`): a chat step left pending because the chat server was
 * down is completed, and rows of an erased person that a backup restore brought back are deleted
 * again. Runs only when there is something to do, audited as `system`. Does database I/O.
 */
export async function startErasureUpkeep(d: { queue: Queue; deps: ComplianceDeps; workers: boolean }): Promise<void> {
  const { boss } = d.queue;
  if (d.workers) {
    await boss.work(QUEUES.erasures, { pollingIntervalSeconds: 5 }, async () => {
      try {
        const r = await reapplyErasures(d.deps, { actor: 'system' });
        if (r.customers || r.chatPending) d.deps.logger.info({ restoredCustomers: r.customers, chatPending: r.chatPending }, 'erasure upkeep ran');
        if (r.chatPending) d.deps.logger.warn({ chatPending: r.chatPending }, 'erasures still wait for the chat server; retried next hour');
      } catch (err) {
        d.deps.logger.warn({ code: errorCode(err) }, 'erasure upkeep failed; the queue retries it');
        throw err;
      }
    });
  }
  await boss.schedule(QUEUES.erasures, ERASURE_UPKEEP_CRON, {}, { tz: 'UTC' });
}

