import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { KeyRing } from '../../src/archive/keyring.js';
import { loadKeyRing } from '../../src/archive/load-key-ring.js';
import { parseMasterKeys } from '../../src/archive/master-key.js';
import { openDatabase, type Database } from '../../src/db/client.js';

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

/**
 * Opens the database a CLI run under `env` works on (its DATABASE_URL, else the PGlite of its
 * RELAIS_DATA_DIR), with the key ring of its RELAIS_MASTER_KEY, for `body`; closes it after. On
 * PGlite only while no CLI process holds the database.
 */
export async function withCliArchive<T>(env: Record<string, string>, body: (database: Database, ring: KeyRing) => Promise<T>): Promise<T> {
  const database = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.RELAIS_DATA_DIR! });
  try {
    return await body(database, await loadKeyRing(database, parseMasterKeys(env.RELAIS_MASTER_KEY!)));
  } finally {
    await database.close();
  }
}
