import { eq, sql } from 'drizzle-orm';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFieldText } from '../../src/archive/envelope.js';
import { createKeyRing, wrappedKekVersion, type KeyRing } from '../../src/archive/keyring.js';
import { loadKeyRing } from '../../src/archive/load-key-ring.js';
import { blindIndex } from '../../src/archive/blind-index.js';
import { initSodium } from '../../src/archive/sodium.js';
import { listAudit, verifyAuditChain } from '../../src/compliance/audit.js';
import { rotateMasterKey } from '../../src/compliance/key-rotation.js';
import { keyStatus } from '../../src/compliance/key-status.js';
import { startKeyringHeartbeat } from '../../src/compliance/keyring-heartbeat.js';
import { type Database } from '../../src/db/client.js';
import { keyringMembers, quarantine, settings } from '../../src/db/schema/index.js';
import { createMetrics } from '../../src/metrics.js';
import { captureLogger } from '../helpers/logger.js';
import { openMigratedDatabase } from '../helpers/database.js';
import { bodySnapshot, dataKeyVersions, decryptAll, newMasterKey, seedCustomers, seedQuarantine, tamperDataKey } from './keys-seed.js';

const CUSTOMERS = 400;
const MESSAGES = CUSTOMERS * 2;

let database: Database;
let close: () => Promise<void>;
let k1: ReturnType<typeof newMasterKey>;
let k2: ReturnType<typeof newMasterKey>;
let k3: ReturnType<typeof newMasterKey>;
let ids: string[];
let wamidIndex: string;

beforeAll(async () => {
  await initSodium();
  ({ database, close } = await openMigratedDatabase());
  [k1, k2, k3] = [newMasterKey(), newMasterKey(), newMasterKey()];
  const ring1 = await loadKeyRing(database, [k1]);
  wamidIndex = blindIndex(ring1, 'wamid', 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=');
  ids = await seedCustomers(database.db, ring1, CUSTOMERS);
  await seedQuarantine(database.db, ring1, ['{"entry":[1]}', '{"entry":[2]}', '{"entry":[3]}']);
});
afterAll(async () => { await close?.(); });

const ring = (...keys: ReturnType<typeof newMasterKey>[]): Promise<KeyRing> => loadKeyRing(database, keys);

describe('master-key rotation', () => {
  it('status counts the data keys, index root and quarantined payloads per version', async () => {
    const s = await keyStatus(database.db, await ring(k2, k1));
    expect(s.currentVersion).toBe(k2.version);
    expect(s.loadedVersions).toEqual([k2.version, k1.version]);
    expect(s.versions).toEqual([
      { version: k2.version, current: true, loadedHere: true, dataKeys: 0, indexRoot: false, quarantine: 0 },
      { version: k1.version, current: false, loadedHere: true, dataKeys: CUSTOMERS, indexRoot: true, quarantine: 3 },
    ]);
    expect(s.pendingRotation).toEqual({ dataKeys: CUSTOMERS, indexRoot: true, quarantine: 3 });
    expect(s.warnings.join('\n')).toMatch(/run "relais keys rotate"/);
    // A ring without the old key: the rows under it are unreadable here, and status says so.
    const alone = await keyStatus(database.db, createKeyRing([k2]));
    expect(alone.versions.find((v) => v.version === k1.version)).toMatchObject({ loadedHere: false, dataKeys: CUSTOMERS });
    expect(alone.warnings.join('\n')).toMatch(new RegExp(`version ${k1.version} wraps ${CUSTOMERS} data key\\(s\\), the blind-index root, 3 quarantined payload\\(s\\) but is not in this key list`));
  });

  it('rewraps every data key, the index root and quarantine; never touches message bodies; the old key is then unneeded', async () => {
    const bodies = await bodySnapshot(database.db);
    expect(bodies.size).toBe(MESSAGES);
    const progress: number[] = [];
    const logs = captureLogger();
    const report = await rotateMasterKey({ db: database.db, ring: await ring(k2, k1), logger: logs.logger }, { actor: 'cli:test', batchSize: 64, onProgress: (p) => { if (p.phase === 'data_keys') progress.push(p.done); } });
    expect(report).toMatchObject({ toVersion: k2.version, outcome: 'complete', dataKeys: { rewrapped: CUSTOMERS, failed: 0 }, indexRoot: 'rewrapped', quarantine: { resealed: 3, failed: 0 }, remaining: { dataKeys: 0, indexRoot: false, quarantine: 0 } });
    expect(progress.at(-1)).toBe(CUSTOMERS);
    expect(progress.length).toBeGreaterThanOrEqual(Math.ceil(CUSTOMERS / 64));
    expect(progress).toEqual([...progress].sort((a, b) => a - b));

    for (const v of await dataKeyVersions(database.db)) expect(v).toEqual({ column: k2.version, header: k2.version });
    const [root] = await database.db.select().from(settings).where(eq(settings.key, 'index_root'));
    expect([root!.kekVersion, wrappedKekVersion(root!.value)]).toEqual([k2.version, k2.version]);
    expect(await bodySnapshot(database.db)).toEqual(bodies);

    // Only the new key loaded: everything still opens, and blind indexes did not change.
    const onlyNew = await ring(k2);
    expect(await decryptAll(database.db, onlyNew)).toBe(MESSAGES);
    expect(blindIndex(onlyNew, 'wamid', 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=')).toBe(wamidIndex);
    const q = await database.db.select().from(quarantine);
    expect(q.map((r) => r.kekVersion)).toEqual([k2.version, k2.version, k2.version]);
    const payloads = q.map((r) => openFieldText(onlyNew.systemKeyForVersion('quarantine', r.kekVersion), { table: 'quarantine', column: 'payload_enc', rowId: r.id, keyVersion: r.kekVersion }, r.payloadEnc));
    expect(payloads.sort()).toEqual(['{"entry":[1]}', '{"entry":[2]}', '{"entry":[3]}']);
    // And the old key alone no longer can.
    await expect(loadKeyRing(database, [k1])).rejects.toMatchObject({ code: 'key_missing' });

    // Audited with versions and counts; the chain (keyed by the index root) still verifies.
    const entries = (await listAudit(database.db, { limit: 10 })).filter((e) => e.action.startsWith('keys.rotate'));
    expect(entries.map((e) => e.action)).toEqual(['keys.rotate.complete', 'keys.rotate.start']);
    expect(entries[0]!.details).toMatchObject({ toVersion: k2.version, outcome: 'complete', dataKeysRewrapped: CUSTOMERS, indexRoot: 'rewrapped', quarantineResealed: 3 });
    expect(entries[1]!.details).toMatchObject({ toVersion: k2.version, dataKeysByVersion: { [k1.version]: CUSTOMERS }, indexRootVersion: k1.version });
    const everything = JSON.stringify(entries) + logs.text();
    for (const k of [k1, k2]) {
      expect(everything).not.toContain(Buffer.from(k.key).toString('base64'));
      expect(everything).not.toContain(Buffer.from(k.key).toString('hex'));
    }
    expect((await verifyAuditChain(database.db, onlyNew)).ok).toBe(true);

    // A second run finds nothing to do.
    const again = await rotateMasterKey({ db: database.db, ring: await ring(k2, k1) }, { actor: 'cli:test' });
    expect(again).toMatchObject({ outcome: 'complete', dataKeys: { rewrapped: 0 }, indexRoot: 'already_current', quarantine: { resealed: 0 } });
  });

  it('an interrupted rotation leaves a mix both replica rings read, and resumes where it stopped', async () => {
    const abort = new AbortController();
    const first = await rotateMasterKey({ db: database.db, ring: await ring(k3, k2) }, {
      actor: 'cli:test', batchSize: 50, signal: abort.signal,
      onProgress: (p) => { if (p.done >= CUSTOMERS / 2) abort.abort(); },
    });
    expect(first.outcome).toBe('interrupted');
    expect(first.dataKeys.rewrapped).toBe(CUSTOMERS / 2);
    const mixed = await dataKeyVersions(database.db);
    expect(mixed.filter((v) => v.header === k3.version)).toHaveLength(CUSTOMERS / 2);
    expect(mixed.filter((v) => v.header === k2.version)).toHaveLength(CUSTOMERS / 2);

    // Replica A already has the new key first, replica B still has the old key first: both read every row.
    const replicaA = await ring(k3, k2);
    const replicaB = await ring(k2, k3);
    expect(await decryptAll(database.db, replicaA)).toBe(MESSAGES);
    expect(await decryptAll(database.db, replicaB)).toBe(MESSAGES);
    // Replica B still wraps new customers' keys with the old key; a second run picks those up too.
    const late = await seedCustomers(database.db, replicaB, 10);
    expect(late).toHaveLength(10);

    // A run that crashes mid-way keeps what it committed.
    let batches = 0;
    await expect(rotateMasterKey({ db: database.db, ring: await ring(k3, k2) }, {
      actor: 'cli:test', batchSize: 30, onProgress: () => { if (++batches === 2) throw new Error('process killed'); },
    })).rejects.toThrow('process killed');
    expect((await dataKeyVersions(database.db)).filter((v) => v.header === k3.version)).toHaveLength(CUSTOMERS / 2 + 60);
    const failedAudit = (await listAudit(database.db, { limit: 1 }))[0]!;
    expect(failedAudit).toMatchObject({ action: 'keys.rotate.complete', details: { outcome: 'failed' } });

    const resumed = await rotateMasterKey({ db: database.db, ring: await ring(k3, k2) }, { actor: 'cli:test', batchSize: 50 });
    expect(resumed).toMatchObject({ outcome: 'complete', dataKeys: { rewrapped: CUSTOMERS / 2 - 60 + 10, failed: 0 }, remaining: { dataKeys: 0 } });
    for (const v of await dataKeyVersions(database.db)) expect(v.header).toBe(k3.version);
    expect(await decryptAll(database.db, await ring(k3))).toBe(MESSAGES + 20);
  });

  it('refuses while a running replica has not loaded the new key; --force overrides; stale replicas do not count', async () => {
    const k4 = newMasterKey();
    const logs = captureLogger();
    const stale = await startKeyringHeartbeat({ db: database.db, ring: await ring(k3), logger: logs.logger }, { instanceId: 'pod-stale', intervalMs: 3_600_000 });
    await database.db.update(keyringMembers).set({ seenAt: sql`now() - interval '5 minutes'` }).where(eq(keyringMembers.instanceId, 'pod-stale'));
    const old = await startKeyringHeartbeat({ db: database.db, ring: await ring(k3), logger: logs.logger }, { instanceId: 'pod-old', intervalMs: 3_600_000 });
    const ready = await startKeyringHeartbeat({ db: database.db, ring: await ring(k3, k4), logger: logs.logger }, { instanceId: 'pod-ready', intervalMs: 3_600_000 });
    try {
      const status = await keyStatus(database.db, await ring(k4, k3));
      expect(status.replicas.map((r) => [r.instanceId, r.live]).sort()).toEqual([['pod-old', true], ['pod-ready', true], ['pod-stale', false]]);
      expect(status.warnings.join('\n')).toMatch(/Replica pod-old has not loaded version/);

      const refused = rotateMasterKey({ db: database.db, ring: await ring(k4, k3) }, { actor: 'cli:test' });
      await expect(refused).rejects.toMatchObject({ code: 'rotation_unsafe', message: expect.stringMatching(/pod-old.*Deploy the new key list to every replica first/) });
      await expect(refused).rejects.not.toMatchObject({ message: expect.stringMatching(/pod-stale|pod-ready/) });
      for (const v of await dataKeyVersions(database.db)) expect(v.header).toBe(k3.version);

      await old.stop();
      const safe = await rotateMasterKey({ db: database.db, ring: await ring(k4, k3) }, { actor: 'cli:test', batchSize: 1000 });
      expect(safe.outcome).toBe('complete');
      expect(safe.warnings.join('\n')).toMatch(/Replica pod-ready still wraps new data keys with version/);

      const k5 = newMasterKey();
      const forced = await rotateMasterKey({ db: database.db, ring: await ring(k5, k4) }, { actor: 'cli:test', force: true });
      expect(forced).toMatchObject({ outcome: 'complete', dataKeys: { rewrapped: CUSTOMERS + 10 } });
      expect(forced.warnings.join('\n')).toMatch(/--force: 1 running replica\(s\) have not loaded master key version/);
      expect(await decryptAll(database.db, await ring(k5))).toBe(MESSAGES + 20);
      k1 = k5; // the current key for the next test
    } finally {
      await Promise.all([stale.stop(), old.stop(), ready.stop()]);
    }
    expect(await database.db.select().from(keyringMembers)).toEqual([]);
  });

  it('refuses when stored keys use a master key it has not loaded, and reports rows that do not unwrap', async () => {
    const k6 = newMasterKey();
    await expect(rotateMasterKey({ db: database.db, ring: createKeyRing([k6]) }, { actor: 'cli:test' }))
      .rejects.toMatchObject({ code: 'key_missing', message: expect.stringMatching(new RegExp(`version\\(s\\) ${k1.version}.*Add those keys after the current one`)) });

    await tamperDataKey(database.db, ids[7]!);
    const metrics = createMetrics(new Registry());
    const logs = captureLogger();
    const report = await rotateMasterKey({ db: database.db, ring: await ring(k6, k1), logger: logs.logger, metrics }, { actor: 'cli:test', batchSize: 100 });
    expect(report).toMatchObject({ outcome: 'incomplete', dataKeys: { rewrapped: CUSTOMERS + 9, failed: 1 }, remaining: { dataKeys: 1 } });
    expect((await metrics.decryptFailures.get()).values).toEqual([{ labels: { table: 'customer_keys' }, value: 1 }]);
    const line = logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.code === 'decrypt_failed');
    expect(line).toMatchObject({ level: 50, table: 'customer_keys', customerId: ids[7] });
    expect((await listAudit(database.db, { limit: 1 }))[0]!.details).toMatchObject({ outcome: 'incomplete', dataKeysFailed: 1 });
  });
});
