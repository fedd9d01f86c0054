import { loadConfig } from '../config/load.js';
import { openDatabase, describeDatabase } from '../db/client.js';
import { runMigrations } from '../db/migrate.js';
import { createLogger } from '../log.js';

/** `relais migrate`: applies pending migrations under the advisory lock and exits. */
export async function runMigrate(env: NodeJS.ProcessEnv): Promise<number> {
  const r = await loadConfig(env);
  const logger = createLogger({ level: r.config?.logLevel ?? 'info' });
  const databaseUrl = env.DATABASE_URL || undefined;
  const database = await openDatabase({ databaseUrl, dataDir: env.RELAIS_DATA_DIR || './data' });
  try {
    await runMigrations(database);
    logger.info({ database: describeDatabase(databaseUrl) }, 'migrations applied');
    return 0;
  } finally {
    await database.close();
  }
}
