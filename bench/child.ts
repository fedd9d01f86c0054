import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');

/** A server in its own process (its own event loop and core), as in production. */
export interface ChildServer {
  url: string; pid: number; peakRssMb(): number;
  /** CPU time (user + system, ms) the process has used so far: per-message costs that do not depend on what else the machine runs. */
  cpuMs(): number;
  stop(): Promise<void>;
}

/**
 * The NODE_OPTIONS the image runs Relais with (deploy/Dockerfile): benches run Relais as deployed.
 * BENCH_RELAIS_NODE_OPTIONS overrides it (an empty value: Node's defaults).
 */
export const RELAIS_NODE_OPTIONS = process.env.BENCH_RELAIS_NODE_OPTIONS ?? '--max-old-space-size=256';

let built = false;
/**
 * Compiles Relais once per bench run (`npm run build`), so the bench runs what `npm start` runs
 * in production: `node dist/cli/main.js serve`, without tsx in the process.
 */
export function buildRelais(): string {
  if (!built) {
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
    built = true;
  }
  return 'dist/cli/main.js';
}

/**
 * Starts `script` (a .js file with node, a .ts file with tsx) and waits until `readyPath`
 * answers 200 (bounded).
 */
export async function startChild(script: string, args: string[], env: Record<string, string>, port: number, readyPath = '/readyz/webhooks'): Promise<ChildServer> {
  const loader = script.endsWith('.ts') ? ['--import', 'tsx'] : [];
  // BENCH_NODE_ARGS: extra node flags for the server processes, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
  // (--cpu-prof is not allowed in NODE_OPTIONS).
  const nodeArgs = process.env.BENCH_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? [];
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, ...loader, path.join(ROOT, script), ...args], {
    cwd: ROOT, env: { PATH: process.env.PATH!, HOME: process.env.HOME!, ...env }, stdio: ['ignore', 'ignore', 'inherit'],
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
    cpuMs: () => {
      // Fields 14 and 15 of /proc/<pid>/stat (after the parenthesised name): utime, stime in clock ticks (100/s).
      const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return (Number(fields[11]) + Number(fields[12])) * 10;
    },
    stop: () => new Promise<void>((resolve) => { child.once('exit', () => resolve()); child.kill('SIGTERM'); setTimeout(() => child.kill('SIGKILL'), 25_000).unref(); }),
  };
}
