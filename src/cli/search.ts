import { parseArgs } from 'node:util';
import { RelaisError } from '../core/errors.js';
import { parseQuery, searchMessages, MAX_SEARCH_LIMIT, type SearchOptions } from '../compliance/search.js';
import { reindexSearch, reindexStatus } from '../compliance/search-reindex.js';
import { runAdminCommand, usage } from './admin-command.js';

const USAGE = `relais search "<words>" [--customer <+phone|customer id>] [--number <phone_number_id>] [--limit N] [--json]
                 messages holding every word (accents and case ignored), newest first; a query
                 that is only a phone number (+33 6…) lists that customer's conversation
relais search reindex [--restart] [--batch N]
                 build the search index of stored messages (resumes where a stopped run left off)
relais search reindex --status   show the index build's progress`;

/** `relais search …` and `relais search reindex`. Exit 0 done, 1 failed, 2 usage. */
export async function runSearch(env: NodeJS.ProcessEnv, args: string[]): Promise<number> {
  let values: { customer?: string; number?: string; limit?: string; json?: boolean; restart?: boolean; batch?: string; status?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args, allowPositionals: true,
      options: {
        customer: { type: 'string' }, number: { type: 'string' }, limit: { type: 'string', default: '20' }, json: { type: 'boolean', default: false },
        restart: { type: 'boolean', default: false }, batch: { type: 'string', default: '500' }, status: { type: 'boolean', default: false },
      },
    }));
  } catch (err) {
    console.error(`relais: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  // `relais search -- reindex` searches for the word.
  if (positionals.length === 1 && positionals[0] === 'reindex' && args[0] === 'reindex') return runReindex(env, values);
  if (positionals.length === 0) {
    console.error(USAGE);
    return 2;
  }
  const query = positionals.join(' ');
  try {
    parseQuery(query);
  } catch (err) {
    if (!(err instanceof RelaisError)) throw err;
    console.error(`relais: ${err.message}`);
    return 2;
  }
  return runAdminCommand(env, {}, async (ctx) => {
    const limit = Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_SEARCH_LIMIT) throw usage(`--limit must be an integer from 1 to ${MAX_SEARCH_LIMIT}`);
    const opts: SearchOptions = { actor: ctx.actor, limit, phoneNumberId: values.number };
    if (values.customer !== undefined) {
      if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(values.customer)) opts.customerId = values.customer;
      else opts.phone = values.customer;
    }
    const results = await searchMessages({ db: ctx.database.db, ring: ctx.ring, keys: ctx.keys, config: ctx.config, logger: ctx.logger }, query, opts);
    if (values.json) {
      console.log(JSON.stringify(results));
      return 0;
    }
    for (const r of results) {
      console.log(`${r.at.toISOString()}  ${r.direction === 'inbound' ? 'customer' : 'agent   '}  ${r.customerId}  ${r.text}`);
      if (r.chat.link) console.log(`  ${r.chat.link}`);
    }
    console.error(results.length === 0 ? 'no message found' : `${results.length} message(s)${results.length === limit ? ` (the newest ${limit}; --limit for more)` : ''}`);
    return 0;
  });
}

async function runReindex(env: NodeJS.ProcessEnv, values: { restart?: boolean; batch?: string; status?: boolean }): Promise<number> {
  return runAdminCommand(env, {}, async (ctx) => {
    if (values.status) {
      const s = await reindexStatus(ctx.database.db);
      console.log(s ? JSON.stringify(s) : 'no search index build has run yet');
      return 0;
    }
    const batchSize = Number(values.batch);
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) throw usage('--batch must be an integer from 1 to 10000');
    const started = Date.now();
    let last = 0;
    const s = await reindexSearch({ db: ctx.database.db, ring: ctx.ring, keys: ctx.keys, config: ctx.config, logger: ctx.logger }, {
      actor: ctx.actor, batchSize, restart: values.restart,
      onBatch: (p) => {
        if (Date.now() - last < 5000 && !p.done) return;
        last = Date.now();
        console.error(`${p.phase}: ${p.rows} rows, ${p.postings} postings, ${p.skipped} skipped`);
      },
    });
    if (s.alreadyDone) console.log(`search index already built (${s.format}: ${s.rows} rows); --restart rebuilds it`);
    else console.log(`search index built: ${s.rows} rows, ${s.postings} postings, ${s.skipped} rows skipped (not decryptable) in ${Math.round((Date.now() - started) / 1000)} s`);
    return 0;
  });
}
