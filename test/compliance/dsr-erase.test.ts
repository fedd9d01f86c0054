/**
 * `eraseCustomer` and legal hold on each chat platform, after real conversations: every row of
 * the person goes (every table is checked) and nothing of anyone else; the chat channel is
 * deleted, archived or kept per policy in the chat fake; the audit chain verifies; a second run
 * changes nothing; a run interrupted between the shredding and the chat step is finished by the
 * next one; a hold blocks erasure until it is lifted; and the person writing again afterwards
 * becomes a new customer in a new channel, on the running bridge, at the first attempt.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blindIndex } from '../../src/archive/blind-index.js';
import { listAudit, verifyAuditChain } from '../../src/compliance/audit.js';
import { eraseCustomer } from '../../src/compliance/erase.js';
import { exportCustomer } from '../../src/compliance/export.js';
import { isOnHold, setLegalHold } from '../../src/compliance/hold.js';
import { CHAT_PLATFORMS } from '../helpers/chat-world.js';
import { eventually } from '../helpers/relais.js';
import type { World } from '../helpers/world.js';
import { agentAnswers, allRelayed, channelOf, cliDeps, OTHER_BUSINESS, say, startDsrWorld, status, type Person } from './dsr-world.js';

const person = (n: number, name: string): Person => ({ waId: `3361000000${n}`, name });
const ANA = person(1, 'Ana');
const BRUNO = person(2, 'Bruno');
const CARLA = person(3, 'Carla');
const DORA = person(4, 'Dora');
const EMIL = person(5, 'Emil');
const FANNY = person(6, 'Fanny');
const GUS = person(7, 'Gus');
const HANA = person(8, 'Hana');

/** Tables holding rows of one customer, and how a row points at it. */
const PER_CUSTOMER: Record<string, (ids: string) => string> = {
  customers: (ids) => `id in (${ids})`,
  customer_keys: (ids) => `customer_id in (${ids})`,
  messages: (ids) => `customer_id in (${ids})`,
  media: (ids) => `message_id in (select id from messages where customer_id in (${ids}))`,
  outbox: (ids) => `customer_id in (${ids})`,
  message_tokens: (ids) => `customer_id in (${ids})`,
  outbox_tokens: (ids) => `customer_id in (${ids})`,
  legal_holds: (ids) => `customer_id in (${ids})`,
};

describe.each(CHAT_PLATFORMS)('data-subject erasure on %s', (platform) => {
  let w: World;
  const photo = new Uint8Array(3000).map((_, i) => i % 199);

  /** A conversation on both business numbers: text, a photo, an agent reply with statuses. */
  async function converse(p: Person): Promise<{ ids: string[]; channels: string[]; wamids: string[] }> {
    const mediaId = w.graph.fake.addMedia({ bytes: photo, mimeType: 'image/jpeg' });
    await say(w, p, { type: 'text', body: `hello from ${p.name}` });
    await say(w, p, { type: 'image', mediaId, caption: 'photo' });
    await say(w, p, { type: 'text', body: 'second line' }, { business: OTHER_BUSINESS });
    await allRelayed(w);
    const sent = await agentAnswers(w, await channelOf(w, p), `answer to ${p.name}`);
    await status(w, p, sent.wamid, 'delivered');
    const bidx = blindIndex(w.relais.runtime.ring, 'wamid', sent.wamid);
    await eventually(async () => (await w.relais.count('outbox', `wamid_bidx = '${bidx}' and status = 'delivered'`)) === 1, 'status applied');
    const rows = await w.relais.query(`select id::text as id, chat_channel_id from customers where phone_bidx = '${blindIndex(w.relais.runtime.ring, 'phone', p.waId)}' order by created_at`);
    return { ids: rows.map((r) => String(r.id)), channels: rows.map((r) => String(r.chat_channel_id)), wamids: [sent.wamid] };
  }

  /** Rows left of these customers, per table (plus the statuses of their wamids). */
  async function leftovers(ids: string[], wamids: string[]): Promise<Record<string, number>> {
    const list = ids.map((i) => `'${i}'`).join(',');
    const out: Record<string, number> = {};
    for (const [table, where] of Object.entries(PER_CUSTOMER)) out[table] = await w.relais.count(table, where(list));
    const bidxs = wamids.map((x) => `'${blindIndex(w.relais.runtime.ring, 'wamid', x)}'`).join(',');
    out.status_events = await w.relais.count('status_events', `wamid_bidx in (${bidxs})`);
    const frames = await w.relais.count('media_frames', `media_id not in (select id from media)`);
    out.orphan_media_frames = frames;
    return out;
  }
  const none = (): Record<string, number> => ({ ...Object.fromEntries(Object.keys(PER_CUSTOMER).map((t) => [t, 0])), status_events: 0, orphan_media_frames: 0 });

  beforeAll(async () => { w = await startDsrWorld(platform); });
  afterAll(async () => { await w?.stop(); });

  it('deletes every row of the person and the chat channels, and nothing of anyone else', async () => {
    const ana = await converse(ANA);
    const bruno = await converse(BRUNO);
    expect(ana.ids).toHaveLength(2);
    const brunoBefore = await leftovers(bruno.ids, bruno.wamids);
    expect(brunoBefore.messages).toBe(3);
    expect(brunoBefore.media).toBe(1);
    expect(brunoBefore.status_events).toBe(1);
    const brunoPosts = w.chat.posts(bruno.channels[0]!).length;

    w.chat.forbidChannelDeletion(false);
    const deps = await cliDeps(w);
    const r = await eraseCustomer(deps, '+33 6 10 00 00 01', { actor: 'cli:dpo' });
    expect(r).toEqual({ customers: 2, messagesDeleted: 4, chat: 'deleted' });

    expect(await leftovers(ana.ids, ana.wamids)).toEqual(none());
    const channelIds = w.chat.customerChannels().map((c) => c.id);
    for (const c of ana.channels) expect(channelIds).not.toContain(c);
    // Bruno untouched, and still readable.
    expect(await leftovers(bruno.ids, bruno.wamids)).toEqual(brunoBefore);
    expect(w.chat.posts(bruno.channels[0]!)).toHaveLength(brunoPosts);
    expect((await exportCustomer(deps, `+${BRUNO.waId}`, { actor: 'cli:dpo' })).messages).toBe(4);
    // The proof: one erasures row per conversation, complete; audited; the chain verifies.
    const proof = await w.relais.query(`select customer_id::text as id, state, chat_outcome, chat_policy, messages_deleted, requested_by from erasures where customer_id in (${ana.ids.map((i) => `'${i}'`).join(',')}) order by requested_at`);
    expect(proof.map((p) => [p.state, p.chat_outcome, p.chat_policy, p.requested_by])).toEqual([
      ['complete', 'deleted', 'delete', 'cli:dpo'], ['complete', 'deleted', 'delete', 'cli:dpo'],
    ]);
    const audit = (await listAudit(deps.db, { limit: 100 })).filter((e) => ana.ids.includes(e.target ?? ''));
    expect(audit.map((e) => e.action).sort()).toEqual(['erase', 'erase', 'erase.chat', 'erase.chat']);
    expect(JSON.stringify(audit)).not.toContain(ANA.waId);
    expect((await verifyAuditChain(deps.db, deps.ring)).ok).toBe(true);
    await expect(exportCustomer(deps, `+${ANA.waId}`, { actor: 'cli:dpo' })).rejects.toMatchObject({ code: 'not_found' });
    // Logs name conversations by id only; each audit append is logged (the SIEM's copy of the chain head).
    expect(deps.logs.text()).not.toContain(ANA.waId);
    expect(deps.logs.text()).toContain('audit entry appended');
    await deps.platform?.close();
  });

  it('is idempotent: a second run changes nothing and says the chat side is done', async () => {
    const deps = await cliDeps(w);
    const entries = (await listAudit(deps.db, { limit: 1000 })).length;
    expect(await eraseCustomer(deps, `+${ANA.waId}`, { actor: 'cli:dpo' })).toEqual({ customers: 0, messagesDeleted: 0, chat: 'deleted' });
    expect((await listAudit(deps.db, { limit: 1000 })).length).toBe(entries);
    await expect(eraseCustomer(deps, '+33 6 99 99 99 99', { actor: 'cli:dpo' })).rejects.toMatchObject({ code: 'not_found' });
    await deps.platform?.close();
  });

  it('lets the person write again: a new customer, a new channel, relayed at the first attempt', async () => {
    await say(w, ANA, { type: 'text', body: 'me again after erasure' });
    await allRelayed(w);
    const fresh = await w.relais.query(`select id::text as id from customers where phone_bidx = '${blindIndex(w.relais.runtime.ring, 'phone', ANA.waId)}'`);
    expect(fresh).toHaveLength(1);
    const channel = await channelOf(w, ANA);
    expect(w.chat.posts(channel).filter((p) => p.byBot).map((p) => p.text).join('\n')).toContain('me again after erasure');
    expect(w.chat.posts(channel).some((p) => p.text.includes('hello from Ana'))).toBe(false);
  });

  it('finishes the chat step on the next run when the chat server failed in between', async () => {
    const carla = await converse(CARLA);
    w.chat.forbidChannelDeletion(false);
    const deps = await cliDeps(w);
    w.chat.failNextChannelDeletion();
    const first = await eraseCustomer(deps, `+${CARLA.waId}`, { actor: 'cli:dpo' });
    expect(first).toMatchObject({ customers: 2, messagesDeleted: 4, chat: 'pending' });
    expect(first.chatDetail).toBeTruthy();
    expect(await leftovers(carla.ids, carla.wamids)).toEqual(none()); // shredded anyway
    expect((await w.relais.query(`select state from erasures where customer_id in ('${carla.ids.join("','")}')`)).map((r) => r.state).sort()).toEqual(['complete', 'shredded']);
    const second = await eraseCustomer(deps, `+${CARLA.waId}`, { actor: 'cli:dpo' });
    expect(second).toEqual({ customers: 0, messagesDeleted: 0, chat: 'deleted' });
    for (const c of carla.channels) expect(w.chat.customerChannels().map((x) => x.id)).not.toContain(c);
    await deps.platform?.close();
  });

  it('finishes after a crash between the two steps, found by the phone index alone', async () => {
    const dora = await converse(DORA);
    const deps = await cliDeps(w);
    await expect(eraseCustomer(deps, `+${DORA.waId}`, { actor: 'cli:dpo', afterShred: async () => { throw new Error('killed'); } })).rejects.toThrow('killed');
    expect(await leftovers(dora.ids, dora.wamids)).toEqual(none());
    expect(w.chat.customerChannels().filter((c) => dora.channels.includes(c.id) && !c.archived)).toHaveLength(2);
    expect(await eraseCustomer(deps, `+${DORA.waId}`, { actor: 'cli:dpo' })).toEqual({ customers: 0, messagesDeleted: 0, chat: 'deleted' });
    expect(w.chat.customerChannels().filter((c) => dora.channels.includes(c.id))).toEqual([]);
    await deps.platform?.close();
  });

  it('archives (and renames) the channel under the archive policy; a returning person gets a new one', async () => {
    const emil = await converse(EMIL);
    const deps = await cliDeps(w, { policy: 'archive' });
    expect(await eraseCustomer(deps, `+${EMIL.waId}`, { actor: 'cli:dpo' })).toMatchObject({ customers: 2, chat: 'archived' });
    const archived = w.chat.customerChannels().filter((c) => emil.channels.includes(c.id));
    expect(archived.map((c) => c.archived)).toEqual([true, true]);
    for (const c of archived) expect(c.name).toMatch(/^wa-[a-z0-9]+-r[0-9a-z]+$/);
    await say(w, EMIL, { type: 'text', body: 'Emil is back' });
    await allRelayed(w);
    const channel = await channelOf(w, EMIL);
    expect(emil.channels).not.toContain(channel);
    expect(w.chat.customerChannels().filter((c) => emil.channels.includes(c.id)).every((c) => c.archived)).toBe(true);
    await deps.platform?.close();
  });

  it('archives instead of deleting when the server forbids deletion, and says how to allow it', async () => {
    const fanny = await converse(FANNY);
    w.chat.forbidChannelDeletion(true);
    const deps = await cliDeps(w);
    const r = await eraseCustomer(deps, `+${FANNY.waId}`, { actor: 'cli:dpo' });
    expect(r).toMatchObject({ customers: 2, chat: 'archived' });
    expect(r.chatDetail).toMatch(platform === 'mattermost' ? /EnableAPIChannelDeletion/ : /delete-p/);
    expect(w.chat.customerChannels().filter((c) => fanny.channels.includes(c.id)).map((c) => c.archived)).toEqual([true, true]);
    expect((await w.relais.query(`select chat_outcome from erasures where customer_id = '${fanny.ids[0]}'`))[0]!.chat_outcome).toBe('archived');
    w.chat.forbidChannelDeletion(false);
    await deps.platform?.close();
  });

  it('keeps the channel under the keep policy', async () => {
    const gus = await converse(GUS);
    const deps = await cliDeps(w, { policy: 'keep', platform: null });
    expect(await eraseCustomer(deps, `+${GUS.waId}`, { actor: 'cli:dpo' })).toMatchObject({ customers: 2, chat: 'kept' });
    expect(w.chat.customerChannels().filter((c) => gus.channels.includes(c.id)).map((c) => c.archived)).toEqual([false, false]);
    expect(await leftovers(gus.ids, gus.wamids)).toEqual(none());
  });

  it('refuses to erase a person on legal hold, clearly, until the hold is lifted', async () => {
    const hana = await converse(HANA);
    const deps = await cliDeps(w);
    expect(await setLegalHold(deps, `+${HANA.waId}`, true, { actor: 'cli:dpo', reason: 'case 2026-17' })).toEqual({ customers: 2 });
    expect(await isOnHold(deps.db, hana.ids[0]!)).toBe(true);
    const refused = await eraseCustomer(deps, `+${HANA.waId}`, { actor: 'cli:dpo' }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'legal_hold', retryable: false });
    expect((refused as Error).message).toMatch(/legal hold.*relais hold --customer <number> off/);
    expect((await leftovers(hana.ids, hana.wamids)).messages).toBe(3);
    expect(w.chat.customerChannels().filter((c) => hana.channels.includes(c.id))).toHaveLength(2);
    // Export shows the hold; holding again is harmless.
    expect((await exportCustomer(deps, `+${HANA.waId}`, { actor: 'cli:dpo' })).customers).toBe(2);
    expect(await setLegalHold(deps, `+${HANA.waId}`, true, { actor: 'cli:dpo' })).toEqual({ customers: 2 });

    expect(await setLegalHold(deps, `+${HANA.waId}`, false, { actor: 'cli:dpo' })).toEqual({ customers: 2 });
    expect(await isOnHold(deps.db, hana.ids[0]!)).toBe(false);
    expect(await eraseCustomer(deps, `+${HANA.waId}`, { actor: 'cli:dpo' })).toMatchObject({ customers: 2, chat: 'deleted' });
    const actions = (await listAudit(deps.db, { limit: 1000 })).filter((e) => e.target?.includes(hana.ids[0]!)).map((e) => e.action).reverse();
    expect(actions).toEqual(['hold.on', 'export', 'hold.on', 'hold.off', 'erase', 'erase.chat']);
    const holdEntry = (await listAudit(deps.db, { limit: 1000 })).find((e) => e.action === 'hold.on' && e.target?.includes(hana.ids[0]!));
    expect(JSON.stringify(holdEntry)).not.toContain('2026-17');
    expect((await verifyAuditChain(deps.db, deps.ring)).ok).toBe(true);
    await deps.platform?.close();
  });
});
