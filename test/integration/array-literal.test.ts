import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { byteaArray, intArray, textArray } from '../../src/db/array-literal.js';
import { openTestArchive } from '../helpers/database.js';

// The array literals carry webhook text into SQL on the hot insert path: whatever the text, the
// database must read back exactly the values given (never syntax), on PGlite and PostgreSQL.
describe('array literals as one parameter', () => {
  let archive: Awaited<ReturnType<typeof openTestArchive>>;
  beforeAll(async () => { archive = await openTestArchive(); });
  afterAll(async () => { await archive?.close(); });

  const rowsOf = <T>(r: unknown): T[] => (Array.isArray(r) ? r : (r as { rows: T[] }).rows);

  it('round-trips hostile text, NULLs and the word NULL', async () => {
    const values = ['plain', '', 'NULL', null, 'a,b', '{x}', '"quoted"', 'back\\slash', '\\"', 'ünïcødé 🚀', ' spaced ', 'line\nbreak', "it's"];
    const r = await archive.database.db.execute(sql`select v, ord from unnest(${textArray(values)}::text[]) with ordinality as t(v, ord) order by ord`);
    expect(rowsOf<{ v: string | null }>(r).map((x) => x.v)).toEqual(values);
  });

  it('round-trips bytes and integers', async () => {
    const bytes = [Uint8Array.from([0, 1, 2, 255]), new Uint8Array(0), null, Uint8Array.from(Buffer.from('\\x"{,}'))];
    const r = await archive.database.db.execute(sql`select encode(b, 'hex') as h from unnest(${byteaArray(bytes)}::bytea[]) with ordinality as t(b, ord) order by ord`);
    expect(rowsOf<{ h: string | null }>(r).map((x) => x.h)).toEqual(bytes.map((b) => (b ? Buffer.from(b).toString('hex') : null)));
    const ints = [0, -1, 2147483647, -2147483648, 42];
    const i = await archive.database.db.execute(sql`select n from unnest(${intArray(ints)}::int[]) with ordinality as t(n, ord) order by ord`);
    expect(rowsOf<{ n: number }>(i).map((x) => Number(x.n))).toEqual(ints);
  });
});
