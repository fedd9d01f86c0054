import { eq } from 'drizzle-orm';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustomerKeyStore } from '../../src/archive/customer-keys.js';
import { sealField } from '../../src/archive/envelope.js';
import { createKeyRing } from '../../src/archive/keyring.js';
import { loadKeyRing } from '../../src/archive/load-key-ring.js';
import { initSodium } from '../../src/archive/sodium.js';
import { openJsonWatched, openTextWatched, watchDecrypt } from '../../src/core/decrypt-failures.js';
import { RelaisError } from '../../src/core/errors.js';
import { openDatabase, type Database } from '../../src/db/client.js';
import { runMigrations } from '../../src/db/migrate.js';
import { customerKeys, customers } from '../../src/db/schema/index.js';
import { createMetrics } from '../../src/metrics.js';
import { HAVE_FIXTURES, fixtureWithUniqueIds } from '../helpers/fixtures.js';
import { captureLogger } from '../helpers/logger.js';
import { freshDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/relais.js';
import { startWorld, type World } from '../helpers/world.js';
import { newMasterKey, seedCustomers, tamperDataKey } from './keys-seed.js';

const counts = async (m: ReturnType<typeof createMetrics>) => Object.fromEntries((await m.decryptFailures.get()).values.map((v) => [v.labels.table, v.value]));
const lines = (logs: ReturnType<typeof captureLogger>) => logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>);

beforeAll(async () => { await initSodium(); });

describe('decryption failures are loud', () => {
  it('watchDecrypt rethrows the same error, counts it once however nested, and logs ids only', async () => {
    const metrics = createMetrics(new Registry());
    const logs = captureLogger();
    const watch = { metrics, logger: logs.logger };
    const dek = new Uint8Array(32).fill(7);
    const ctx = { table: 'messages', column: 'content_enc', rowId: 'm-1', keyVersion: 1 };
    const sealed = sealField(dek, ctx, JSON.stringify({ text: 'secret body 0612345678' }));
    expect(openJsonWatched(watch, dek, ctx, sealed)).toEqual({ text: 'secret body 0612345678' });

    const moved = { ...ctx, rowId: 'm-2' };
    let thrown: unknown;
    try {
      watchDecrypt(watch, { table: 'outer' }, () => openTextWatched(watch, dek, moved, sealed));
    } catch (err) { thrown = err; }
    expect(thrown).toBeInstanceOf(RelaisError);
    expect(thrown).toMatchObject({ code: 'decrypt_failed' });
    await expect(watchDecrypt(watch, { table: 'customer_keys', customerId: 'c-1' }, async () => { throw new RelaisError('key_missing', 'x', { retryable: false }); }))
      .rejects.toMatchObject({ code: 'key_missing' });
    // Errors that are not about keys or ciphertexts are not decryption failures.
    expect(() => watchDecrypt(watch, { table: 'messages' }, () => { throw new RelaisError('chat_unreachable', 'x', { retryable: true }); })).toThrow('x');

    expect(await counts(metrics)).toEqual({ messages: 1, customer_keys: 1 });
    const logged = lines(logs);
    expect(logged).toHaveLength(2);
    expect(logged[0]).toMatchObject({ level: 50, code: 'decrypt_failed', table: 'messages', column: 'content_enc', rowId: 'm-2', keyVersion: 1 });
    expect(logged[1]).toMatchObject({ level: 50, code: 'key_missing', table: 'customer_keys', customerId: 'c-1' });
    expect(logs.text()).not.toMatch(/secret body|0612345678/);
  });

  describe('CustomerKeyStore', () => {
    let database: Database;
    let drop: () => Promise<void>;
    beforeAll(async () => {
      const fresh = await freshDatabase();
      drop = fresh.drop;
      database = await openDatabase({ databaseUrl: fresh.databaseUrl, dataDir: '', inMemory: true });
      await runMigrations(database);
    });
    afterAll(async () => { await database.close(); await drop(); });

    it('throws and counts decrypt_failed, key_missing and key_destroyed; never returns a key it could not unwrap', async () => {
      const k1 = newMasterKey();
      const ring = await loadKeyRing(database, [k1]);
      const [tampered, foreign, erased] = await seedCustomers(database.db, ring, 3, 0);
      await tamperDataKey(database.db, tampered!);
      // A data key wrapped by a master key this process does not have.
      const other = createKeyRing([newMasterKey()]);
      const { wrapped, kekVersion } = other.wrapDataKey(other.newDataKey(), { customerId: foreign!, dekVersion: 1 });
      await database.db.update(customerKeys).set({ wrapped, kekVersion }).where(eq(customerKeys.customerId, foreign!));
      await database.db.delete(customerKeys).where(eq(customerKeys.customerId, erased!));

      const metrics = createMetrics(new Registry());
      const logs = captureLogger();
      const store = new CustomerKeyStore(ring, { watch: { metrics, logger: logs.logger } });
      await expect(store.get(database.db, tampered!, 1)).rejects.toMatchObject({ code: 'decrypt_failed' });
      await expect(store.get(database.db, foreign!, 1)).rejects.toMatchObject({ code: 'key_missing', message: expect.stringMatching(/add that key after the current one/) });
      await expect(store.get(database.db, erased!, 1)).rejects.toMatchObject({ code: 'key_destroyed' });
      await expect(store.current(database.db, erased!)).rejects.toMatchObject({ code: 'key_destroyed' });
      expect(await counts(metrics)).toEqual({ customer_keys: 4 });
      expect(lines(logs).map((l) => [l.code, l.customerId])).toEqual([
        ['decrypt_failed', tampered], ['key_missing', foreign], ['key_destroyed', erased], ['key_destroyed', erased],
      ]);
    });
  });

  describe.skipIf(!HAVE_FIXTURES)('through the running bridge (needs ../shared/fixtures)', () => {
    let w: World;
    beforeAll(async () => { w = await startWorld({ platform: 'mattermost' }); });
    afterAll(async () => { await w?.stop(); });

    it('a tampered customer row fails the relay with decrypt_failed, counted and logged; nothing is posted in its place', async () => {
      expect((await w.relais.postWebhook(fixtureWithUniqueIds('text.json', 'loud-1'))).status).toBe(200);
      await eventually(async () => (await w.relais.count('messages', `relay_state = 'posted'`)) === 1, 'first message posted');
      const channel = w.chat.customerChannels()[0]!.id;
      const postsBefore = w.chat.posts(channel).length;

      // Someone with database access swaps the customer's sealed number for another row's.
      const db = w.relais.runtime.database.db;
      const [c] = await db.select().from(customers);
      const otherRow = sealField(new Uint8Array(32).fill(1), { table: 'customers', column: 'wa_id_enc', rowId: c!.id, keyVersion: c!.keyVersion }, '33700000000');
      await db.update(customers).set({ waIdEnc: otherRow }).where(eq(customers.id, c!.id));

      expect((await w.relais.postWebhook(fixtureWithUniqueIds('text.json', 'loud-2'))).status).toBe(200);
      await eventually(async () => (await w.relais.count('messages', `relay_state = 'failed' and relay_error = 'decrypt_failed'`)) === 1, 'second message failed loudly');
      const metric = (await w.relais.runtime.metrics.decryptFailures.get()).values;
      expect(metric).toEqual([{ labels: { table: 'customers' }, value: 1 }]);
      const line = lines(w.relais.logs).find((l) => l.msg?.toString().startsWith('decryption failed'));
      expect(line).toMatchObject({ level: 50, code: 'decrypt_failed', table: 'customers', column: 'wa_id_enc', rowId: c!.id });
      expect(w.relais.logs.text()).not.toMatch(/16505551234|33700000000|another color/);
      expect(w.chat.posts(channel)).toHaveLength(postsBefore);
    });

    it('an agent reply to that customer is not sent, the agents are told why, and the failure is counted', async () => {
      const channel = w.chat.customerChannels()[0]!.id;
      w.chat.agentPost('alice', channel, 'Yes, in blue and green');
      await eventually(async () => (await w.relais.count('outbox', `state = 'failed' and error_code = 'decrypt_failed'`)) === 1, 'reply failed loudly');
      await eventually(async () => w.chat.posts(channel).some((p) => p.text.includes('(decrypt_failed)')), 'agents notified');
      expect(w.graph.fake.messagesSent()).toEqual([]);
      expect((await w.relais.runtime.metrics.decryptFailures.get()).values).toEqual([{ labels: { table: 'customers' }, value: 2 }]);
    });
  });
});
