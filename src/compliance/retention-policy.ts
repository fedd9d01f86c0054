import type { RelaisConfig } from '../config/load.js';

const DAY_MS = 86_400_000;

/**
 * Meta redelivers an unacknowledged webhook for up to 7 days. Until a message is this old its
 * `wamid_bidx` stays (even when its content is purged earlier, with RETENTION_DAYS under 8) so a
 * late redelivery is still recognised as a duplicate and not relayed twice.
 */
export const REDELIVERY_HORIZON_DAYS = 8;

/** The retention that applies to one business number at one instant. */
export interface NumberRetention {
  phoneNumberId: string;
  /** Days of content kept; from the number's `retentionDays`, else RETENTION_DAYS. */
  days: number;
  /** Content received before this instant is purged. */
  cutoff: Date;
  /** wamid indexes of messages received before this instant are cleared (≤ cutoff or 8 days ago). */
  indexCutoff: Date;
}

/**
 * Which business numbers have a retention and their cutoffs at `now`. `phoneNumberIds` are the
 * numbers that have customers in the archive: a number no longer configured still gets the global
 * RETENTION_DAYS (its data does not stop ageing because it left the configuration); a number with
 * neither a global nor its own setting is kept forever and left out. Pure.
 */
export function retentionPlan(config: RelaisConfig, phoneNumberIds: Iterable<string>, now: Date): NumberRetention[] {
  const overrides = new Map(config.whatsapp.numbers.map((n) => [n.phoneNumberId, n.retentionDays]));
  const plan: NumberRetention[] = [];
  for (const phoneNumberId of new Set(phoneNumberIds)) {
    const days = overrides.get(phoneNumberId) ?? config.compliance.retentionDays;
    if (days === undefined) continue;
    const cutoff = new Date(now.getTime() - days * DAY_MS);
    const horizon = new Date(now.getTime() - REDELIVERY_HORIZON_DAYS * DAY_MS);
    plan.push({ phoneNumberId, days, cutoff, indexCutoff: cutoff < horizon ? cutoff : horizon });
  }
  return plan.sort((a, b) => a.phoneNumberId.localeCompare(b.phoneNumberId));
}

/** True when any retention is configured (globally or for one number): the daily job has work to look for. */
export function retentionConfigured(config: RelaisConfig): boolean {
  return config.compliance.retentionDays !== undefined || config.whatsapp.numbers.some((n) => n.retentionDays !== undefined);
}
