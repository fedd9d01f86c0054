/**
 * The REST rate limiter of apps/meteor/app/api/server/api.ts with Meteor's `RateLimiter` semantics:
 * one rule per route+method (`/chat.sendMessagepost`), counters keyed by client IP, and one reset
 * clock per rule. The N+1-th call inside the interval is refused with `error-too-many-requests` (HTTP
 * 429); every limited call carries `X-RateLimit-Limit`, `-Remaining` and `-Reset` (epoch ms). Users
 * with `api-bypass-rate-limit` (admin, bot and app roles) are never counted.
 *
 * Off by default in the fake (tests turn it on); the real server has it on (10 calls / 60 000 ms).
 */
import { MeteorError } from './errors.js';

export interface RateLimiterSettings {
  enabled: boolean;
  calls: number;
  intervalMs: number;
}

interface Rule {
  lastReset: number;
  counters: Map<string, number>;
}

export class RestRateLimiter {
  private rules = new Map<string, Rule>();

  constructor(
    readonly settings: RateLimiterSettings,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Counts one call and returns the headers to add; throws the server's MeteorError when refused.
   * `route` is the part after `/api/v1/`; `bypass` is the `api-bypass-rate-limit` permission.
   */
  enforce(route: string, method: string, ip: string, bypass: boolean): Record<string, string> {
    if (!this.settings.enabled || bypass) return {};
    const key = `/${route}${method.toLowerCase()}`;
    const now = this.now();
    let rule = this.rules.get(key);
    if (!rule) this.rules.set(key, (rule = { lastReset: now, counters: new Map() }));
    // increment(): resets the rule's counters when its interval has passed.
    if (now - rule.lastReset > this.settings.intervalMs) {
      rule.lastReset = now;
      rule.counters.clear();
    }
    const count = (rule.counters.get(ip) ?? 0) + 1;
    rule.counters.set(ip, count);
    // check()
    const timeToReset = this.settings.intervalMs - (now - rule.lastReset);
    const allowed = count <= this.settings.calls;
    const headers = {
      'X-RateLimit-Limit': String(this.settings.calls),
      'X-RateLimit-Remaining': String(allowed ? this.settings.calls - count : 0),
      'X-RateLimit-Reset': String(now + timeToReset),
    };
    if (!allowed) {
      const seconds = Math.ceil(timeToReset / 1000);
      const err = new MeteorError(
        'error-too-many-requests',
        `Error, too many requests. Please slow down. You must wait ${seconds} seconds before trying this endpoint again.`,
        { timeToReset, seconds },
      );
      throw Object.assign(err, { rateLimitHeaders: headers });
    }
    return headers;
  }
}
