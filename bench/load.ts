import http from 'node:http';
import net from 'node:net';

/** Latency percentiles (ms) of a sorted-on-demand sample. */
export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

export interface LoadResult { sent: number; ok: number; failed: number; seconds: number; perSec: number; latencies: number[] }

/**
 * Sends POSTs to `url` for `seconds`: open loop at `rate` requests/s when given (requests are
 * started on schedule whatever the answers do, so latency includes queueing), else closed loop
 * with `concurrency` requests in flight (sustained throughput). Loopback only.
 */
export async function drive(opts: {
  url: string; seconds: number; rate?: number; concurrency?: number;
  /** Stop after this many requests (closed loop only). */
  stopAfter?: number;
  body: (i: number) => { body: Buffer; headers: Record<string, string> };
}): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency ?? 256 });
  const u = new URL(opts.url);
  const latencies: number[] = [];
  let ok = 0; let failed = 0; let i = 0;
  const one = () => new Promise<void>((resolve) => {
    const { body, headers } = opts.body(i++);
    const t0 = performance.now();
    const req = http.request({ agent, host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
      res.resume();
      res.on('end', () => {
        latencies.push(performance.now() - t0);
        if (res.statusCode === 200) ok++; else failed++;
        resolve();
      });
    });
    req.on('error', () => { failed++; resolve(); });
    req.end(body);
  });
  const start = performance.now();
  const deadline = start + opts.seconds * 1000;
  if (opts.rate) {
    const inflight: Promise<void>[] = [];
    const interval = 1000 / opts.rate;
    let next = start;
    while (next < deadline) {
      const now = performance.now();
      if (now < next) await new Promise((r) => setTimeout(r, Math.max(0, next - now)));
      // Catch up if the timer was late: start every request whose time has come.
      while (next <= performance.now() && next < deadline) { inflight.push(one()); next += interval; }
    }
    await Promise.all(inflight);
  } else {
    const c = opts.concurrency ?? 32;
    const more = () => performance.now() < deadline && (opts.stopAfter === undefined || i < opts.stopAfter);
    await Promise.all(Array.from({ length: c }, async () => { while (more()) await one(); }));
  }
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  return { sent: i, ok, failed, seconds, perSec: ok / seconds, latencies };
}

/** A free TCP port on 127.0.0.1 (asked from the kernel, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
