import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAudit } from '../../src/compliance/audit.js';
import { searchMessages } from '../../src/compliance/search.js';
import { TOKEN_HASH_BITS } from '../../src/compliance/search-index.js';
import { startSearchWorld, type SearchWorld } from './search-world.js';

let w: SearchWorld;
const search = (q: string, opts: Partial<Parameters<typeof searchMessages>[2]> = {}) => searchMessages(w.deps, q, { actor: 'cli:tester', ...opts });
const ids = (r: { messageId: string }[]) => r.map((x) => x.messageId);

let order: { messageId: string; customerId: string };
let other: { messageId: string; customerId: string };
let reply: string;
let channel: string;

beforeAll(async () => {
  w = await startSearchWorld();
  order = await w.customerWrites('33612345678', 'Commande Nº 12345 — déjà livrée ?', { name: 'Zoé' });
  other = await w.customerWrites('33687654321', 'Ma commande 67890 n’est pas livrée');
  channel = await w.openChannel(order.customerId);
  reply = await w.agentReplies(channel, 'Votre COMMANDE 12345 est partie hier, désolé du retard');
});
afterAll(async () => { await w?.close(); });

describe('searchMessages', () => {
  it('finds accented, mixed-case text by folded words, in both directions, newest first', async () => {
    expect(ids(await search('commande 12345'))).toEqual([reply, order.messageId]);
    expect(ids(await search('DEJA'))).toEqual([order.messageId]);
    expect(ids(await search('livree'))).toEqual([other.messageId, order.messageId]);
    expect(ids(await search('Déjà LIVRÉE'))).toEqual([order.messageId]);
    expect(ids(await search('désolé'))).toEqual([reply]);
  });

  it('ANDs the words', async () => {
    expect(ids(await search('commande 67890'))).toEqual([other.messageId]);
    expect(ids(await search('commande'))).toEqual([reply, other.messageId, order.messageId]);
    expect(await search('12345 67890')).toEqual([]);
    expect(await search('livree nowhere')).toEqual([]);
  });

  it('returns who, when, a snippet and where to find it in the chat', async () => {
    const [r] = await search('deja');
    expect(r).toMatchObject({ messageId: order.messageId, customerId: order.customerId, direction: 'inbound', text: 'Commande Nº 12345 — déjà livrée ?' });
    expect(r!.at).toBeInstanceOf(Date);
    expect(r!.chat).toEqual({ channelId: channel, postId: null, link: expect.stringMatching(/^https:\/\/chat\.example\.com\/support\/channels\/wa-[a-z0-9]+$/) });
    await w.rows(`update messages set chat_post_id = 'p0st1d' where id = '${order.messageId}'`);
    expect((await search('deja'))[0]!.chat.link).toBe('https://chat.example.com/support/pl/p0st1d');
    const [out] = await search('retard');
    expect(out).toMatchObject({ messageId: reply, direction: 'outbound', chat: { channelId: channel, postId: expect.any(String) } });
  });

  it('cuts long messages to a snippet around the first match', async () => {
    const long = `${'blabla '.repeat(60)}le colis Zanzibar arrive ${'encore '.repeat(60)}`;
    const m = await w.customerWrites('33600000001', long);
    const [r] = await search('zanzibar');
    expect(r!.messageId).toBe(m.messageId);
    expect(r!.text.length).toBeLessThanOrEqual(162);
    expect(r!.text).toMatch(/^….*colis Zanzibar arrive.*…$/);
  });

  it('a query that is only a phone number lists that customer\'s conversation', async () => {
    expect(ids(await search('+33 6 12 34 56 78'))).toEqual([reply, order.messageId]);
    expect(ids(await search('0033612345678'))).toEqual([reply, order.messageId]);
    expect(await search('+33 6 00 00 00 99')).toEqual([]);
  });

  it('restricts to a customer, a phone number, a business number or visible channels', async () => {
    expect(ids(await search('commande', { customerId: order.customerId }))).toEqual([reply, order.messageId]);
    expect(ids(await search('commande', { phone: '+33687654321' }))).toEqual([other.messageId]);
    expect(await search('commande', { phoneNumberId: '99999999' })).toEqual([]);
    expect(ids(await search('commande', { phoneNumberId: '106540352242922' }))).toHaveLength(3);
    let asked: string[] = [];
    const visible = async (chs: string[]) => { asked = chs; return new Set<string>(); };
    expect(await search('commande', { visibleChannels: visible })).toEqual([]);
    expect(asked).toEqual([channel]);
    expect(ids(await search('commande', { visibleChannels: async () => new Set([channel]) }))).toEqual([reply, order.messageId]);
  });

  it('explains an empty or all-too-short query, and bad options', async () => {
    await expect(search('')).rejects.toMatchObject({ code: 'search_query_empty' });
    await expect(search('a b ! ?')).rejects.toMatchObject({ code: 'search_query_empty' });
    await expect(search(Array.from({ length: 17 }, (_, i) => `w${i}`).join(' '))).rejects.toMatchObject({ code: 'search_query_too_long' });
    await expect(search('commande', { limit: 0 })).rejects.toMatchObject({ code: 'invalid_argument' });
    await expect(search('commande', { customerId: "x' or 1=1" })).rejects.toMatchObject({ code: 'invalid_argument' });
  });

  it('honours the limit', async () => {
    expect(ids(await search('commande', { limit: 2 }))).toEqual([reply, other.messageId]);
  });

  it('audits every search with counts and scope, never the words', async () => {
    await search('Déjà LIVRÉE', { actor: 'chat:u1' });
    const [e] = await listAudit(w.database.db, { limit: 1 });
    expect(e).toMatchObject({ actor: 'chat:u1', action: 'search', target: null, details: { mode: 'words', tokens: 2, results: 1, scope: 'all', customers: [order.customerId] } });
    await search('commande', { customerId: other.customerId });
    const [s] = await listAudit(w.database.db, { limit: 1 });
    expect(s).toMatchObject({ target: other.customerId, details: { scope: 'customer', results: 1 } });
    const all = JSON.stringify(await listAudit(w.database.db, { limit: 1000 })).toLowerCase();
    for (const word of ['deja', 'déjà', 'livree', 'livrée', 'commande', '33612345678']) expect(all).not.toContain(word);
  });

  it('stores no word in clear: postings are truncated keyed hashes', async () => {
    const postings = [...await w.rows('select token from message_tokens'), ...await w.rows('select token from outbox_tokens')];
    expect(postings.length).toBeGreaterThan(10);
    for (const p of postings) {
      expect(Number.isInteger(p.token)).toBe(true);
      expect(p.token as number).toBeGreaterThanOrEqual(0);
      expect(p.token as number).toBeLessThan(2 ** TOKEN_HASH_BITS);
    }
    const dump = JSON.stringify([
      ...await w.rows('select * from message_tokens'), ...await w.rows('select * from outbox_tokens'),
      ...await w.rows('select id, customer_id, type, content_enc::text, wamid_bidx from messages'),
      ...await w.rows('select id, kind, content_enc::text from outbox'),
    ]).toLowerCase();
    for (const word of ['zanzibar', 'livree', 'livrée', 'commande', 'desole']) expect(dump).not.toContain(word);
  });

  it('never returns purged or erased messages', async () => {
    const gone = await w.customerWrites('33611111111', 'purgeable pamplemousse');
    const erased = await w.customerWrites('33622222222', 'erasable pamplemousse');
    expect(ids(await search('pamplemousse'))).toEqual([erased.messageId, gone.messageId]);
    // Retention's marker alone hides a row, even if its postings were still there.
    await w.rows(`update messages set content_purged_at = now() where id = '${gone.messageId}'`);
    // Crypto-shredding: without the data key nothing decrypts, so nothing is returned.
    await w.rows(`delete from customer_keys where customer_id = '${erased.customerId}'`);
    w.deps.keys.forget(erased.customerId);
    expect(await search('pamplemousse')).toEqual([]);
    await w.rows(`delete from customers where id = '${erased.customerId}'`);
    expect(await w.rows(`select 1 from message_tokens where message_id = '${erased.messageId}'`)).toEqual([]);
  });
});

describe('searchMessages and unreadable rows', () => {
  it('counts and reports a row that does not decrypt, and still answers with the others', async () => {
    const { createMetrics } = await import('../../src/metrics.js');
    const metrics = createMetrics();
    const a = await w.customerWrites('33600000077', 'colis Tombouctou perdu');
    const b = await w.customerWrites('33600000078', 'colis Tombouctou retrouvé');
    // Someone with database access swaps one sealed content for another row's.
    await w.rows(`update messages set content_enc = (select content_enc from messages where id = '${b.messageId}') where id = '${a.messageId}'`);
    const r = await searchMessages({ ...w.deps, metrics }, 'tombouctou', { actor: 'cli:tester' });
    expect(ids(r)).toEqual([b.messageId]);
    const counted = (await metrics.decryptFailures.get()).values.find((v) => v.labels.table === 'messages');
    expect(counted?.value).toBe(1);
  });
});
