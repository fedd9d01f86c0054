import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAVE_FIXTURES, fixtureWithUniqueIds } from '../helpers/fixtures.js';
import { eventually, startTestRelais, type TestRelais } from '../helpers/relais.js';
import { CHAT_PLATFORMS } from '../helpers/chat-world.js';
import { startWorld, type World } from '../helpers/world.js';

// Several replicas need a shared PostgreSQL: PGlite is one process by construction.
const POSTGRES = Boolean(process.env.DATABASE_URL);

describe.skipIf(!POSTGRES || !HAVE_FIXTURES).each(CHAT_PLATFORMS)('two replicas on one PostgreSQL, %s (needs DATABASE_URL and ../shared/fixtures)', (platform) => {
  let w: World;
  let second: TestRelais;
  let channel: string;
  beforeAll(async () => {
    w = await startWorld({ platform });
    second = await startTestRelais({
      replicaOf: w.relais,
      platform: () => w.chat.makePlatform(),
      team: w.team, agents: ['alice'],
      env: { WHATSAPP_API_URL: w.graph.baseUrl, WHATSAPP_ACCESS_TOKEN: w.graph.accessToken },
    });
    expect((await w.relais.postWebhook(fixtureWithUniqueIds('text.json', 'replicas'))).status).toBe(200);
    await eventually(async () => (await w.relais.count('messages', `relay_state = 'posted'`)) === 1, 'customer message posted');
    await w.relais.query(`update customers set last_inbound_at = now()`);
    channel = w.chat.customerChannels()[0]!.id;
  });
  afterAll(async () => { await second?.stop(); await w?.stop(); });

  const leaders = () => [w.relais, second].filter((r) => r.runtime.outbound?.listener?.isLeader()).length;

  it('elects exactly one listener and sends each agent post once', async () => {
    await eventually(async () => leaders() === 1, 'one leader');
    for (let i = 0; i < 5; i++) w.chat.agentPost('alice', channel, `reply ${i}`);
    await eventually(async () => w.graph.fake.messagesSent().filter((m) => m.type === 'text').length >= 5, 'five sent');
    await new Promise((r) => setTimeout(r, 1500));
    const bodies = w.graph.fake.messagesSent().filter((m) => m.type === 'text').map((m) => (m.body.text as { body: string }).body);
    expect(bodies).toEqual(['reply 0', 'reply 1', 'reply 2', 'reply 3', 'reply 4']);
    expect(leaders()).toBe(1);
  });

  it('fails over when the listening replica stops, and loses nothing', async () => {
    const leader = w.relais.runtime.outbound!.listener!.isLeader() ? w.relais : second;
    const other = leader === w.relais ? second : w.relais;
    await leader.stopRuntime();
    w.chat.agentPost('alice', channel, 'after failover');
    await eventually(async () => other.runtime.outbound!.listener!.isLeader(), 'the other replica leads', 100);
    await eventually(async () => w.graph.fake.messagesSent().some((m) => (m.body.text as { body?: string } | undefined)?.body === 'after failover'), 'sent by the new leader');
    await new Promise((r) => setTimeout(r, 1000));
    expect(w.graph.fake.messagesSent().filter((m) => (m.body.text as { body?: string } | undefined)?.body === 'after failover')).toHaveLength(1);
    await leader.start();
  });
});
