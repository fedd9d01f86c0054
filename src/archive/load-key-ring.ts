import { eq } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { settings } from '../db/schema/index.js';
import { createKeyRing, unwrapIndexRoot, wrapIndexRoot, wrappedKekVersion, type KeyRing } from './keyring.js';
import type { MasterKey } from './master-key.js';
import { randomBytes } from './sodium.js';

/**
 * The key ring with its blind-index root: a random key created once per deployment, stored
 * wrapped by the master key in `settings`, so blind indexes (and the UNIQUE wamid constraint)
 * survive master-key rotation. Replicas racing on first start agree through the primary key.
 * Throws `key_missing` when the root is wrapped by a master key that is not loaded.
 */
export async function loadKeyRing(database: Database, keys: MasterKey[]): Promise<KeyRing> {
  const bootstrap = createKeyRing(keys);
  const read = () => database.db.select().from(settings).where(eq(settings.key, 'index_root')).limit(1);
  let [row] = await read();
  if (!row) {
    const root = randomBytes(32);
    const wrapped = wrapIndexRoot(bootstrap, root);
    await database.db.insert(settings).values({ key: 'index_root', value: wrapped, kekVersion: wrappedKekVersion(wrapped) }).onConflictDoNothing();
    [row] = await read();
  }
  return createKeyRing(keys, { indexRoot: unwrapIndexRoot(bootstrap, row!.value) });
}
