import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustomerKeyStore } from '../../src/archive/customer-keys.js';
import { listAudit } from '../../src/compliance/audit.js';
import { runRetention } from '../../src/compliance/retention.js';
import { openDatabase, type Database } from '../../src/db/client.js';
import { NUMBER_A, countOf, daysAgo, openArchive, seedMessage, type RetentionArchive } from './retention-seed.js';

// Row locks across connections need a server: PGlite runs one transaction at a time.
const onPostgres = Boolean(process.env.DATABASE_URL);
if (!onPostgres) console.warn('retention-concurrency: skipped on PGlite (set DATABASE_URL to run it on PostgreSQL)');

let a: RetentionArchive;
let other: Database;
const CUSTOMERS = 12;
const EACH = 10;

async function seed(batch: string) {
  for (let c = 0; c < CUSTOMERS; c++) {
    for (let m = 0; m < EACH; m++) await seedMessage(a, { waId: `33${batch}${String(c).padStart(7, '0')}`, at: daysAgo(40 + m), postings: 1, ...(m === 0 ? { media: new Uint8Array(1000) } : {}) });
  }
}

describe.runIf(onPostgres)('retention runs at the same time (PostgreSQL)', () => {
  beforeAll(async () => {
    a = await openArchive({ RETENTION_DAYS: '30' }, [{ phoneNumberId: NUMBER_A }]);
    other = await openDatabase({ databaseUrl: a.databaseUrl, dataDir: '', poolSize: 4 });
  });
  afterAll(async () => { await other?.close(); await a?.close(); });

  it('two runs started together purge every row exactly once between them', async () => {
    await seed('1');
    const total = CUSTOMERS * EACH;
    const second = { ...a.deps, db: other.db, keys: new CustomerKeyStore(a.ring) };
    const [r1, r2] = await Promise.all([
      runRetention(a.deps, { actor: 'system', batchSize: 3 }),
      runRetention(second, { actor: 'system', batchSize: 3 }),
    ]);
    expect(r1.messagesPurged + r2.messagesPurged).toBe(total);
    expect(r1.mediaDeleted + r2.mediaDeleted).toBe(CUSTOMERS);
    expect(r1.customersRetired + r2.customersRetired).toBe(CUSTOMERS);
    expect(await countOf(a, 'messages', 'content_purged_at is null')).toBe(0);
    expect(await countOf(a, 'message_tokens')).toBe(0);
    const audit = (await listAudit(a.database.db)).filter((e) => e.action === 'retention.run');
    expect(audit).toHaveLength(2);
    expect(audit.reduce((s, e) => s + (e.details.messages as number), 0)).toBe(total);
  });

  it('a run skips rows another transaction holds instead of waiting, and the next run takes them', async () => {
    await seed('2');
    const total = CUSTOMERS * EACH;
    let release!: () => void;
    const released = new Promise<void>((r) => { release = r; });
    let locked!: () => void;
    const lockedNow = new Promise<void>((r) => { locked = r; });
    // Another replica's batch in flight: 25 old messages locked for update.
    const holder = other.db.transaction(async (tx) => {
      await tx.execute(sql`select id from messages where content_purged_at is null order by id limit 25 for update`);
      locked();
      await released;
    });
    await lockedNow;
    const r = await runRetention(a.deps, { actor: 'system', batchSize: 4 });
    expect(r.messagesPurged).toBe(total - 25);
    release();
    await holder;
    const again = await runRetention(a.deps, { actor: 'system', batchSize: 4 });
    expect(again.messagesPurged).toBe(25);
    expect(await countOf(a, 'messages', 'content_purged_at is null')).toBe(0);
  });
});
