import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustomerKeyStore } from '../../src/archive/customer-keys.js';
import { listAudit } from '../../src/compliance/audit.js';
import { runRetention } from '../../src/compliance/retention.js';
import { retentionPlan } from '../../src/compliance/retention-policy.js';
import { purgeMessageBatch, retireCustomerBatch } from '../../src/compliance/retention-purge.js';
import { persistWebhook } from '../../src/core/inbox.js';
import { eventually } from '../helpers/relais.js';
import { openDatabase, type Database } from '../../src/db/client.js';
import { NOW, NO_QUEUE, NUMBER_A, countOf, daysAgo, openArchive, rows, seedMessage, type RetentionArchive } from './retention-seed.js';

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

  it('a message arriving while its customer is being retired is refused for redelivery, then stored under a new customer', async () => {
    const old = await seedMessage(a, { waId: '33700000001', at: daysAgo(60) });
    const [plan] = retentionPlan(a.config, [NUMBER_A], NOW);
    await purgeMessageBatch(a.database.db, plan!, NOW, 1000);
    await purgeMessageBatch(a.database.db, plan!, NOW, 1000);
    let release!: () => void;
    const released = new Promise<void>((r) => { release = r; });
    let locked!: () => void;
    const lockedNow = new Promise<void>((r) => { locked = r; });
    // The retirement holds the customer row (and its data key) while the webhook comes in.
    const retiring = retireCustomerBatch(other.db, plan!, NOW, 100, null, { prepare: async () => { locked(); await released; return new Set(); } });
    await lockedNow;
    const parsed = {
      messages: [{ phoneNumberId: NUMBER_A, wamid: 'wamid.RACE-1', timestamp: Math.floor(NOW.getTime() / 1000), customer: { waId: '33700000001' }, content: { kind: 'text' as const, text: 'toujours là ?' }, markers: {} }],
      statuses: [], errors: [], otherFields: [], phoneNumberIds: [NUMBER_A],
    };
    const store = () => a.database.db.transaction((tx) => persistWebhook(tx, { ring: a.ring, keys: a.keys, isKnownNumber: () => true, ...NO_QUEUE }, parsed));
    const first = store().then(() => 'stored', (err: { code?: string }) => err.code);
    await eventually(async () => Number((await rows(a, `select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`))[0]!.n) > 0, 'the webhook waiting on the customer row');
    release();
    expect((await retiring).retired).toContain(old.customerId);
    expect(await first).toBe('customer_retired');
    // Meta redelivers: a new customer with a new data key.
    const again = await store();
    const [m] = await rows(a, `select customer_id from messages where id = '${again.stored[0]!.messageId}'`);
    expect(m!.customer_id).not.toBe(old.customerId);
    expect(await countOf(a, 'messages', `customer_id = '${old.customerId}' and content_purged_at is null`)).toBe(0);
  });
});
