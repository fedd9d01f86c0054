import type { CustomerKeyStore } from '../archive/customer-keys.js';
import type { KeyRing } from '../archive/keyring.js';
import type { ChatPlatform } from '../chat/platform.js';
import type { RelaisConfig } from '../config/load.js';
import type { Db } from '../db/client.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';

/**
 * What the compliance services (export, erase, hold, search, retention, key rotation) need.
 * Built by the CLI context (`relais export …`) and by the runtime (admin API, `/wa search`,
 * the retention job) from the same parts, so both paths run the same code.
 */
export interface ComplianceDeps {
  db: Db;
  ring: KeyRing;
  keys: CustomerKeyStore;
  config: RelaisConfig;
  logger: Logger;
  /** Present in `serve`; CLI commands run without metrics. */
  metrics?: Metrics;
  /** Needed by erase (chat policy) and retention (chat pruning); absent when not configured. */
  platform?: ChatPlatform | null;
  /** Clock seam for retention and tests. */
  now?: () => Date;
}
