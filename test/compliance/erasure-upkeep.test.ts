/**
 * The hourly erasure upkeep job, on the running bridge: an erasure whose chat step failed (the
 * chat server was down) is finished without anyone running the command again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eraseCustomer } from '../../src/compliance/erase.js';
import { QUEUES } from '../../src/queue/boss.js';
import { CHAT_PLATFORMS } from '../helpers/chat-world.js';
import { eventually } from '../helpers/relais.js';
import type { World } from '../helpers/world.js';
import { allRelayed, channelOf, cliDeps, say, startDsrWorld, type Person } from './dsr-world.js';

const IDA: Person = { waId: '33610000009', name: 'Ida' };

describe.each(CHAT_PLATFORMS)('erasure upkeep on %s', (platform) => {
  let w: World;
  beforeAll(async () => { w = await startDsrWorld(platform); });
  afterAll(async () => { await w?.stop(); });

  it('finishes a pending chat step on its own', async () => {
    await say(w, IDA, { type: 'text', body: 'please forget me' });
    await allRelayed(w);
    const channel = await channelOf(w, IDA);
    w.chat.forbidChannelDeletion(false);
    const deps = await cliDeps(w);
    w.chat.failNextChannelDeletion();
    expect(await eraseCustomer(deps, `+${IDA.waId}`, { actor: 'cli:dpo' })).toMatchObject({ customers: 1, chat: 'pending' });
    await deps.platform?.close();
    expect(w.chat.customerChannels().map((c) => c.id)).toContain(channel);

    // What the hourly schedule does: one job on the erasures queue, run by the bridge's worker.
    await w.relais.runtime.queue.boss.send(QUEUES.erasures, {});
    await eventually(async () => (await w.relais.count('erasures', `state = 'complete'`)) === 1, 'erasure completed by the upkeep job', 600);
    expect(w.chat.customerChannels().map((c) => c.id)).not.toContain(channel);
    const [entry] = await w.relais.query(`select actor, action from audit_log where action = 'erase.chat'`);
    expect(entry).toEqual({ actor: 'system', action: 'erase.chat' });
  });
});
