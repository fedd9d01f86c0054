/**
 * Legal hold: while a person is on hold, their conversations are exempt from retention and
 * erasure (`eraseCustomer` refuses with `RelaisError('legal_hold')`). One `legal_holds` row per
 * customer row of the person; lifting the hold deletes the rows, and the audit log keeps the
 * history (`hold.on` / `hold.off`, who, when, which customer ids).
 */
import { eq, inArray } from 'drizzle-orm';
import { RelaisError } from '../core/errors.js';
import type { Db } from '../db/client.js';
import { legalHolds } from '../db/schema/index.js';
import { appendAudit } from './audit.js';
import type { ComplianceDeps } from './deps.js';
import { findCustomersByPhone } from './subjects.js';

/** Longest reason accepted: a case reference, not a narrative. */
export const MAX_HOLD_REASON = 200;

/**
 * Puts the person with phone number `phone` on legal hold (`on`) or lifts it, for every customer
 * row they have. Idempotent: holding again keeps the first hold's date and author (the reason is
 * updated when given); lifting a hold that is not there changes nothing. Each call is audited, in
 * the same transaction. `reason` is stored as plain text: a case or ticket reference, never
 * personal data (it is not written to the audit log). Throws `RelaisError('invalid_phone')`,
 * `RelaisError('not_found')` when Relais holds nothing for the number, `RelaisError('invalid_argument')`
 * for a reason over `MAX_HOLD_REASON` characters.
 */
export async function setLegalHold(
  deps: ComplianceDeps, phone: string, on: boolean, opts: { actor: string; reason?: string },
): Promise<{ customers: number }> {
  const reason = opts.reason?.trim() || undefined;
  if (reason && reason.length > MAX_HOLD_REASON) {
    throw new RelaisError('invalid_argument', `The hold reason is longer than ${MAX_HOLD_REASON} characters: give a case or ticket reference`, { retryable: false });
  }
  const found = await findCustomersByPhone(deps.db, deps.ring, phone);
  if (found.length === 0) {
    throw new RelaisError('not_found', 'Relais holds no data for this phone number, so there is nothing to hold: check that the number has its country code', { retryable: false });
  }
  const ids = found.map((c) => c.id);
  const now = deps.now?.() ?? new Date();
  const changed = await deps.db.transaction(async (tx) => {
    let n: number;
    if (on) {
      const rows = ids.map((customerId) => ({ customerId, reason: reason ?? null, setBy: opts.actor, setAt: now }));
      const inserted = await tx.insert(legalHolds).values(rows).onConflictDoNothing({ target: legalHolds.customerId }).returning({ id: legalHolds.customerId });
      if (reason) await tx.update(legalHolds).set({ reason }).where(inArray(legalHolds.customerId, ids));
      n = inserted.length;
    } else {
      n = (await tx.delete(legalHolds).where(inArray(legalHolds.customerId, ids)).returning({ id: legalHolds.customerId })).length;
    }
    await appendAudit(tx, deps.ring, {
      actor: opts.actor, action: on ? 'hold.on' : 'hold.off', target: ids.join(','),
      details: { customers: ids.length, changed: n, ...(on && { reasonGiven: Boolean(reason) }) },
    }, { now, logger: deps.logger });
    return n;
  });
  deps.logger.info({ customers: ids.length, changed, on }, on ? 'legal hold set' : 'legal hold lifted');
  return { customers: ids.length };
}

/** Whether customer `customerId` is on legal hold. Read-only, one indexed query. */
export async function isOnHold(db: Db, customerId: string): Promise<boolean> {
  const rows = await db.select({ id: legalHolds.customerId }).from(legalHolds).where(eq(legalHolds.customerId, customerId)).limit(1);
  return rows.length > 0;
}

/** The ids among `customerIds` that are on legal hold. Read-only. */
export async function heldIds(db: Db, customerIds: string[]): Promise<Set<string>> {
  if (customerIds.length === 0) return new Set();
  const rows = await db.select({ id: legalHolds.customerId }).from(legalHolds).where(inArray(legalHolds.customerId, customerIds));
  return new Set(rows.map((r) => r.id));
}
