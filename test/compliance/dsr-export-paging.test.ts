/**
 * Export of a long history: messages are read in pages, and `received_at` has microseconds that a
 * JavaScript Date cannot hold; every message must come out exactly once, in order. Also the pure
 * helpers that shape exported text and file names.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { strFromU8, unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { blindIndex } from '../../src/archive/blind-index.js';
import { CustomerKeyStore } from '../../src/archive/customer-keys.js';
import { sealJson } from '../../src/archive/envelope.js';
import { createKeyRing } from '../../src/archive/keyring.js';
import { masterKeyVersion } from '../../src/archive/master-key.js';
import { initSodium, randomBytes, toHex } from '../../src/archive/sodium.js';
import { exportCustomer } from '../../src/compliance/export.js';
import type { ExportDocument } from '../../src/compliance/export-schema.js';
import { inboundText, zipSafeName } from '../../src/compliance/export-text.js';
import { loadConfig } from '../../src/config/load.js';
import { openDatabase, type Database } from '../../src/db/client.js';
import { runMigrations } from '../../src/db/migrate.js';
import { customers, messages } from '../../src/db/schema/index.js';
import { freshDatabase } from '../helpers/database.js';

const COUNT = 1_234;
let database: Database;
let drop: () => Promise<void>;
let deps: Parameters<typeof exportCustomer>[0];

beforeAll(async () => {
  await initSodium();
  const fresh = await freshDatabase();
  drop = fresh.drop;
  database = await openDatabase({ databaseUrl: fresh.databaseUrl, dataDir: '', inMemory: true });
  await runMigrations(database);
  const key = randomBytes(32);
  const ring = createKeyRing([{ version: masterKeyVersion(key), key }], { indexRoot: randomBytes(32) });
  const keys = new CustomerKeyStore(ring);
  const id = randomUUID();
  const db = database.db;
  const dek = await db.transaction(async (tx) => {
    await tx.insert(customers).values({ id, phoneNumberId: '106540352242922', customerBidx: blindIndex(ring, 'customer', '33600000001'), phoneBidx: blindIndex(ring, 'phone', '33600000001'), channelKey: toHex(randomBytes(13)) });
    return (await keys.create(tx, id)).dek;
  });
  const rows = Array.from({ length: COUNT }, (_, i) => {
    const rowId = randomUUID();
    // Four rows per millisecond, apart by microseconds only.
    return { id: rowId, customerId: id, direction: 'inbound' as const, type: 'text', keyVersion: 1,
      receivedAt: sql`timestamptz '2030-01-01 00:00:00+00' + ${i} * interval '250 microseconds'`,
      contentEnc: sealJson(dek, { table: 'messages', column: 'content_enc', rowId, keyVersion: 1 }, { content: { kind: 'text', text: `m${i}` }, markers: {} }) };
  });
  for (let i = 0; i < rows.length; i += 500) await db.insert(messages).values(rows.slice(i, i + 500));
  const loaded = await loadConfig({ RELAIS_DATA_DIR: '/tmp', RELAIS_MASTER_KEY: Buffer.from(key).toString('base64') });
  if (!loaded.config) throw new Error(loaded.problems.join('; '));
  deps = { db, ring, keys: new CustomerKeyStore(ring), config: loaded.config, logger: pino({ level: 'silent' }), platform: null };
});
afterAll(async () => { await database?.close(); await drop(); });

describe('export of a long history', () => {
  it('has every message exactly once, in the order received', async () => {
    const r = await exportCustomer(deps, '+33600000001', { actor: 'test' });
    expect(r.messages).toBe(COUNT);
    const doc = JSON.parse(strFromU8(unzipSync(r.zip)['export.json']!)) as ExportDocument;
    expect(doc.customers[0]!.messages.map((m) => m.text)).toEqual(Array.from({ length: COUNT }, (_, i) => `m${i}`));
  });
});

describe('exported text and file names', () => {
  it('renders non-text messages as one readable line', () => {
    expect(inboundText({ kind: 'location', latitude: 48.85, longitude: 2.35, name: 'Tour', address: 'Paris' }, 'en')).toBe('Tour · Paris · 48.85, 2.35');
    expect(inboundText({ kind: 'reaction', targetWamid: 'w', emoji: '👍' }, 'fr')).toBe('a réagi 👍');
    expect(inboundText({ kind: 'reaction', targetWamid: 'w', emoji: '' }, 'en')).toBe('removed their reaction');
    expect(inboundText({ kind: 'media', media: { kind: 'image', mediaId: 'x' } }, 'en')).toBeUndefined();
    expect(inboundText({ kind: 'order', items: [{ productId: 'sku1', quantity: 2, price: 9.5, currency: 'EUR' }] }, 'en')).toBe('sku1 × 2 (9.5 EUR)');
  });

  it('keeps file names inside the ZIP folder and readable', () => {
    expect(zipSafeName('../../etc/passwd', 'x')).toBe('_.._etc_passwd'); // no separator left: it stays in media/
    expect(zipSafeName('a\u0000b\nc:d?.pdf', 'x')).toBe('a_b_c_d_.pdf');
    expect(zipSafeName(undefined, 'image')).toBe('image');
    expect(zipSafeName('Facture mars 2026.pdf', 'x')).toBe('Facture mars 2026.pdf');
    expect(Array.from(zipSafeName('é'.repeat(300) + '.pdf', 'x'))).toHaveLength(100);
  });
});
