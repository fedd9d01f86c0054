import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAVE_FIXTURES, fixtureWithUniqueIds } from '../helpers/fixtures.js';
import { eventually } from '../helpers/relais.js';
import { CHAT_PLATFORMS } from '../helpers/chat-world.js';
import { startWorld, type World } from '../helpers/world.js';
import { RelaisError } from '../../src/core/errors.js';

// The window that idempotency keys exist for: the chat post exists, but the worker dies before
// recording it. The next attempt must find the post instead of posting a second one.
describe.skipIf(!HAVE_FIXTURES).each(CHAT_PLATFORMS)('relay crash between post and commit on %s (needs ../shared/fixtures)', (platform) => {
  let w: World;
  let crashes = 0;
  beforeAll(async () => {
    w = await startWorld({
      platform,
      listener: false,
      afterPostBeforeCommit: async () => {
        if (crashes++ === 0) throw new RelaisError('simulated_crash', 'worker died after posting', { retryable: true });
      },
    });
  });
  afterAll(async () => { await w?.stop(); });

  it('posts the message exactly once and records the post it made', async () => {
    expect((await w.relais.postWebhook(fixtureWithUniqueIds('text.json', 'crash'))).status).toBe(200);
    await eventually(async () => (await w.relais.count('messages', `relay_state = 'posted'`)) === 1, 'message posted', 600);
    expect(crashes).toBeGreaterThanOrEqual(1);
    const posts = w.chat.customerChannels().flatMap((c) => w.chat.posts(c.id)).filter((p) => p.relaisId);
    expect(posts).toHaveLength(1);
    expect(await w.relais.count('messages', `chat_post_id = '${posts[0]!.id}'`)).toBe(1);
  });

  it('survives an ambiguous chat answer: the post is created, the connection dropped', async () => {
    w.chat.ambiguousNextPost();
    expect((await w.relais.postWebhook(fixtureWithUniqueIds('text.json', 'reset'))).status).toBe(200);
    await eventually(async () => (await w.relais.count('messages', `relay_state = 'posted'`)) === 2, 'second message posted', 600);
    const posts = w.chat.customerChannels().flatMap((c) => w.chat.posts(c.id)).filter((p) => p.relaisId);
    expect(posts).toHaveLength(2);
    expect(new Set(posts.map((p) => p.relaisId)).size).toBe(2);
    // The fault did happen: one attempt saw no answer and was retried.
    expect(w.relais.logs.lines.filter((l) => l.includes('relay attempt failed') && l.includes('"code":"chat_unreachable"'))).toHaveLength(1);
  });
});
