import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { asc, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyRing } from '../../src/archive/load-key-ring.js';
import type { MasterKey } from '../../src/archive/master-key.js';
import { initSodium } from '../../src/archive/sodium.js';
import type { KeyStatus } from '../../src/compliance/key-status.js';
import { openDatabase, type Database } from '../../src/db/client.js';
import { auditLog } from '../../src/db/schema/index.js';
import { freshDatabase } from '../helpers/database.js';
import { dataKeyVersions, keyList, newMasterKey, seedCustomers, seedQuarantine } from './keys-seed.js';
import { runRelaisCli } from '../helpers/cli.js';

const CUSTOMERS = 120;

let dir: string;
let databaseUrl: string | undefined;
let drop: () => Promise<void>;
const base = (): Record<string, string> => ({ RELAIS_DATA_DIR: dir, ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) });

async function relais(args: string[], env: Record<string, string> = {}) {
  return runRelaisCli(args, { RELAIS_ACTOR: 'dpo', ...base(), ...env });
}

/** Opens the same database as the CLI (never at the same time as a CLI run on PGlite: one process per data dir). */
async function withDb<T>(fn: (db: Database) => Promise<T>): Promise<T> {
  const db = await openDatabase({ databaseUrl, dataDir: dir });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

let k1: MasterKey;
let k2: MasterKey;
let k3: MasterKey;

beforeAll(async () => {
  await initSodium();
  [k1, k2, k3] = [newMasterKey(), newMasterKey(), newMasterKey()];
  dir = await mkdtemp(path.join(tmpdir(), 'relais-keys-'));
  const fresh = await freshDatabase();
  databaseUrl = fresh.databaseUrl;
  drop = fresh.drop;
  // The development key file the CLI falls back to when RELAIS_MASTER_KEY is unset.
  await writeFile(path.join(dir, 'master.key'), `${keyList(k1)}\n`, { mode: 0o600 });
  const migrated = await relais(['migrate']);
  expect(migrated.code, migrated.err).toBe(0);
  await withDb(async (db) => {
    const ring = await loadKeyRing(db, [k1]);
    await seedCustomers(db.db, ring, CUSTOMERS, 1);
    await seedQuarantine(db.db, ring, ['{"a":1}']);
  });
});
afterAll(async () => { await drop(); await rm(dir, { recursive: true, force: true }); });

describe('relais keys', () => {
  it('status --json counts data keys per master-key version (development key file)', async () => {
    const r = await relais(['keys', 'status', '--json']);
    expect(r.code, r.err).toBe(0);
    const s = JSON.parse(r.out) as KeyStatus;
    expect(s.currentVersion).toBe(k1.version);
    expect(s.versions).toEqual([{ version: k1.version, current: true, loadedHere: true, dataKeys: CUSTOMERS, indexRoot: true, quarantine: 1 }]);
    expect(s.replicas).toEqual([]);
  });

  it('rotate rewraps everything to the first key, with progress, and status then shows the new version only', async () => {
    const r = await relais(['keys', 'rotate', '--batch', '50'], { RELAIS_MASTER_KEY: keyList(k2, k1) });
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.err).toContain(`rewrapping to master key version ${k2.version}`);
    expect(r.err).toContain(`data keys rewrapped: ${CUSTOMERS}/${CUSTOMERS} (100%)`);
    expect(r.out).toMatch(new RegExp(`rotation to master key version ${k2.version}: complete`));
    expect(r.out).toContain(`data keys rewrapped: ${CUSTOMERS}`);
    expect(r.out).toContain('blind-index root: rewrapped');
    expect(r.out + r.err).not.toContain(keyList(k1));
    expect(r.out + r.err).not.toContain(keyList(k2));

    const s = await relais(['keys', 'status'], { RELAIS_MASTER_KEY: keyList(k2) });
    expect(s.code, s.err).toBe(0);
    expect(s.out).toMatch(new RegExp(`^${k2.version}\\s+yes\\s+yes\\s+${CUSTOMERS}\\s+yes\\s+1$`, 'm'));
    expect(s.out).not.toContain('warning');
    await withDb(async (db) => {
      for (const v of await dataKeyVersions(db.db)) expect(v.header).toBe(k2.version);
      const rows = await db.db.select().from(auditLog).orderBy(asc(auditLog.id));
      expect(rows.map((x) => `${x.actor} ${x.action}`)).toEqual(['cli:dpo keys.rotate.start', 'cli:dpo keys.rotate.complete']);
    });
  });

  it('refuses while a running replica lacks the new key, and says what to do; --force overrides', async () => {
    await withDb((db) => db.db.execute(sql`insert into keyring_members (instance_id, current_kek_version, kek_versions, seen_at) values ('relais-7d9f-abcde', ${k2.version}, ${`{${k2.version}}`}, now())`));
    const refused = await relais(['keys', 'rotate'], { RELAIS_MASTER_KEY: keyList(k3, k2) });
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/relais-7d9f-abcde .*Deploy the new key list to every replica first .*--force skips this check/);
    const status = await relais(['keys', 'status'], { RELAIS_MASTER_KEY: keyList(k3, k2) });
    expect(status.out).toMatch(/relais-7d9f-abcde {2}current \d+ {2}loaded \d+/);
    expect(status.out).toMatch(/warning: Replica relais-7d9f-abcde has not loaded version/);

    const forced = await relais(['keys', 'rotate', '--force'], { RELAIS_MASTER_KEY: keyList(k3, k2) });
    expect(forced.code, forced.out + forced.err).toBe(0);
    expect(forced.out).toMatch(/complete[\s\S]*warning: --force: 1 running replica\(s\) have not loaded/);
  });

  it('explains its usage', async () => {
    expect((await relais(['keys'])).code).toBe(2);
    const bad = await relais(['keys', 'rotate', '--batch', '0'], { RELAIS_MASTER_KEY: keyList(k3) });
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--batch must be an integer/);
  });
});
