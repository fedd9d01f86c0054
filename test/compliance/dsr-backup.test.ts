/**
 * The backup case of erasure: rows of a person copied before the erasure (as a database backup
 * holds them: customer, data key, messages, search postings) and put back afterwards stay
 * unreadable — the key store refuses a data key whose customer is on the erasure deny list even
 * though its row is back and the master key still unwraps it — and neither export nor search ever
 * returns them; `reapplyErasures` deletes them again, and the person can write again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blindIndex } from '../../src/archive/blind-index.js';
import { CustomerKeyStore } from '../../src/archive/customer-keys.js';
import { openJson } from '../../src/archive/envelope.js';
import { verifyAuditChain } from '../../src/compliance/audit.js';
import { eraseCustomer, reapplyErasures } from '../../src/compliance/erase.js';
import { exportCustomer } from '../../src/compliance/export.js';
import { searchMessages } from '../../src/compliance/search.js';
import { buildMessageWebhook } from '../fakes/graph-api.js';
import { startTestRelais, type TestRelais } from '../helpers/relais.js';
import { BUSINESS, cliDepsFor, type Person } from './dsr-world.js';

const ANA: Person = { waId: '33610000011', name: 'Ana' };
const BRUNO: Person = { waId: '33610000012', name: 'Bruno' };
const TABLES = ['customers', 'customer_keys', 'messages', 'message_tokens'] as const;

describe('erasure and a backup restored afterwards', () => {
  let r: TestRelais;
  let anaId = '';
  let anaKey: { wrapped: Uint8Array; kek: number } | undefined;

  const say = async (p: Person, body: string) => {
    const { payload } = buildMessageWebhook(BUSINESS, { waId: p.waId, name: p.name }, { type: 'text', body });
    expect((await r.postWebhook(JSON.stringify(payload))).status).toBe(200);
  };

  beforeAll(async () => {
    r = await startTestRelais({ platform: null, workers: false });
    await say(ANA, 'zanzibar parcel number one');
    await say(ANA, 'zanzibar second message');
    await say(BRUNO, 'zanzibar from bruno');
    const bidx = blindIndex(r.runtime.ring, 'phone', ANA.waId);
    anaId = String((await r.query(`select id::text as id from customers where phone_bidx = '${bidx}'`))[0]!.id);
    // The backup: copies of every row of Ana's that holds or unlocks her data.
    const scope: Record<(typeof TABLES)[number], string> = {
      customers: `id = '${anaId}'`, customer_keys: `customer_id = '${anaId}'`, messages: `customer_id = '${anaId}'`, message_tokens: `customer_id = '${anaId}'`,
    };
    for (const t of TABLES) await r.query(`create table backup_${t} as select * from ${t} where ${scope[t]}`);
    expect(await r.count('backup_messages')).toBe(2);
    expect(await r.count('backup_message_tokens')).toBeGreaterThan(0);

    const deps = await cliDepsFor(r);
    expect(await eraseCustomer(deps, `+${ANA.waId}`, { actor: 'cli:dpo' })).toEqual({ customers: 1, messagesDeleted: 2, chat: 'deleted' });
    for (const t of TABLES) expect(await r.count(t, t === 'customers' ? `id = '${anaId}'` : `customer_id = '${anaId}'`)).toBe(0);

    // The restore, in foreign-key order.
    for (const t of TABLES) await r.query(`insert into ${t} select * from backup_${t}`);
    const [k] = await r.query(`select kek_version, encode(wrapped, 'hex') as wrapped from customer_keys where customer_id = '${anaId}'`);
    anaKey = { wrapped: Buffer.from(String(k!.wrapped), 'hex'), kek: Number(k!.kek_version) };
  });
  afterAll(async () => { await r?.stop(); });

  it('the restored key still unwraps with the master key, yet the key store refuses it', async () => {
    // Without the deny list the restored rows would be readable: the master key was not trimmed.
    expect(() => r.runtime.ring.unwrapDataKey(anaKey!.wrapped, { customerId: anaId, dekVersion: 1 })).not.toThrow();
    const keys = new CustomerKeyStore(r.runtime.ring);
    await expect(keys.get(r.runtime.database.db, anaId, 1)).rejects.toMatchObject({ code: 'key_destroyed' });
    await expect(keys.current(r.runtime.database.db, anaId)).rejects.toMatchObject({ code: 'key_destroyed' });
    // …and nothing else of hers opens: a message needs that key.
    const [m] = await r.query(`select id::text as id from messages where customer_id = '${anaId}' limit 1`);
    expect(m).toBeDefined();
    const opening = keys.get(r.runtime.database.db, anaId, 1).then((dek) => openJson(dek, { table: 'messages', column: 'content_enc', rowId: String(m!.id), keyVersion: 1 }, new Uint8Array()));
    await expect(opening).rejects.toMatchObject({ code: 'key_destroyed' });
  });

  it('export and search never return the restored rows', async () => {
    const deps = await cliDepsFor(r);
    await expect(exportCustomer(deps, `+${ANA.waId}`, { actor: 'cli:dpo' })).rejects.toMatchObject({ code: 'not_found' });
    const hits = await searchMessages(deps, 'zanzibar', { actor: 'cli:dpo' });
    expect(hits.map((h) => h.customerId)).not.toContain(anaId);
    expect(hits).toHaveLength(1); // Bruno's
    expect(await searchMessages(deps, `+${ANA.waId}`, { actor: 'cli:dpo' })).toEqual([]);
    expect((await exportCustomer(deps, `+${BRUNO.waId}`, { actor: 'cli:dpo' })).messages).toBe(1);
  });

  it('reapplying the erasures deletes the restored rows, after which the person can write again', async () => {
    const deps = await cliDepsFor(r);
    expect(await reapplyErasures(deps, { actor: 'cli:dpo' })).toEqual({ customers: 1, messagesDeleted: 2, chatPending: 0 });
    for (const t of TABLES) expect(await r.count(t, t === 'customers' ? `id = '${anaId}'` : `customer_id = '${anaId}'`)).toBe(0);
    expect(await reapplyErasures(deps, { actor: 'cli:dpo' })).toEqual({ customers: 0, messagesDeleted: 0, chatPending: 0 });
    await say(ANA, 'back again');
    const bidx = blindIndex(r.runtime.ring, 'phone', ANA.waId);
    const rows = await r.query(`select id::text as id from customers where phone_bidx = '${bidx}'`);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.id).not.toBe(anaId);
    expect((await exportCustomer(deps, `+${ANA.waId}`, { actor: 'cli:dpo' })).messages).toBe(1);
    expect((await verifyAuditChain(deps.db, deps.ring)).ok).toBe(true);
  });
});
