import { benchInbound } from './inbound.js';
import { benchOutbound } from './outbound.js';
import { benchSearch } from './search.js';
import { BENCH_PG_BASE, freshBenchDatabase } from './fresh-db.js';

/**
 * `npm run bench -- <name> [--seconds N] [--rate N]`. Figures, not tests: each benchmark measures
 * a baseline in the same run and prints a JSON line last so runs can be compared by machine.
 */
const [name, ...rest] = process.argv.slice(2);
const arg = (flag: string, dflt: number) => { const i = rest.indexOf(flag); return i >= 0 ? Number(rest[i + 1]) : dflt; };
const pgBase = BENCH_PG_BASE;

async function pgReachable(url: string): Promise<boolean> {
  const { default: postgres } = await import('postgres');
  const c = postgres(url, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try { await c`select 1`; return true; } catch { return false; } finally { await c.end({ timeout: 1 }); }
}


switch (name) {
  case 'inbound':
    {
    const i = rest.indexOf('--db');
    const db = i >= 0 ? rest[i + 1] : undefined;
    if (db !== undefined && db !== 'pglite' && db !== 'postgres') { console.error('--db takes pglite or postgres'); process.exitCode = 2; break; }
    await benchInbound({ seconds: arg('--seconds', 10), rate: arg('--rate', 1000), db, pgBase: (await pgReachable(pgBase)) ? pgBase : undefined });
  }
    break;
  case 'outbound': {
    const pg = (await pgReachable(pgBase)) ? pgBase : undefined;
    await benchOutbound({ customers: arg('--customers', 400), postsPerCustomer: arg('--posts', 10), freshDb: pg ? () => freshBenchDatabase('outbound', pg) : undefined });
    break;
  }
  case 'search': {
    const base = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? pgBase;
    if (!(await pgReachable(base))) { console.error(`search needs PostgreSQL: none at ${base} (set DATABASE_URL)`); process.exitCode = 2; break; }
    await benchSearch({ messages: arg('--messages', 1_000_000), customers: arg('--customers', 10_000), queries: arg('--queries', 200), explain: rest.includes('--explain'), freshDb: () => freshBenchDatabase('search', base) });
    break;
  }
  default:
    console.error('Usage: npm run bench -- inbound [--seconds 10] [--rate 1000] [--db pglite|postgres] | outbound [--customers 400] [--posts 10] | search [--messages 1000000] [--customers 10000] [--queries 200] [--explain]');
    process.exitCode = 2;
}
process.exit();
