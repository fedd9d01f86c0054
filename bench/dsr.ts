/**
 * Data-subject requests on PostgreSQL: time to export, then to erase, one person with a long
 * history among other customers.
 *
 *   npx tsx bench/dsr.ts [--messages 5000] [--media 50] [--others 200]
 *
 * Seeds a fresh database (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres):
 * the person has `--messages` messages on one business number, four in five from them (text,
 * 10 search postings each) and one in five agent replies with three delivery statuses each, plus
 * `--media` stored photos of 200 KB; `--others` customers have 20 messages each. Then runs
 * `exportCustomer` and `eraseCustomer` (channel never relayed: no chat call) and prints one JSON
 * line. Figures, not a test: the database is dropped afterwards.
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { blindIndex } from '../src/archive/blind-index.js';
import { CustomerKeyStore } from '../src/archive/customer-keys.js';
import { sealJson } from '../src/archive/envelope.js';
import { loadKeyRing } from '../src/archive/load-key-ring.js';
import { masterKeyVersion } from '../src/archive/master-key.js';
import { initSodium, randomBytes, toHex } from '../src/archive/sodium.js';
import { eraseCustomer } from '../src/compliance/erase.js';
import { exportCustomer } from '../src/compliance/export.js';
import { loadConfig } from '../src/config/load.js';
import { storeMedia } from '../src/core/media-store.js';
import { openDatabase } from '../src/db/client.js';
import { runMigrations } from '../src/db/migrate.js';
import { customers, messages, messageTokens, outbox, statusEvents } from '../src/db/schema/index.js';
import { BENCH_PG_BASE, freshBenchDatabase } from './fresh-db.js';

const args = process.argv.slice(2);
const arg = (flag: string, dflt: number) => { const i = args.indexOf(flag); return i >= 0 ? Number(args[i + 1]) : dflt; };
const total = arg('--messages', 5000);
const mediaCount = arg('--media', 50);
const others = arg('--others', 200);
const base = BENCH_PG_BASE;
const NUMBER = '106540352242922';

await initSodium();
const fresh = await freshBenchDatabase('dsr', base);
const database = await openDatabase({ databaseUrl: fresh.url, dataDir: '' });
try {
  await runMigrations(database);
  const key = randomBytes(32);
  const ring = await loadKeyRing(database, [{ version: masterKeyVersion(key), key }]);
  const keys = new CustomerKeyStore(ring);
  const db = database.db;

  /** One customer with `n` messages; returns its id. */
  async function seedCustomer(waId: string, n: number, withMedia: number): Promise<string> {
    const id = randomUUID();
    const dek = await db.transaction(async (tx) => {
      await tx.insert(customers).values({ id, phoneNumberId: NUMBER, customerBidx: blindIndex(ring, 'customer', waId), phoneBidx: blindIndex(ring, 'phone', waId), channelKey: toHex(randomBytes(13)) });
      return (await keys.create(tx, id)).dek;
    });
    const start = Date.now() - n * 60_000;
    for (let i = 0; i < n; i += 500) {
      const inbound: (typeof messages.$inferInsert)[] = [];
      const replies: (typeof outbox.$inferInsert)[] = [];
      const tokens: (typeof messageTokens.$inferInsert)[] = [];
      const statuses: (typeof statusEvents.$inferInsert)[] = [];
      for (let j = i; j < Math.min(n, i + 500); j++) {
        const at = new Date(start + j * 60_000);
        const rowId = randomUUID();
        if (j % 5 === 4) {
          const wamidBidx = toHex(randomBytes(32));
          replies.push({ id: rowId, customerId: id, sourceKey: `post:${rowId}`, chatPostId: toHex(randomBytes(13)), chatChannelId: 'c', kind: 'text', state: 'sent', keyVersion: 1,
            contentEnc: sealJson(dek, { table: 'outbox', column: 'content_enc', rowId, keyVersion: 1 }, { kind: 'text', text: `Agent answer number ${j}, with a few more words to look real.` }),
            wamidBidx, status: 'read', statusRank: 4, createdAt: at, sentAt: at });
          for (const [status, rank] of [['sent', 2], ['delivered', 3], ['read', 4]] as const) statuses.push({ wamidBidx, status, rank, waTimestamp: at });
        } else {
          inbound.push({ id: rowId, customerId: id, direction: 'inbound', wamidBidx: toHex(randomBytes(32)), type: 'text', keyVersion: 1, receivedAt: at, waTimestamp: at, relayState: 'posted',
            contentEnc: sealJson(dek, { table: 'messages', column: 'content_enc', rowId, keyVersion: 1 }, { content: { kind: 'text', text: `Customer message ${j}: my parcel 4711 has not arrived, can you check the tracking please?` }, markers: {} }) });
          for (let t = 0; t < 10; t++) tokens.push({ token: (j * 10 + t) | 0, messageId: rowId, customerId: id, receivedAt: at });
        }
      }
      await db.transaction(async (tx) => {
        if (inbound.length) await tx.insert(messages).values(inbound);
        if (replies.length) await tx.insert(outbox).values(replies);
        if (tokens.length) await tx.insert(messageTokens).values(tokens);
        if (statuses.length) await tx.insert(statusEvents).values(statuses);
      });
    }
    for (let m = 0; m < withMedia; m++) {
      const rowId = randomUUID();
      await db.insert(messages).values({ id: rowId, customerId: id, direction: 'inbound', wamidBidx: toHex(randomBytes(32)), type: 'media', keyVersion: 1, relayState: 'posted',
        contentEnc: sealJson(dek, { table: 'messages', column: 'content_enc', rowId, keyVersion: 1 }, { content: { kind: 'media', media: { kind: 'image', mediaId: 'x', mimeType: 'image/jpeg' } }, markers: {} }) });
      const bytes = randomBytes(200_000);
      await storeMedia(db, dek, 1, { messageId: rowId, kind: 'image', mimeType: 'image/jpeg', filename: `photo-${m}.jpg` }, new ReadableStream({ start(c) { c.enqueue(bytes); c.close(); } }));
    }
    return id;
  }

  for (let o = 0; o < others; o++) await seedCustomer(`4917000${String(o).padStart(5, '0')}`, 20, 0);
  await seedCustomer('33612345678', total - mediaCount, mediaCount);
  await database.db.execute('analyze');

  const loaded = await loadConfig({ RELAIS_DATA_DIR: '/tmp', DATABASE_URL: fresh.url, RELAIS_MASTER_KEY: Buffer.from(key).toString('base64'), ERASE_CHAT_POLICY: 'delete' });
  if (!loaded.config) throw new Error(loaded.problems.join('; '));
  const deps = { db, ring, keys: new CustomerKeyStore(ring), config: loaded.config, logger: pino({ level: 'silent' }), platform: null };
  const t0 = performance.now();
  const exported = await exportCustomer(deps, '+33 6 12 34 56 78', { actor: 'bench' });
  const exportMs = performance.now() - t0;
  const t1 = performance.now();
  const erased = await eraseCustomer(deps, '+33 6 12 34 56 78', { actor: 'bench' });
  const eraseMs = performance.now() - t1;
  if (exported.messages !== total || erased.messagesDeleted !== total) throw new Error(`unexpected counts: ${JSON.stringify({ exported: exported.messages, erased })}`);
  console.log(JSON.stringify({
    bench: 'dsr', db: 'postgres', messages: total, media: mediaCount, mediaBytes: mediaCount * 200_000, otherCustomers: others,
    exportMs: Math.round(exportMs), zipBytes: exported.zip.byteLength, eraseMs: Math.round(eraseMs), chat: erased.chat,
  }));
} finally {
  await database.close();
  await fresh.drop();
}
