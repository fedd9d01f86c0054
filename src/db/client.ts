import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import postgres from 'postgres';
import { preparedStatements } from './prepared-client.js';
import * as schema from './schema/index.js';

export type Schema = typeof schema;
/** A drizzle database or transaction on either driver. Repository functions take this first. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;

export interface Database {
  kind: 'postgres' | 'pglite';
  db: Db;
  /** The embedded engine, for pg-boss's PGlite adapter. */
  pglite?: PGlite;
  /** The connection string, for pg-boss's own pool on PostgreSQL. */
  url?: string;
  /** Cheap liveness query for /readyz. Never throws. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Opens PostgreSQL when `databaseUrl` is set, else the embedded PGlite database in
 * `<dataDir>/pglite` (`memory://` keeps it in memory, for tests). Does I/O; throws when the
 * server cannot be reached (the message names the host, never the password).
 */
export async function openDatabase(opts: { databaseUrl?: string; dataDir: string; poolSize?: number; inMemory?: boolean }): Promise<Database> {
  if (opts.databaseUrl) {
    const client = postgres(opts.databaseUrl, {
      max: opts.poolSize ?? 10,
      onnotice: () => {},
      connect_timeout: 10,
    });
    const db = drizzlePostgres(preparedStatements(client), { schema }) as unknown as Db;
    return {
      kind: 'postgres',
      db,
      url: opts.databaseUrl,
      ping: () => ping(db),
      close: () => client.end({ timeout: 5 }),
    };
  }
  let dataPath = 'memory://';
  if (!opts.inMemory) {
    dataPath = path.resolve(opts.dataDir, 'pglite');
    await mkdir(dataPath, { recursive: true, mode: 0o700 });
  }
  // Loaded only when used: a PostgreSQL deployment never pays for the embedded engine's code.
  const [{ PGlite }, { drizzle: drizzlePglite }] = await Promise.all([import('@electric-sql/pglite'), import('drizzle-orm/pglite')]);
  const pglite = await PGlite.create(dataPath);
  const db = drizzlePglite(pglite, { schema }) as unknown as Db;
  return {
    kind: 'pglite',
    db,
    pglite,
    ping: () => ping(db),
    close: () => pglite.close(),
  };
}

async function ping(db: Db): Promise<boolean> {
  try {
    await db.execute(sql`select 1`);
    return true;
  } catch {
    return false;
  }
}

/** Describes a database URL for logs and pages without its password. */
export function describeDatabase(url: string | undefined): string {
  if (!url) return 'embedded PGlite';
  try {
    const u = new URL(url);
    return `PostgreSQL at ${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return 'PostgreSQL';
  }
}
