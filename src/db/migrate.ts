import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import type { Database } from './client.js';

/** Arbitrary constant: the advisory lock every replica takes while migrating. */
const MIGRATION_LOCK_ID = 0x52454c41; // "RELA"

/** `migrations/` at the package root, from src/ or dist/. */
export function migrationsFolder(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return path.resolve(here, '..', '..', 'migrations');
}

/**
 * Applies pending migrations. On PostgreSQL it holds a session advisory lock for the duration,
 * so replicas starting together migrate once and the others wait, then find nothing to do.
 * Idempotent. Throws when a migration fails (nothing is half-applied: each runs in a transaction).
 */
export async function runMigrations(database: Database, folder = migrationsFolder()): Promise<void> {
  if (database.kind === 'pglite') {
    const { migrate: migratePglite } = await import('drizzle-orm/pglite/migrator');
    await migratePglite(database.db as never, { migrationsFolder: folder });
    return;
  }
  // postgres.js pools connections: reserve one so lock and unlock happen on the same session.
  const client = (database.db as unknown as { $client: import('postgres').Sql }).$client;
  const reserved = await client.reserve();
  try {
    await reserved`select pg_advisory_lock(${MIGRATION_LOCK_ID})`;
    try {
      await migratePostgres(database.db as never, { migrationsFolder: folder });
    } finally {
      await reserved`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`;
    }
  } finally {
    reserved.release();
  }
}

/** True when the schema exists (used by /readyz). */
export async function schemaReady(database: Database): Promise<boolean> {
  try {
    await database.db.execute(sql`select 1 from messages limit 1`);
    return true;
  } catch {
    return false;
  }
}
