import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { createKeyRing, type KeyRing } from '../../src/archive/keyring.js';
import { masterKeyVersion } from '../../src/archive/master-key.js';
import { initSodium } from '../../src/archive/sodium.js';
import { openDatabase, type Database } from '../../src/db/client.js';
import { runMigrations } from '../../src/db/migrate.js';

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

/**
 * A migrated fresh database (see `freshDatabase`) with a key ring of one random master key and a
 * random index root: the setup of tests that work on the archive without a running bridge.
 * `close` closes and drops it.
 */
export async function openTestArchive(): Promise<{ database: Database; ring: KeyRing; close(): Promise<void> }> {
  await initSodium();
  const fresh = await freshDatabase();
  const database = await openDatabase({ databaseUrl: fresh.databaseUrl, dataDir: '', inMemory: true });
  await runMigrations(database);
  const key = randomBytes(32);
  const ring = createKeyRing([{ version: masterKeyVersion(key), key }], { indexRoot: randomBytes(32) });
  return { database, ring, close: async () => { await database.close(); await fresh.drop(); } };
}
