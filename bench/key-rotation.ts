/**
 * Master-key rotation throughput on PostgreSQL: data keys rewrapped per second.
 *
 *   npx tsx bench/key-rotation.ts [--customers 20000] [--batch 500]
 *
 * Seeds a fresh database (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres)
 * with customers whose data keys are wrapped by one master key, runs `rotateMasterKey` to a second
 * one, and prints a JSON line. Also runs one idle pass (nothing left) as the fixed-cost baseline.
 * Figures, not a test: the database is dropped afterwards.
 */
import { randomUUID } from 'node:crypto';
import { loadKeyRing } from '../src/archive/load-key-ring.js';
import { masterKeyVersion } from '../src/archive/master-key.js';
import { initSodium, randomBytes, toHex } from '../src/archive/sodium.js';
import { rotateMasterKey } from '../src/compliance/key-rotation.js';
import { openDatabase } from '../src/db/client.js';
import { runMigrations } from '../src/db/migrate.js';
import { customerKeys, customers } from '../src/db/schema/index.js';
import { BENCH_PG_BASE, freshBenchDatabase } from './fresh-db.js';

const args = process.argv.slice(2);
const arg = (flag: string, dflt: number) => { const i = args.indexOf(flag); return i >= 0 ? Number(args[i + 1]) : dflt; };
const count = arg('--customers', 20_000);
const batchSize = arg('--batch', 500);
const base = BENCH_PG_BASE;

await initSodium();
const fresh = await freshBenchDatabase('keys', base);
const database = await openDatabase({ databaseUrl: fresh.url, dataDir: '' });
try {
  await runMigrations(database);
  const kek = (key: Uint8Array) => ({ version: masterKeyVersion(key), key });
  const k1 = kek(randomBytes(32));
  const k2 = kek(randomBytes(32));
  const ring1 = await loadKeyRing(database, [k1]);
  for (let start = 0; start < count; start += 1000) {
    const ids = Array.from({ length: Math.min(1000, count - start) }, () => randomUUID());
    await database.db.transaction(async (tx) => {
      await tx.insert(customers).values(ids.map((id) => ({ id, phoneNumberId: '1', customerBidx: toHex(randomBytes(32)), channelKey: toHex(randomBytes(13)) })));
      await tx.insert(customerKeys).values(ids.map((id) => ({ customerId: id, version: 1, ...ring1.wrapDataKey(ring1.newDataKey(), { customerId: id, dekVersion: 1 }) })));
    });
  }
  const ring2 = await loadKeyRing(database, [k2, k1]);
  const t0 = performance.now();
  const report = await rotateMasterKey({ db: database.db, ring: ring2 }, { actor: 'bench', batchSize });
  const seconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  await rotateMasterKey({ db: database.db, ring: ring2 }, { actor: 'bench', batchSize });
  const idleMs = performance.now() - t1;
  if (report.outcome !== 'complete' || report.dataKeys.rewrapped !== count) throw new Error(`unexpected report: ${JSON.stringify(report)}`);
  console.log(JSON.stringify({
    bench: 'key-rotation', db: 'postgres', customers: count, batchSize,
    seconds: Number(seconds.toFixed(2)), dataKeysPerSec: Math.round(count / seconds), idlePassMs: Math.round(idleMs),
  }));
} finally {
  await database.close();
  await fresh.drop();
}
