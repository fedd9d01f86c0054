import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAVE_FIXTURES, fixtureWithUniqueIds } from '../helpers/fixtures.js';
import { eventually } from '../helpers/relais.js';
import { startWorld, type World } from '../helpers/world.js';
import { RelaisError } from '../../src/core/errors.js';

// The window that idempotency keys exist for: the chat post exists, but the worker dies before
// recording it. The next attempt must find the post instead of posting a second one.
describe.skipIf(!HAVE_FIXTURES)('relay crash between post and commit (needs ../shared/fixtures)', () => {
  let w: World;
  let crashes = 0;
  beforeAll(async () => {
    w = await startWorld({
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
    const posts = w.mm.channels().flatMap((c) => w.mm.posts(c.id)).filter((p) => !p.type && p.props?.relais_id);
    expect(posts).toHaveLength(1);
    expect(await w.relais.count('messages', `chat_post_id = '${posts[0]!.id}'`)).toBe(1);
  });

  it('survives an ambiguous chat answer: the post is created, the connection dropped', async () => {
    w.mm.resetAfterAccept('POST /api/v4/posts', 1);
    expect((await w.relais.postWebhook(fixtureWithUniqueIds('text.json', 'reset'))).status).toBe(200);
    await eventually(async () => (await w.relais.count('messages', `relay_state = 'posted'`)) === 2, 'second message posted', 600);
    const posts = w.mm.channels().flatMap((c) => w.mm.posts(c.id)).filter((p) => !p.type && p.props?.relais_id);
    expect(posts).toHaveLength(2);
    expect(new Set(posts.map((p) => p.props.relais_id)).size).toBe(2);
  });
});
