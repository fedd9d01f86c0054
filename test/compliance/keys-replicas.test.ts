import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustomerKeyStore } from '../../src/archive/customer-keys.js';
import { openFieldText } from '../../src/archive/envelope.js';
import type { KeyRing } from '../../src/archive/keyring.js';
import { loadKeyRing } from '../../src/archive/load-key-ring.js';
import { initSodium } from '../../src/archive/sodium.js';
import { rotateMasterKey } from '../../src/compliance/key-rotation.js';
import { startKeyringHeartbeat } from '../../src/compliance/keyring-heartbeat.js';
import { openDatabase, type Database } from '../../src/db/client.js';
import { runMigrations } from '../../src/db/migrate.js';
import { messages } from '../../src/db/schema/index.js';
import { captureLogger } from '../helpers/logger.js';
import { freshDatabase } from '../helpers/database.js';
import { bodyOf, dataKeyVersions, decryptAll, newMasterKey, seedCustomers } from './keys-seed.js';

// Two processes on one database need a shared PostgreSQL: PGlite is one process by construction.
const POSTGRES = Boolean(process.env.DATABASE_URL);
const CUSTOMERS = 3000;

describe.skipIf(!POSTGRES)('rotation with two replicas on different key versions (needs DATABASE_URL)', () => {
  let a: Database;
  let b: Database;
  let drop: () => Promise<void>;
  const k1 = { version: 0, key: new Uint8Array() };
  const k2 = { version: 0, key: new Uint8Array() };

  beforeAll(async () => {
    await initSodium();
    Object.assign(k1, newMasterKey());
    Object.assign(k2, newMasterKey());
    const fresh = await freshDatabase();
    drop = fresh.drop;
    a = await openDatabase({ databaseUrl: fresh.databaseUrl, dataDir: '' });
    b = await openDatabase({ databaseUrl: fresh.databaseUrl, dataDir: '' });
    await runMigrations(a);
    await seedCustomers(a.db, await loadKeyRing(a, [k1]), CUSTOMERS, 1);
  });
  afterAll(async () => { await a?.close(); await b?.close(); await drop?.(); });

  it('two concurrent rotate runs share the work; replicas [new, old] and [old, new] read every row throughout', async () => {
    const ringA = await loadKeyRing(a, [k2, k1]); // replica A: new key first
    const ringB = await loadKeyRing(b, [k1, k2]); // replica B: new key loaded, old still first
    const logs = captureLogger();
    const beatA = await startKeyringHeartbeat({ db: a.db, ring: ringA, logger: logs.logger }, { instanceId: 'replica-a' });
    const beatB = await startKeyringHeartbeat({ db: b.db, ring: ringB, logger: logs.logger }, { instanceId: 'replica-b' });

    // While the two runs go, both replicas keep reading (fresh caches, so every read unwraps) and
    // replica B keeps creating customers, whose keys it wraps with the old key.
    let running = true;
    let reads = 0;
    let created = 0;
    const readFailures: unknown[] = [];
    const reader = async (db: Database, ring: KeyRing) => {
      while (running) {
        const store = new CustomerKeyStore(ring);
        const rows = await db.db.select().from(messages).limit(200);
        for (const r of rows) {
          try {
            const dek = await store.get(db.db, r.customerId, r.keyVersion);
            const text = openFieldText(dek, { table: 'messages', column: 'content_enc', rowId: r.id, keyVersion: r.keyVersion }, r.contentEnc);
            if (text !== bodyOf(r.customerId, 0)) readFailures.push('wrong text');
            reads++;
          } catch (err) {
            readFailures.push(err);
          }
        }
      }
    };
    const writer = async () => {
      while (running) {
        await seedCustomers(b.db, ringB, 5, 1);
        created += 5;
      }
    };
    const background = Promise.all([reader(a, ringA), reader(b, ringB), writer()]);
    const [runA, runB] = await Promise.all([
      rotateMasterKey({ db: a.db, ring: ringA }, { actor: 'cli:a', batchSize: 100 }),
      rotateMasterKey({ db: b.db, ring: await loadKeyRing(b, [k2, k1]) }, { actor: 'cli:b', batchSize: 100 }),
    ]);
    running = false;
    await background;
    await beatA.stop();
    await beatB.stop();

    expect(readFailures).toEqual([]);
    expect(reads).toBeGreaterThan(0);
    expect(runA.dataKeys.failed + runB.dataKeys.failed).toBe(0);
    expect(runA.dataKeys.rewrapped).toBeGreaterThan(0);
    expect(runB.dataKeys.rewrapped).toBeGreaterThan(0);
    for (const r of [runA, runB]) expect(r.warnings.join('\n')).toMatch(/Replica replica-b still wraps new data keys with version/);
    // Every row was rewrapped by exactly one run, or is one replica B created after both finished.
    const versions = await dataKeyVersions(a.db);
    expect(versions).toHaveLength(CUSTOMERS + created);
    const leftOld = versions.filter((v) => v.header === k1.version).length;
    expect(runA.dataKeys.rewrapped + runB.dataKeys.rewrapped + leftOld).toBe(CUSTOMERS + created);
    expect(versions.every((v) => v.header === v.column)).toBe(true);

    // Both replicas read everything; once B has the new key first, one more run finishes the job.
    expect(await decryptAll(a.db, ringA)).toBe(CUSTOMERS + created);
    expect(await decryptAll(b.db, ringB)).toBe(CUSTOMERS + created);
    const last = await rotateMasterKey({ db: a.db, ring: ringA }, { actor: 'cli:a' });
    expect(last).toMatchObject({ outcome: 'complete', dataKeys: { rewrapped: leftOld }, warnings: [] });
    expect(await decryptAll(b.db, await loadKeyRing(b, [k2]))).toBe(CUSTOMERS + created);
  });
});
