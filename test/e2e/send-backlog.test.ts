import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAVE_FIXTURES } from '../helpers/fixtures.js';
import { eventually } from '../helpers/relais.js';
import { CHAT_PLATFORMS } from '../helpers/chat-world.js';
import { openConversation, startWorld, type World } from '../helpers/world.js';

// A burst of replies queues behind a send that WhatsApp refused for a moment (5xx): the retried
// job sends its own reply and then the newer ones, in order, exactly once, and the jobs of those
// are removed instead of each taking a claim/complete cycle to find its reply already sent.
describe.skipIf(!HAVE_FIXTURES).each(CHAT_PLATFORMS)('reply backlog on %s (needs ../shared/fixtures)', (platform) => {
  let w: World;
  let channel: string;
  beforeAll(async () => {
    // In-place retry waits are instant here; the queue's own retry delay (2 s) still applies.
    w = await startWorld({ platform, sleep: async () => {} });
    channel = await openConversation(w);
  });
  afterAll(async () => { await w?.stop(); });

  it('sends the backlog once, in order, and leaves no job behind', async () => {
    const texts = Array.from({ length: 8 }, (_, i) => `reply number ${i}`);
    // More failures than the in-place retries: the first job fails and waits for the queue's retry.
    w.graph.fake.failNext({ target: 'messages', times: 4, status: 500, graphError: { code: 1, message: 'An unknown error occurred' } });
    w.chat.agentPost('alice', channel, texts[0]!);
    await eventually(async () => (await w.relais.count('pgboss.job', `name = 'send' and state = 'retry'`)) === 1, 'first send waiting to retry');
    for (const text of texts.slice(1)) w.chat.agentPost('alice', channel, text);
    await eventually(async () => (await w.relais.count('outbox', `state = 'queued'`)) === 0 && (await w.relais.count('outbox')) === texts.length, 'replies sent', 600);
    const bodies = w.graph.fake.messagesSent().filter((m) => m.type === 'text').map((m) => (m.body.text as { body: string }).body);
    expect(bodies).toEqual(texts);
    await eventually(async () => (await w.relais.count('pgboss.job', `name = 'send' and state < 'active'`)) === 0, 'no queued send job', 200);
    // The retried job sent all eight; the seven queued behind it were removed, not run.
    expect(await w.relais.count('pgboss.job', `name = 'send'`)).toBe(1);
  });
});
