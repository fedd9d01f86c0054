import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHAT_PLATFORMS } from '../helpers/chat-world.js';
import { HAVE_FIXTURES } from '../helpers/fixtures.js';
import { eventually } from '../helpers/relais.js';
import { openConversation, startWorld, type World } from '../helpers/world.js';

// The last attempt of a send job settles itself: the agents are told, the job completes, and the
// conversation's next replies are not held behind a failed job (pg-boss key_strict_fifo).
describe.skipIf(!HAVE_FIXTURES).each(CHAT_PLATFORMS)('send retries exhausted on %s (needs ../shared/fixtures)', (platform) => {
  let w: World;
  let channel: string;
  beforeAll(async () => {
    w = await startWorld({ platform });
    await w.relais.runtime.queue.boss.updateQueue('send', { retryLimit: 0 } as never);
    channel = await openConversation(w);
  });
  afterAll(async () => { await w?.stop(); });

  it('tells the agents in the thread and lets the next reply through', async () => {
    // Graph answers 500 three times: the in-place retries of the attempt are spent too.
    w.graph.fake.failNext({ target: 'messages', times: 4, status: 500, graphError: { code: 1, message: 'Unknown error' } });
    const post = w.chat.agentPost('alice', channel, 'lost in the outage');
    const notice = await eventually(async () => w.chat.posts(channel).find((p) => p.notice && p.rootId === post.id), 'notice in thread', 600);
    expect(notice.text).toMatch(/retries_exhausted|could not be reached|injoignable/);
    expect(await w.relais.count('outbox', `state = 'failed' and error_code = 'retries_exhausted'`)).toBe(1);
    expect(await w.relais.count('pgboss.job', `name = 'send' and state = 'failed'`)).toBe(0);

    const before = w.graph.fake.messagesSent().length;
    w.chat.agentPost('alice', channel, 'after the outage');
    await eventually(async () => w.graph.fake.messagesSent().slice(before).some((m) => (m.body.text as { body?: string } | undefined)?.body === 'after the outage'), 'next reply sent', 600);
  });
});
