import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAudit } from '../../src/compliance/audit.js';
import { runRetention } from '../../src/compliance/retention.js';
import { loadConfig } from '../../src/config/load.js';
import { QUEUES } from '../../src/queue/boss.js';
import { CHAT_PLATFORMS, type WorldPost } from '../helpers/chat-world.js';
import { eventually } from '../helpers/relais.js';
import { startWorld, type World } from '../helpers/world.js';

const NUMBER = '106540352242922';
const DAY = 86_400_000;

function webhook(waId: string, name: string, wamid: string, at: Date, body: Record<string, unknown>): string {
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [{ id: 'WABA', changes: [{ field: 'messages', value: {
      messaging_product: 'whatsapp', metadata: { display_phone_number: '15550100001', phone_number_id: NUMBER },
      contacts: [{ profile: { name }, wa_id: waId }],
      messages: [{ from: waId, id: wamid, timestamp: String(Math.floor(at.getTime() / 1000)), ...body }],
    } }] }],
  });
}

describe.each(CHAT_PLATFORMS)('retention prunes the chat posts on %s (RETENTION_PRUNE_CHAT)', (platform) => {
  let w: World;
  const old = new Date(Date.now() - 40 * DAY);
  const botPosts = (channelId: string): WorldPost[] => w.chat.posts(channelId).filter((p) => p.byBot && p.relaisId);

  beforeAll(async () => {
    w = await startWorld({ platform, listener: false, env: { RETENTION_DAYS: '30', RETENTION_PRUNE_CHAT: 'true' } });
    const doc = w.graph.fake.addMedia({ bytes: new TextEncoder().encode('%PDF-1.4 contrat'), mimeType: 'application/pdf', filename: 'contrat.pdf' });
    // Xavier wrote 40 days ago (a text and a document) and never again; Yasmine wrote 40 days ago and today.
    const sent = [
      webhook('33610000001', 'Xavier', 'wamid.X1', old, { type: 'text', text: { body: 'mon numéro client est 4471' } }),
      webhook('33610000001', 'Xavier', 'wamid.X2', old, { type: 'document', document: { id: doc, mime_type: 'application/pdf', filename: 'contrat.pdf' } }),
      webhook('33610000002', 'Yasmine', 'wamid.Y1', old, { type: 'text', text: { body: 'ancienne question' } }),
      webhook('33610000002', 'Yasmine', 'wamid.Y2', new Date(), { type: 'text', text: { body: 'nouvelle question' } }),
    ];
    for (const body of sent) expect((await w.relais.postWebhook(body)).status).toBe(200);
    await eventually(async () => (await w.relais.count('messages', `relay_state = 'posted'`)) === 4, 'four posts relayed');
    // Age the rows as if they had been received 40 days ago.
    await w.relais.query(`update messages set received_at = now() - interval '40 days' where wa_timestamp < now() - interval '39 days'`);
    await w.relais.query(`update customers set created_at = now() - interval '40 days'`);
  });
  afterAll(async () => { await w?.stop(); });

  it('deletes the posts of purged messages, keeps the others, archives the channel of a retired customer', async () => {
    const channels = w.chat.customerChannels();
    expect(channels).toHaveLength(2);
    const [xavier] = await w.relais.query(`select chat_channel_id from customers where chat_channel_id is not null order by last_inbound_at asc limit 1`);
    const xChannel = String(xavier!.chat_channel_id);
    const yChannel = channels.find((c) => c.id !== xChannel)!.id;
    expect(botPosts(xChannel)).toHaveLength(2);
    expect(botPosts(yChannel)).toHaveLength(2);
    const newest = botPosts(yChannel)[1]!;

    await w.relais.runtime.queue.boss.send(QUEUES.retention, {});
    const entry = await eventually(async () => (await listAudit(w.relais.runtime.database.db)).find((e) => e.action === 'retention.run'), 'retention.run audit entry', 600);
    expect(entry.details).toMatchObject({ outcome: 'completed', messages: 3, media: 1, customersRetired: 1, chatPosts: 3, chatPending: 0, chatFailures: {} });

    expect(botPosts(xChannel)).toEqual([]);
    expect(botPosts(yChannel).map((p) => p.id)).toEqual([newest.id]);
    expect(w.chat.customerChannels().find((c) => c.id === xChannel)!.archived).toBe(true);
    expect(w.chat.customerChannels().find((c) => c.id === yChannel)!.archived).toBe(false);
    expect(await w.relais.count('messages', 'content_purged_at is not null and chat_post_id is not null')).toBe(0);
    expect(await w.relais.count('messages', 'content_purged_at is null and chat_post_id is not null')).toBe(1);
    const text = await w.relais.runtime.metrics.registry.metrics();
    expect(text).toMatch(/relais_retention_purged_total\{kind="chat_posts"\} 3/);
  });

  it('a customer writing after being retired gets a new channel', async () => {
    const before = new Set(w.chat.customerChannels().map((c) => c.id));
    expect((await w.relais.postWebhook(webhook('33610000001', 'Xavier', 'wamid.X3', new Date(), { type: 'text', text: { body: 'me revoilà' } }))).status).toBe(200);
    const fresh = await eventually(async () => w.chat.customerChannels().find((c) => !before.has(c.id) && botPosts(c.id).length === 1), 'a new channel for the returning customer');
    expect(fresh.archived).toBe(false);
  });

  it('a chat failure does not hold back the purge: the post is retried by the next run, then the customer is retired', async () => {
    expect((await w.relais.postWebhook(webhook('33610000003', 'Zoé', 'wamid.Z1', old, { type: 'text', text: { body: 'bonjour' } }))).status).toBe(200);
    await eventually(async () => (await w.relais.count('messages', `relay_state = 'posted' and content_purged_at is null and wa_timestamp < now() - interval '39 days'`)) === 1, 'Zoé relayed');
    await w.relais.query(`update messages set received_at = now() - interval '40 days' where content_purged_at is null and wa_timestamp < now() - interval '39 days'`);
    await w.relais.query(`update customers set created_at = now() - interval '40 days' where identity_shredded_at is null`);
    const [z] = await w.relais.query(`select c.chat_channel_id from customers c join messages m on m.customer_id = c.id where m.content_purged_at is null and m.received_at < now() - interval '39 days'`);
    const zChannel = String(z!.chat_channel_id);
    const { config } = await loadConfig(w.relais.env);
    const rt = w.relais.runtime;
    const deps = { db: rt.database.db, ring: rt.ring, keys: rt.keys, config: config!, logger: w.relais.logs.logger, metrics: rt.metrics, platform: rt.platform };

    w.chat.failPostDeletions(1);
    const first = await runRetention(deps, { actor: 'system' });
    expect(first).toMatchObject({ messagesPurged: 1, chatPostsPruned: 0, chatFailures: 1, chatPostsPending: 1, customersRetired: 0 });
    expect(await w.relais.count('messages', `content_purged_at is null and received_at < now() - interval '30 days'`)).toBe(0);
    expect(botPosts(zChannel)).toHaveLength(1);
    expect(await rt.metrics.registry.metrics()).toMatch(/relais_retention_failures_total\{stage="chat_post"\} 1/);

    const second = await runRetention(deps, { actor: 'system' });
    expect(second).toMatchObject({ messagesPurged: 0, chatPostsPruned: 1, chatFailures: 0, chatPostsPending: 0, customersRetired: 1 });
    expect(botPosts(zChannel)).toEqual([]);
    expect(w.chat.customerChannels().find((c) => c.id === zChannel)!.archived).toBe(true);
  });
});
