import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/core/rate-limit.js';
import { serviceWindow } from '../../src/core/service-window.js';

// Virtual clock: `wait` yields to the event loop instead of sleeping, so no test waits for real time.
const tick = () => new Promise<void>((r) => setImmediate(r));

describe('TokenBucket (virtual clock)', () => {
  it('lets a burst through, then paces at the configured rate', async () => {
    let now = 0;
    const bucket = new TokenBucket(2, 3, () => now, tick);
    for (let i = 0; i < 3; i++) await bucket.take();
    let done = false;
    const p = bucket.take().then(() => { done = true; });
    await new Promise((r) => setTimeout(r, 5));
    expect(done).toBe(false);
    now += 500; // half a second refills one token at 2/s
    await p;
    expect(done).toBe(true);
  });

  it('pause() blocks until the server-requested delay has passed', async () => {
    let now = 0;
    const bucket = new TokenBucket(100, 100, () => now, tick);
    bucket.pause(2000);
    let done = false;
    const p = bucket.take().then(() => { done = true; });
    await new Promise((r) => setTimeout(r, 5));
    expect(done).toBe(false);
    now = 2100;
    await p;
    expect(done).toBe(true);
  });
});

describe('serviceWindow', () => {
  const t0 = new Date('2026-01-01T10:00:00Z');
  it('is closed when the customer never wrote', () => expect(serviceWindow(null, t0).open).toBe(false));
  it('is open for 24 hours after the last customer message', () => {
    expect(serviceWindow(t0, new Date('2026-01-02T09:59:59Z'))).toEqual({ open: true, closesAt: new Date('2026-01-02T10:00:00Z') });
    expect(serviceWindow(t0, new Date('2026-01-02T10:00:00Z')).open).toBe(false);
  });
});
