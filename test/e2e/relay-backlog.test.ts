import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAVE_FIXTURES, fixtureWithUniqueIds } from '../helpers/fixtures.js';
import { eventually } from '../helpers/relais.js';
import { CHAT_PLATFORMS } from '../helpers/chat-world.js';
import { startWorld, type World } from '../helpers/world.js';

// A backlog forms while the chat server refuses posts: the customer's first job waits to retry
// and the later ones queue behind it (one job per customer at a time). The retry drains the whole
// backlog in order, and the jobs of the messages it relayed are removed instead of each taking a
// claim/complete cycle of the queue to find its message already posted.
describe.skipIf(!HAVE_FIXTURES).each(CHAT_PLATFORMS)('relay backlog on %s (needs ../shared/fixtures)', (platform) => {
  let w: World;
  beforeAll(async () => { w = await startWorld({ platform, listener: false }); });
  afterAll(async () => { await w?.stop(); });

  it('drains the backlog once, in order, and leaves no job behind', async () => {
    w.chat.failPosts(1);
    const bodies = Array.from({ length: 10 }, (_, i) => fixtureWithUniqueIds('text.json', `backlog${i}`));
    for (const b of bodies) expect((await w.relais.postWebhook(b)).status).toBe(200);
    await eventually(async () => (await w.relais.count('messages', `relay_state = 'posted'`)) === 10, 'backlog posted', 600);
    const posts = w.chat.customerChannels().flatMap((c) => w.chat.posts(c.id)).filter((p) => p.relaisId);
    expect(posts).toHaveLength(10);
    // Posted in arrival order: the chat's post order follows the messages' received_at order.
    const ordered = (await w.relais.query('select id from messages order by received_at')) as { id: string }[];
    expect(posts.map((p) => p.relaisId)).toEqual(ordered.map((r) => r.id));
    await eventually(async () => (await w.relais.count('pgboss.job', `name = 'relay' and state < 'active'`)) === 0, 'no queued relay job', 200);
    // The first job did the work; the nine queued behind it were removed, not run.
    expect(await w.relais.count('pgboss.job', `name = 'relay'`)).toBe(1);
  });
});
