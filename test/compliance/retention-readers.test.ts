import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatPlatform } from '../../src/chat/platform.js';
import { runRetention } from '../../src/compliance/retention.js';
import { createRelayWorker } from '../../src/core/relay-worker.js';
import { messages } from '../../src/db/schema/index.js';
import { startChatWorld, type ChatWorld } from '../helpers/chat-world.js';
import { daysAgo, NUMBER_A, openArchive, seedMessage, type RetentionArchive } from './retention-seed.js';

// The relay worker meets a message retention emptied before it was ever posted (the chat platform
// was down for longer than the retention): it must never try to open the empty content.
describe('readers of purged content: the relay worker', () => {
  let a: RetentionArchive;
  let world: ChatWorld;
  let platform: ChatPlatform;
  let relay: ReturnType<typeof createRelayWorker>;

  beforeAll(async () => {
    a = await openArchive({ RETENTION_DAYS: '30', RELAIS_LANGUAGE: 'fr' }, [{ phoneNumberId: NUMBER_A }]);
    world = await startChatWorld('mattermost', { team: 'support' });
    platform = world.makePlatform();
    await platform.connect();
    relay = createRelayWorker({
      db: a.database.db, keys: a.keys, platform, metrics: a.metrics, logger: a.logs.logger, lang: 'fr', notePrefix: '//',
      media: { download: async () => { throw new Error('no media in this test'); } },
      route: () => ({ team: 'support', agents: ['alice'] }), mediaCap: () => 1_000_000,
    });
  });
  afterAll(async () => { await platform?.close(); await world?.close(); await a?.close(); });

  it('posts a notice in French instead of the content, and counts no decryption failure', async () => {
    // Ines wrote 40 days ago (never relayed) and today: she stays a customer.
    const old = await seedMessage(a, { waId: '33620202020', name: 'Inès', at: daysAgo(40), text: 'mon adresse est 12 rue des Lilas' });
    const fresh = await seedMessage(a, { waId: '33620202020', at: daysAgo(0), text: 'vous avez reçu mon message ?' });
    expect((await runRetention(a.deps, { actor: 'system' })).messagesPurged).toBe(1);
    expect(await relay({ messageId: fresh.messageId, customerId: fresh.customerId })).toBe('posted');
    const [channel] = world.customerChannels();
    const posts = world.posts(channel!.id).filter((p) => p.byBot);
    expect(posts).toHaveLength(2);
    expect(posts[0]!.text).toContain('supprimé par la durée de conservation');
    expect(posts[0]!.text).toContain(daysAgo(40).toISOString().slice(0, 10));
    expect(posts[0]!.text).not.toContain('Lilas');
    expect(posts[1]!.text).toContain('vous avez reçu mon message ?');
    const [m] = await a.database.db.select().from(messages).where(eq(messages.id, old.messageId));
    expect(m).toMatchObject({ relayState: 'posted', chatPostId: posts[0]!.id });
    expect(await a.metrics.registry.metrics()).not.toMatch(/relais_decrypt_failures_total\{[^}]*\} [1-9]/);
  });

  it('marks the message of a retired customer failed without posting anything', async () => {
    const old = await seedMessage(a, { waId: '33630303030', name: 'Jules', at: daysAgo(50), text: 'jamais relayé' });
    expect((await runRetention(a.deps, { actor: 'system' })).customersRetired).toBe(1);
    const before = world.customerChannels().length;
    expect(await relay({ messageId: old.messageId, customerId: old.customerId })).toBe('already');
    expect(world.customerChannels()).toHaveLength(before);
    const [m] = await a.database.db.select().from(messages).where(eq(messages.id, old.messageId));
    expect(m).toMatchObject({ relayState: 'failed', relayError: 'content_purged' });
  });
});
