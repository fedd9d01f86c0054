import { randomBytes } from 'node:crypto';
import postgres from 'postgres';

/** Where benchmarks create their databases: BENCH_DATABASE_URL, else the local server. */
export const BENCH_PG_BASE = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * A new empty database on the server of `base`, named `relais_bench_<label>_<random>`, and how to
 * drop it (forcing out connections left open). Each benchmark run gets its own.
 */
export async function freshBenchDatabase(label: string, base = BENCH_PG_BASE): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `relais_bench_${label}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(base);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const a = postgres(base, { max: 1, onnotice: () => {} });
      await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}
