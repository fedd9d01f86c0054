import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const CLI = path.resolve(import.meta.dirname, '../../src/cli/main.ts');
const TSX = path.resolve(import.meta.dirname, '../../node_modules/.bin/tsx');

/** What one `relais …` run printed and its exit code. `all` is stdout then stderr. */
export interface CliRun { code: number; out: string; err: string; all: string }

/**
 * Runs the real CLI (`relais <args>`, from the sources through tsx) in its own process with only
 * PATH, HOME and `env` in its environment, as an operator would. Never throws for a non-zero exit.
 */
export async function runRelaisCli(args: string[], env: Record<string, string>, opts: { cwd?: string } = {}): Promise<CliRun> {
  try {
    const r = await run(TSX, [CLI, ...args], { env: { PATH: process.env.PATH!, HOME: process.env.HOME!, ...env }, ...(opts.cwd && { cwd: opts.cwd }) });
    return { code: 0, out: r.stdout, err: r.stderr, all: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout, err: e.stderr, all: e.stdout + e.stderr };
  }
}
