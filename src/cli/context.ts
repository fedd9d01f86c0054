import { userInfo } from 'node:os';
import { CustomerKeyStore } from '../archive/customer-keys.js';
import type { KeyRing } from '../archive/keyring.js';
import { loadKeyRing } from '../archive/load-key-ring.js';
import { loadMasterKeys, type MasterKey } from '../archive/master-key.js';
import { initSodium } from '../archive/sodium.js';
import { createChatPlatform } from '../chat/factory.js';
import type { ChatPlatform } from '../chat/platform.js';
import { loadConfig, type RelaisConfig } from '../config/load.js';
import { RelaisError } from '../core/errors.js';
import { openDatabase, type Database } from '../db/client.js';
import { schemaReady } from '../db/migrate.js';
import { createLogger, type Logger } from '../log.js';

/** What an administrative command (keys, export, erase, hold, search, audit, tokens) works with. */
export interface CliContext {
  config: RelaisConfig;
  database: Database;
  masterKeys: MasterKey[];
  ring: KeyRing;
  keys: CustomerKeyStore;
  logger: Logger;
  /** `cli:<OS user>`: who the audit log records. */
  actor: string;
  /** Connected chat platform, only when asked for and configured. */
  platform?: ChatPlatform;
  close(): Promise<void>;
}

/**
 * Opens what an administrative CLI command needs against the same configuration as `serve`.
 * Never migrates (run `relais migrate` first) and never generates a master key: a command that
 * would read or write the archive with a key it just invented would destroy data.
 * Throws RelaisError with an operator-readable message when something is missing.
 */
export async function openCliContext(env: NodeJS.ProcessEnv, opts: { platform?: boolean } = {}): Promise<CliContext> {
  const r = await loadConfig(env);
  if (!r.config) {
    throw new RelaisError('config_invalid', `configuration problems:\n${r.problems.map((p) => `  - ${p}`).join('\n')}\nRun "relais check-config" after fixing them.`, { retryable: false });
  }
  const config = r.config;
  const logger = createLogger({ level: env.LOG_LEVEL ? config.logLevel : 'warn' });
  await initSodium();
  const master = await loadMasterKeys({ inline: config.masterKey.inline, file: config.masterKey.file, dataDir: config.dataDir, production: config.env === 'production', allowGenerate: false });
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 4 });
  let platform: ChatPlatform | undefined;
  try {
    if (!(await schemaReady(database))) {
      throw new RelaisError('schema_not_ready', 'the database is not migrated: run "relais migrate" (or start "relais serve" once) first', { retryable: false });
    }
    const ring = await loadKeyRing(database, master.keys);
    if (opts.platform) {
      platform = createChatPlatform(config, logger) ?? undefined;
      if (platform) await platform.connect();
    }
    let user = 'unknown';
    try { user = userInfo().username; } catch { /* no passwd entry in some containers */ }
    return {
      config, database, masterKeys: master.keys, ring, keys: new CustomerKeyStore(ring, { watch: { logger } }), logger, platform,
      actor: `cli:${env.RELAIS_ACTOR || user}`,
      close: async () => {
        await platform?.close().catch(() => undefined);
        await database.close();
      },
    };
  } catch (err) {
    await platform?.close().catch(() => undefined);
    await database.close();
    throw err;
  }
}
