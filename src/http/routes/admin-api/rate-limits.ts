import { lt } from 'drizzle-orm';
import { RateLimiterDrizzle, RateLimiterRes } from 'rate-limiter-flexible';
import type { Db } from '../../../db/client.js';
import { adminRateLimits } from '../../../db/schema/index.js';

/**
 * Admin API rate limits, counted in PostgreSQL (`admin_rate_limits`) so every replica shares
 * them. Two budgets of `perMinute` each, in fixed one-minute windows from the first hit:
 * - requests per token (every authenticated request counts);
 * - failed authentications per client address; once spent, every request from that address is
 *   refused until its window ends, before any token lookup.
 */
export interface AdminRateLimits {
  /** Counts one request of a token; returns seconds to wait when over the budget, else 0. */
  takeToken(tokenId: string): Promise<number>;
  /** Seconds this address must wait because of its failed authentications, else 0. Does not count. */
  addressBlocked(address: string): Promise<number>;
  /** Counts one failed authentication of an address. */
  recordFailure(address: string): Promise<void>;
}

/** Sweep expired counters about once every this many failures (addresses come and go). */
const SWEEP_EVERY = 200;

/** Creates the limiters over `db`. No I/O until used; errors of the store propagate. */
export function createAdminRateLimits(db: Db, perMinute: number): AdminRateLimits {
  // The library's own sweeper is off: it logs through console on failure. We sweep ourselves.
  const common = { storeClient: db, schema: adminRateLimits, points: perMinute, duration: 60, clearExpiredByTimeout: false };
  const tokens = new RateLimiterDrizzle({ ...common, keyPrefix: 'token' });
  const failures = new RateLimiterDrizzle({ ...common, keyPrefix: 'auth-fail' });
  let failuresSinceSweep = 0;
  return {
    async takeToken(tokenId) {
      try {
        await tokens.consume(tokenId);
        return 0;
      } catch (res) {
        if (res instanceof RateLimiterRes) return res.msBeforeNext / 1000;
        throw res;
      }
    },
    async addressBlocked(address) {
      const res = await failures.get(address);
      return res && res.consumedPoints >= perMinute ? res.msBeforeNext / 1000 : 0;
    },
    async recordFailure(address) {
      await failures.penalty(address, 1);
      if (++failuresSinceSweep >= SWEEP_EVERY) {
        failuresSinceSweep = 0;
        await db.delete(adminRateLimits).where(lt(adminRateLimits.expire, new Date(Date.now() - 3_600_000)));
      }
    },
  };
}
