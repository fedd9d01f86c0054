import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { createKeyRing, type KeyRing } from '../../src/archive/keyring.js';
import { masterKeyVersion } from '../../src/archive/master-key.js';
import { initSodium } from '../../src/archive/sodium.js';
import { openDatabase, type Database } from '../../src/db/client.js';
import { runMigrations } from '../../src/db/migrate.js';

/**
 * Creates an empty database named `<prefix>_<random hex>` on the server of `base` (a PostgreSQL
 * URL); returns its URL and how to drop it (forcing out connections left open). Shared by the
 * tests and the benchmarks.
 */
export async function createDatabaseOn(base: string, prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(base);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const a = postgres(base, { max: 1, onnotice: () => {} });
      await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      await a.end();
    },
  };
}

/**
 * A fresh, empty database for one test file. With DATABASE_URL set (CI's second pass), a new
 * database is created on that PostgreSQL server and dropped afterwards; without it, tests use
 * an in-memory PGlite. Returns `databaseUrl` undefined for PGlite.
 */
export async function freshDatabase(): Promise<{ databaseUrl?: string; kind: 'postgres' | 'pglite'; drop(): Promise<void> }> {
  const base = process.env.DATABASE_URL;
  if (!base) return { kind: 'pglite', drop: async () => {} };
  const created = await createDatabaseOn(base, 'relais_t');
  return { kind: 'postgres', databaseUrl: created.url, drop: created.drop };
}

/**
 * A migrated fresh database (see `freshDatabase`), opened. `close` closes and drops it.
 */
export async function openMigratedDatabase(): Promise<{ database: Database; databaseUrl?: string; close(): Promise<void> }> {
  const fresh = await freshDatabase();
  const database = await openDatabase({ databaseUrl: fresh.databaseUrl, dataDir: '', inMemory: true });
  await runMigrations(database);
  return { database, databaseUrl: fresh.databaseUrl, close: async () => { await database.close(); await fresh.drop(); } };
}

/**
 * A migrated fresh database (see `freshDatabase`) with a key ring of one random master key and a
 * random index root: the setup of tests that work on the archive without a running bridge.
 * `close` closes and drops it.
 */
export async function openTestArchive(): Promise<{ database: Database; databaseUrl?: string; ring: KeyRing; close(): Promise<void> }> {
  await initSodium();
  const opened = await openMigratedDatabase();
  const key = randomBytes(32);
  const ring = createKeyRing([{ version: masterKeyVersion(key), key }], { indexRoot: randomBytes(32) });
  return { ...opened, ring };
}
