import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustomerKeyStore } from '../../src/archive/customer-keys.js';
import { loadKeyRing } from '../../src/archive/load-key-ring.js';
import { initSodium } from '../../src/archive/sodium.js';
import { listAudit } from '../../src/compliance/audit.js';
import type { RetentionResult } from '../../src/compliance/retention.js';
import { openDatabase, type Database } from '../../src/db/client.js';
import { freshDatabase } from '../helpers/database.js';
import { captureLogger } from '../helpers/logger.js';
import { keyList, newMasterKey } from './keys-seed.js';
import { seedMessage, type RetentionArchive } from './retention-seed.js';
import { runRelaisCli } from '../helpers/cli.js';


let dir: string;
let databaseUrl: string | undefined;
let drop: () => Promise<void>;
let masterKey: string;
const env = (): Record<string, string> => ({ RELAIS_DATA_DIR: dir, RELAIS_MASTER_KEY: masterKey, RETENTION_DAYS: '30', RELAIS_ACTOR: 'dpo', ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) });

async function relais(args: string[]) {
  return runRelaisCli(args, env());
}

/** The CLI's database, opened between CLI runs (PGlite allows one process per data dir). */
async function withDb<T>(fn: (db: Database) => Promise<T>): Promise<T> {
  const db = await openDatabase({ databaseUrl, dataDir: dir });
  try { return await fn(db); } finally { await db.close(); }
}
const unpurged = () => withDb(async (db) => {
  const r = await db.db.execute(sql`select count(*)::int as n from messages where content_purged_at is null`);
  return Number(((Array.isArray(r) ? r : (r as { rows: unknown[] }).rows)[0] as { n: number }).n);
});

beforeAll(async () => {
  await initSodium();
  dir = await mkdtemp(path.join(tmpdir(), 'relais-retention-'));
  const fresh = await freshDatabase();
  databaseUrl = fresh.databaseUrl;
  drop = fresh.drop;
  const k = newMasterKey();
  masterKey = keyList(k);
  const migrated = await relais(['migrate']);
  expect(migrated.code, migrated.err).toBe(0);
  await withDb(async (database) => {
    const ring = await loadKeyRing(database, [k]);
    const a = { database, ring, keys: new CustomerKeyStore(ring), logs: captureLogger() } as unknown as RetentionArchive;
    const now = Date.now();
    await seedMessage(a, { waId: '33612121212', at: new Date(now - 40 * 86_400_000), text: 'ancien' });
    await seedMessage(a, { waId: '33612121212', at: new Date(now - 35 * 86_400_000), text: 'ancien aussi' });
    await seedMessage(a, { waId: '33612121212', at: new Date(now - 86_400_000), text: 'récent' });
  });
});
afterAll(async () => { await drop(); await rm(dir, { recursive: true, force: true }); });

describe('relais retention run', () => {
  it('--dry-run counts and changes nothing', async () => {
    const r = await relais(['retention', 'run', '--dry-run', '--json']);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out) as RetentionResult).toMatchObject({ dryRun: true, messagesPurged: 2, customersRetired: 0 });
    expect(await unpurged()).toBe(3);
  });

  it('purges now, says what it did, and is audited with the operator as actor', async () => {
    const r = await relais(['retention', 'run']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/purged 2 messages/);
    expect(r.out).toMatch(/106540352242922: 30 days/);
    expect(await unpurged()).toBe(1);
    const again = await relais(['retention', 'run', '--json']);
    expect((JSON.parse(again.out) as RetentionResult).messagesPurged).toBe(0);
    const audit = await withDb(async (db) => (await listAudit(db.db)).filter((e) => e.action === 'retention.run'));
    expect(audit.map((e) => [e.actor, e.details.messages])).toEqual([['cli:dpo', 0], ['cli:dpo', 2]]);
  });

  it('explains its usage', async () => {
    expect((await relais(['retention'])).code).toBe(2);
    const bad = await relais(['retention', 'run', '--batch-size', '0']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--batch-size/);
  });
});
