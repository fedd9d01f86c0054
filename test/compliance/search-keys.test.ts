import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustomerKeyStore } from '../../src/archive/customer-keys.js';
import { startSearchWorld, type SearchWorld } from './search-world.js';

let w: SearchWorld;
beforeAll(async () => { w = await startSearchWorld(); });
afterAll(async () => { await w?.close(); });

describe('CustomerKeyStore.getMany (a page of search results in one query)', () => {
  it('returns the same keys as get, cached or not, and leaves out keys that cannot be had, reporting each once', async () => {
    const a = await w.customerWrites('33600000011', 'un');
    const b = await w.customerWrites('33600000012', 'deux');
    const c = await w.customerWrites('33600000013', 'trois');
    const d = await w.customerWrites('33600000014', 'quatre');
    const errors: unknown[] = [];
    const failures: string[] = [];
    const store = new CustomerKeyStore(w.ring, {
      watch: { logger: { error: (o: unknown) => errors.push(o) } as never, metrics: { decryptFailures: { inc: (l: { table: string }) => failures.push(l.table) } } as never },
    });
    const expected = await new CustomerKeyStore(w.ring).get(w.database.db, a.customerId, 1);
    await store.get(w.database.db, b.customerId, 1); // cached before the call
    await w.rows(`delete from customer_keys where customer_id = '${c.customerId}'`);
    await w.database.db.execute(sql`insert into erasures (customer_id, phone_number_id, chat_policy, state, requested_by) values (${d.customerId}, '1', 'keep', 'shredded', 'test')`);
    const keys = await store.getMany(w.database.db, [a, b, c, d].map((x) => ({ customerId: x.customerId, version: 1 })));
    expect([...keys.keys()].sort()).toEqual([`${a.customerId}:1`, `${b.customerId}:1`].sort());
    expect(keys.get(`${a.customerId}:1`)).toEqual(expected);
    expect(failures).toEqual(['customer_keys', 'customer_keys']);
    expect(errors).toHaveLength(2);
    expect(JSON.stringify(errors)).toContain(c.customerId);
  });
});
