import { eq, sql } from 'drizzle-orm';
import { fromDrizzle } from 'pg-boss';
import { RelaisError } from '../core/errors.js';
import type { Db } from '../db/client.js';
import { messages, outbox } from '../db/schema/index.js';
import { QUEUES, type Queue } from '../queue/boss.js';
import { appendAudit } from './audit.js';
import type { ComplianceDeps } from './deps.js';

/** The work queues that have a dead-letter queue, by their public name. */
export const DEAD_LETTER_QUEUES = {
  relay: { work: QUEUES.relay, dead: QUEUES.relayDead, idField: 'messageId' },
  send: { work: QUEUES.send, dead: QUEUES.sendDead, idField: 'outboxId' },
} as const;
export type DeadLetterQueue = keyof typeof DEAD_LETTER_QUEUES;

/**
 * A dead-lettered job as the admin API shows it. Job payloads hold internal ids only (message,
 * outbox, customer uuids) and an error code; anything else in a payload or error output is
 * dropped here, so a future payload field can never leak through this listing.
 */
export interface DeadLetter {
  id: string;
  queue: DeadLetterQueue;
  /** The message (relay) or agent reply (send) the job was about. */
  messageId?: string;
  outboxId?: string;
  customerId?: string;
  /** Error code of the last failure, when one was recorded. */
  errorCode: string | null;
  /** When the job entered the dead-letter queue, and when the original job was created. */
  deadLetteredAt: Date;
  originalCreatedAt: Date | null;
  /** Attempts the original job used before it was dead-lettered. */
  retries: number | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CODE = /^[a-z0-9_.:-]{1,64}$/i;
const uuidOr = (v: unknown) => (typeof v === 'string' && UUID.test(v) ? v : undefined);
const codeOr = (v: unknown) => (typeof v === 'string' && CODE.test(v) ? v : null);

type BossJob = Awaited<ReturnType<Queue['boss']['findJobs']>>[number];

function toDeadLetter(queue: DeadLetterQueue, job: BossJob): DeadLetter {
  const data = (job.data ?? {}) as Record<string, unknown>;
  const output = (job.sourceOutput ?? job.output ?? {}) as Record<string, unknown>;
  return {
    id: job.id, queue,
    messageId: uuidOr(data.messageId), outboxId: uuidOr(data.outboxId), customerId: uuidOr(data.customerId),
    errorCode: codeOr(data.code) ?? codeOr(output.code),
    deadLetteredAt: job.createdOn, originalCreatedAt: job.sourceCreatedOn ?? null, retries: job.sourceRetryCount ?? null,
  };
}

/** Waiting dead-lettered jobs of one queue, oldest first, `limit` at a time after job id `after`. Read-only. */
export async function listDeadLetters(queue: Queue, which: DeadLetterQueue, opts: { limit: number; after?: string }): Promise<{ deadLetters: DeadLetter[]; nextAfter: string | null }> {
  const q = DEAD_LETTER_QUEUES[which];
  let jobs: BossJob[];
  try {
    jobs = await queue.boss.findJobs(q.dead, { queued: true, limit: opts.limit + 1, ...(opts.after ? { after: opts.after } : {}) });
  } catch (err) {
    // pg-boss rejects an `after` job that no longer exists (redriven meanwhile).
    if (opts.after) throw new RelaisError('invalid_request', 'the "after" job is no longer in the dead-letter queue; list again from the start', { retryable: false, cause: err });
    throw err;
  }
  const page = jobs.slice(0, opts.limit);
  return { deadLetters: page.map((j) => toDeadLetter(which, j)), nextAfter: jobs.length > opts.limit ? page[page.length - 1]!.id : null };
}

/**
 * Sends a dead-lettered job back to its work queue, in one transaction with its audit entry
 * (`dead_letter.redrive`):
 * - a relay message marked `failed` is set back to `pending` (else the relay worker skips it);
 *   an agent reply marked `failed` is set back to `queued`;
 * - when the original job is still parked `failed` in the work queue, pg-boss retries it in
 *   place: under `key_strict_fifo` a failed job holds its conversation's key, so a new job
 *   would wait behind it forever; otherwise a new job is queued, keyed by the customer;
 * - the dead-letter copy is deleted.
 * Throws RelaisError('not_found') when no waiting dead letter has this id, 'target_gone' when
 * its message no longer exists (erased or purged).
 */
export async function redriveDeadLetter(deps: ComplianceDeps, queue: Queue, id: string, opts: { actor: string }): Promise<{ queue: DeadLetterQueue; via: 'retry' | 'requeue' }> {
  if (!UUID.test(id)) throw new RelaisError('not_found', 'no dead-lettered job has this id', { retryable: false });
  let found: { which: DeadLetterQueue; job: BossJob } | undefined;
  for (const which of Object.keys(DEAD_LETTER_QUEUES) as DeadLetterQueue[]) {
    const [job] = await queue.boss.findJobs(DEAD_LETTER_QUEUES[which].dead, { id, queued: true, limit: 1 });
    if (job) { found = { which, job }; break; }
  }
  if (!found) throw new RelaisError('not_found', 'no waiting dead-lettered job has this id (already redriven, or expired)', { retryable: false });
  const { which, job } = found;
  const q = DEAD_LETTER_QUEUES[which];
  const dl = toDeadLetter(which, job);
  const itemId = which === 'relay' ? dl.messageId : dl.outboxId;
  return deps.db.transaction(async (tx) => {
    const customerId = itemId ? await resetItem(tx, which, itemId) : undefined;
    if (!customerId) throw new RelaisError('target_gone', 'the message of this dead letter no longer exists (erased or purged); nothing to redrive', { retryable: false });
    const conn = { db: fromDrizzle(tx as never, sql as never) };
    const original = job.sourceName === q.work && job.sourceId
      ? (await queue.boss.findJobs(q.work, { id: job.sourceId, limit: 1, ...conn }))[0]
      : undefined;
    let via: 'retry' | 'requeue';
    if (original?.state === 'failed') {
      await queue.boss.retry(q.work, original.id, conn);
      via = 'retry';
    } else {
      await queue.boss.send(q.work, { [q.idField]: itemId, customerId }, { singletonKey: customerId, ...conn });
      via = 'requeue';
    }
    await queue.boss.deleteJob(q.dead, job.id, conn);
    await appendAudit(tx, deps.ring, { actor: opts.actor, action: 'dead_letter.redrive', target: job.id, details: { queue: which, [q.idField]: itemId, customerId, via, errorCode: dl.errorCode } });
    return { queue: which, via };
  });
}

/** Makes the job's work item eligible again; returns its customer id, or undefined when it is gone. */
async function resetItem(tx: Db, which: DeadLetterQueue, itemId: string): Promise<string | undefined> {
  if (which === 'relay') {
    const [m] = await tx.select({ customerId: messages.customerId, state: messages.relayState, purged: messages.contentPurgedAt }).from(messages).where(eq(messages.id, itemId)).for('update');
    if (!m || m.purged) return undefined;
    if (m.state === 'failed') await tx.update(messages).set({ relayState: 'pending', relayError: null }).where(eq(messages.id, itemId));
    return m.customerId;
  }
  const [o] = await tx.select({ customerId: outbox.customerId, state: outbox.state }).from(outbox).where(eq(outbox.id, itemId)).for('update');
  if (!o) return undefined;
  if (o.state === 'failed') await tx.update(outbox).set({ state: 'queued', errorCode: null }).where(eq(outbox.id, itemId));
  return o.customerId;
}
