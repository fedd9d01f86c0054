import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHAT_PLATFORMS } from '../helpers/chat-world.js';
import { HAVE_FIXTURES, fixtureWithUniqueIds } from '../helpers/fixtures.js';
import { eventually } from '../helpers/relais.js';
import { startWorld, type World } from '../helpers/world.js';

// pg-boss keeps a key_strict_fifo job that failed for good in the queue, holding its key: every
// later job of that conversation would wait behind it. The worker settles the last attempt
// itself instead, and the customer's next job posts the stranded message first, in order.
describe.skipIf(!HAVE_FIXTURES).each(CHAT_PLATFORMS)('relay retries exhausted on %s (needs ../shared/fixtures)', (platform) => {
  let w: World;
  beforeAll(async () => {
    w = await startWorld({ platform, listener: false });
    // Every attempt is the last one: the first failure exhausts the policy.
    await w.relais.runtime.queue.boss.updateQueue('relay', { retryLimit: 0 } as never);
  });
  afterAll(async () => { await w?.stop(); });

  it('parks a copy in the dead-letter queue without blocking the conversation', async () => {
    w.chat.failPosts(1);
    expect((await w.relais.postWebhook(fixtureWithUniqueIds('text.json', 'first'))).status).toBe(200);
    await eventually(async () => (await w.relais.count('pgboss.job', `name = 'relay_dlq'`)) === 1, 'dead-letter copy', 600);
    const [dead] = await w.relais.query(`select data->>'code' as code, data->>'cause' as cause from pgboss.job where name = 'relay_dlq'`);
    expect(dead).toMatchObject({ code: 'retries_exhausted' });
    expect(await w.relais.count('pgboss.job', `name = 'relay' and state = 'failed'`)).toBe(0);
    expect(await w.relais.count('messages', `relay_state = 'posted'`)).toBe(0);

    expect((await w.relais.postWebhook(fixtureWithUniqueIds('text.json', 'second'))).status).toBe(200);
    await eventually(async () => (await w.relais.count('messages', `relay_state = 'posted'`)) === 2, 'both messages posted', 600);
    const posts = w.chat.customerChannels().flatMap((c) => w.chat.posts(c.id)).filter((p) => p.relaisId);
    expect(posts).toHaveLength(2);
    const order = await w.relais.query(`select id from messages order by received_at`);
    expect(posts.map((p) => p.relaisId)).toEqual(order.map((r) => r.id));
  });
});
