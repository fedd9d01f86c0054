/**
 * Retention throughput on PostgreSQL: messages purged per second.
 *
 *   npx tsx bench/retention.ts [--customers 5000] [--messages 20] [--batch 500]
 *
 * Seeds a fresh database (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres)
 * with customers and sealed messages (each with 4 search postings; one in ten with a 64 KiB media
 * of 2 frames) received 40 days ago, plus one recent message per customer so nobody is retired,
 * then runs `runRetention` (RETENTION_DAYS=30) and prints a JSON line, with an idle second pass
 * as the fixed-cost baseline. Figures, not a test: the database is dropped afterwards.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { CustomerKeyStore } from '../src/archive/customer-keys.js';
import { sealField } from '../src/archive/envelope.js';
import { loadKeyRing } from '../src/archive/load-key-ring.js';
import { masterKeyVersion } from '../src/archive/master-key.js';
import { initSodium, randomBytes, toHex } from '../src/archive/sodium.js';
import { runRetention } from '../src/compliance/retention.js';
import { loadConfig } from '../src/config/load.js';
import { openDatabase } from '../src/db/client.js';
import { runMigrations } from '../src/db/migrate.js';
import { customerKeys, customers, media, mediaFrames, messageTokens, messages } from '../src/db/schema/index.js';
import { createLogger } from '../src/log.js';
import { BENCH_PG_BASE, freshBenchDatabase } from './fresh-db.js';

const args = process.argv.slice(2);
const arg = (flag: string, dflt: number) => { const i = args.indexOf(flag); return i >= 0 ? Number(args[i + 1]) : dflt; };
const count = arg('--customers', 5000);
const each = arg('--messages', 20);
const batchSize = arg('--batch', 500);
const base = BENCH_PG_BASE;
const NUMBER = '106540352242922';

await initSodium();
const fresh = await freshBenchDatabase('retention', base);
const database = await openDatabase({ databaseUrl: fresh.url, dataDir: '' });
try {
  await runMigrations(database);
  const key = randomBytes(32);
  const ring = await loadKeyRing(database, [{ version: masterKeyVersion(key), key }]);
  const old = new Date(Date.now() - 40 * 86_400_000);
  const frame = randomBytes(32 * 1024);
  let purgeable = 0;
  for (let start = 0; start < count; start += 100) {
    const n = Math.min(100, count - start);
    const cust: (typeof customers.$inferInsert)[] = [];
    const keys: (typeof customerKeys.$inferInsert)[] = [];
    const msgs: (typeof messages.$inferInsert)[] = [];
    const tokens: (typeof messageTokens.$inferInsert)[] = [];
    const med: (typeof media.$inferInsert)[] = [];
    const frames: (typeof mediaFrames.$inferInsert)[] = [];
    for (let i = 0; i < n; i++) {
      const id = randomUUID();
      const dek = ring.newDataKey();
      keys.push({ customerId: id, version: 1, ...ring.wrapDataKey(dek, { customerId: id, dekVersion: 1 }) });
      cust.push({ id, phoneNumberId: NUMBER, customerBidx: toHex(randomBytes(32)), channelKey: toHex(randomBytes(13)), lastInboundAt: new Date(), createdAt: old });
      for (let m = 0; m <= each; m++) {
        const mid = randomUUID();
        const at = m === each ? new Date() : old;
        msgs.push({ id: mid, customerId: id, direction: 'inbound', type: 'text', keyVersion: 1, receivedAt: at, wamidBidx: toHex(randomBytes(32)), chatPostId: toHex(randomBytes(13)),
          contentEnc: sealField(dek, { table: 'messages', column: 'content_enc', rowId: mid, keyVersion: 1 }, `message ${m} bonjour, voici mon numéro de contrat`) });
        for (let t = 0; t < 4; t++) tokens.push({ token: Math.floor(Math.random() * 2 ** 31), messageId: mid, customerId: id, receivedAt: at });
        if (m < each && m % 10 === 0) {
          const mediaId = randomUUID();
          med.push({ id: mediaId, messageId: mid, kind: 'document', keyVersion: 1, state: 'stored', size: frame.length * 2 });
          frames.push({ mediaId, seq: 0, data: frame }, { mediaId, seq: 1, data: frame });
        }
        if (m < each) purgeable++;
      }
    }
    await database.db.transaction(async (tx) => {
      await tx.insert(customers).values(cust);
      await tx.insert(customerKeys).values(keys);
      for (let k = 0; k < msgs.length; k += 1000) await tx.insert(messages).values(msgs.slice(k, k + 1000));
      for (let k = 0; k < tokens.length; k += 2000) await tx.insert(messageTokens).values(tokens.slice(k, k + 2000)).onConflictDoNothing();
      if (med.length) await tx.insert(media).values(med);
      for (let k = 0; k < frames.length; k += 200) await tx.insert(mediaFrames).values(frames.slice(k, k + 200));
    });
  }
  await database.db.execute(sql`analyze`);
  const { config } = await loadConfig({ RETENTION_DAYS: '30' });
  const deps = { db: database.db, ring, keys: new CustomerKeyStore(ring), config: config!, logger: createLogger({ level: 'warn' }) };
  const t0 = performance.now();
  const r = await runRetention(deps, { actor: 'bench', batchSize });
  const seconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  await runRetention(deps, { actor: 'bench', batchSize });
  const idleMs = performance.now() - t1;
  if (r.messagesPurged !== purgeable) throw new Error(`unexpected result: ${JSON.stringify(r)}`);
  console.log(JSON.stringify({
    bench: 'retention', db: 'postgres', customers: count, messagesPurged: r.messagesPurged, mediaDeleted: r.mediaDeleted, batchSize,
    seconds: Number(seconds.toFixed(2)), messagesPerSec: Math.round(r.messagesPurged / seconds), idlePassMs: Math.round(idleMs),
  }));
} finally {
  await database.close();
  await fresh.drop();
}
