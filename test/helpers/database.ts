import { randomBytes } from 'node:crypto';
import postgres from 'postgres';

/**
 * A fresh, empty database for one test file. With DATABASE_URL set (CI's second pass), a new
 * database is created on that PostgreSQL server and dropped afterwards; without it, tests use
 * an in-memory PGlite. Returns `databaseUrl` undefined for PGlite.
 */
export async function freshDatabase(): Promise<{ databaseUrl?: string; kind: 'postgres' | 'pglite'; drop(): Promise<void> }> {
  const base = process.env.DATABASE_URL;
  if (!base) return { kind: 'pglite', drop: async () => {} };
  const name = `relais_t_${randomBytes(5).toString('hex')}`;
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(base);
  u.pathname = `/${name}`;
  return {
    kind: 'postgres',
    databaseUrl: u.toString(),
    drop: async () => {
      const a = postgres(base, { max: 1, onnotice: () => {} });
      await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      await a.end();
    },
  };
}
