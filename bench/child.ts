import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');

/** A server in its own process (its own event loop and core), as in production. */
export interface ChildServer { url: string; pid: number; peakRssMb(): number; stop(): Promise<void> }

/** Starts `script` with tsx and waits until `readyPath` answers 200 (bounded). */
export async function startChild(script: string, args: string[], env: Record<string, string>, port: number, readyPath = '/readyz/webhooks'): Promise<ChildServer> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, script), ...args], {
    cwd: ROOT, env: { PATH: process.env.PATH!, HOME: process.env.HOME!, ...(process.env.BENCH_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS } : {}), ...env }, stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    try { if ((await fetch(url + readyPath)).status === 200) break; } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    pid: child.pid!,
    // Peak resident set size of the process (VmHWM), read from /proc.
    peakRssMb: () => {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      return m ? Number(m[1]) / 1024 : NaN;
    },
    stop: () => new Promise<void>((resolve) => { child.once('exit', () => resolve()); child.kill('SIGTERM'); setTimeout(() => child.kill('SIGKILL'), 25_000).unref(); }),
  };
}
