import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAudit } from '../../src/compliance/audit.js';
import { searchMessages } from '../../src/compliance/search.js';
import { hashTokens } from '../../src/compliance/search-index.js';
import { reindexSearch, reindexStatus } from '../../src/compliance/search-reindex.js';
import { startSearchWorld, type SearchWorld } from './search-world.js';

let w: SearchWorld;
const texts = [
  'Bonjour, où en est ma commande 4242 ?', 'Merci beaucoup !', 'Le colis est arrivé abîmé', 'Je voudrais un remboursement',
  'Commande 4242 reçue, merci', 'Photo du colis jointe', 'Quel est le délai de livraison ?', 'Avez-vous reçu ma photo ?',
];
const messageIds: string[] = [];
let replyId: string;

const postings = async () => (await w.rows(`select token::text || ':' || message_id as p from message_tokens union all select token::text || ':' || outbox_id from outbox_tokens order by 1`)).map((r) => String(r.p));

beforeAll(async () => {
  w = await startSearchWorld();
  for (const [i, t] of texts.entries()) messageIds.push((await w.customerWrites(`3361000000${i % 3}`, t)).messageId);
  const first = await w.rows(`select customer_id from messages where id = '${messageIds[0]}'`);
  const channel = await w.openChannel(String(first[0]!.customer_id));
  replyId = await w.agentReplies(channel, 'Votre commande 4242 part demain');
});
afterAll(async () => { await w?.close(); });

describe('relais search reindex', () => {
  it('backfills an archive stored without postings, batch by batch, and audits the run', async () => {
    const live = await postings();
    await w.rows('delete from message_tokens');
    await w.rows('delete from outbox_tokens');
    expect(await searchMessages(w.deps, 'commande 4242', { actor: 'cli:t' })).toEqual([]);
    const batches: number[] = [];
    const done = await reindexSearch(w.deps, { actor: 'cli:ops', batchSize: 3, onBatch: (s) => batches.push(s.rows) });
    expect(done).toMatchObject({ done: true, alreadyDone: false, rows: texts.length + 1, skipped: 0, format: 't1-b20' });
    expect(batches.slice(0, 3)).toEqual([3, 6, 8]);
    expect(await postings()).toEqual(live);
    expect((await searchMessages(w.deps, 'commande 4242', { actor: 'cli:t' })).map((r) => r.messageId)).toEqual([replyId, messageIds[4], messageIds[0]]);
    const audit = (await listAudit(w.database.db, { limit: 5 })).find((e) => e.action === 'search.reindex');
    expect(audit).toMatchObject({ actor: 'cli:ops', details: { rows: texts.length + 1, postings: live.length, skipped: 0 } });
    expect(await reindexSearch(w.deps, { actor: 'cli:ops' })).toMatchObject({ alreadyDone: true });
  });

  it('resumes after a stop where it left off', async () => {
    const live = await postings();
    await w.rows('delete from message_tokens');
    let calls = 0;
    await expect(reindexSearch(w.deps, { actor: 'cli:ops', batchSize: 2, restart: true, onBatch: () => { if (++calls === 2) throw new Error('stopped'); } })).rejects.toThrow('stopped');
    expect(await reindexStatus(w.database.db)).toMatchObject({ phase: 'messages', rows: 4, done: false });
    const seen: number[] = [];
    const done = await reindexSearch(w.deps, { actor: 'cli:ops', batchSize: 2, onBatch: (s) => seen.push(s.rows) });
    expect(seen[0]).toBe(6);
    expect(done).toMatchObject({ done: true, rows: texts.length + 1 });
    expect(await postings()).toEqual(live);
  });

  it('filters out hash collisions after decryption (index forced to 2 bits: 4 buckets)', async () => {
    const tiny = { bits: 2 };
    const done = await reindexSearch(w.deps, { actor: 'cli:ops', hashing: tiny });
    expect(done).toMatchObject({ format: 't1-b2', done: true, rows: texts.length + 1 });
    const stored = (await w.rows('select distinct token from message_tokens')).map((r) => Number(r.token));
    expect(stored.every((t) => t >= 0 && t < 4)).toBe(true);
    // "photo" shares its bucket with many other words: most rows holding the bucket do not say "photo".
    const [bucket] = hashTokens(w.ring, ['photo'], tiny);
    const holders = await w.rows(`select distinct message_id from message_tokens where token = ${bucket}`);
    const results = await searchMessages(w.deps, 'photo', { actor: 'cli:t', hashing: tiny });
    expect(results.map((r) => r.messageId)).toEqual([messageIds[7], messageIds[5]]);
    expect(holders.length).toBeGreaterThan(results.length);
    expect((await searchMessages(w.deps, 'colis abime', { actor: 'cli:t', hashing: tiny })).map((r) => r.messageId)).toEqual([messageIds[2]]);
  });
});
