/**
 * Token buckets for outbound pacing: one per business number (Cloud API throughput, 80 msg/s by
 * default, up to 1,000) and one per recipient (the pair limit, ~1 message per 6 s with bursts).
 *
 * In-process: each replica paces its own sends. Only the elected listener's replica enqueues,
 * but every replica works the send queue, so with N replicas the configured rate is divided by N
 * (see `perReplicaShare`). A 130429/131056 answer still backs off whatever the local figures say.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private blockedUntil = 0;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
    private readonly wait: (ms: number) => Promise<void> = sleep,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** Waits until a token is available, then takes it. Callers are served in arrival order. */
  take(): Promise<void> {
    const next = this.queue.then(() => this.takeNow());
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Blocks the bucket for `ms` (a rate-limit answer from the server). */
  pause(ms: number): void {
    this.blockedUntil = Math.max(this.blockedUntil, this.now() + ms);
    this.tokens = 0;
  }

  private async takeNow(): Promise<void> {
    for (;;) {
      const t = this.now();
      if (t < this.blockedUntil) { await this.wait(this.blockedUntil - t); continue; }
      this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.ratePerSec);
      this.last = t;
      if (this.tokens >= 1) { this.tokens -= 1; return; }
      await this.wait(((1 - this.tokens) / this.ratePerSec) * 1000);
    }
  }
}

/** Buckets by key, created on first use, dropped after an idle period to bound memory. */
export class KeyedBuckets {
  private readonly buckets = new Map<string, { bucket: TokenBucket; used: number }>();
  constructor(private readonly ratePerSec: number, private readonly burst: number, private readonly maxKeys = 50_000) {}

  get(key: string): TokenBucket {
    let e = this.buckets.get(key);
    if (!e) {
      if (this.buckets.size >= this.maxKeys) {
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
      }
      e = { bucket: new TokenBucket(this.ratePerSec, this.burst), used: Date.now() };
      this.buckets.set(key, e);
    }
    e.used = Date.now();
    return e.bucket;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(1, Math.ceil(ms))));
}
