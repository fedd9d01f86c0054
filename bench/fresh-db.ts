import { createDatabaseOn } from '../test/helpers/database.js';

/** Where benchmarks create their databases: BENCH_DATABASE_URL, else the local server. */
export const BENCH_PG_BASE = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * A new empty database on the server of `base`, named `relais_bench_<label>_<random>`, and how to
 * drop it (forcing out connections left open). Each benchmark run gets its own.
 */
export function freshBenchDatabase(label: string, base = BENCH_PG_BASE): Promise<{ url: string; drop(): Promise<void> }> {
  return createDatabaseOn(base, `relais_bench_${label}`);
}
