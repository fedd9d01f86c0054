import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAVE_FIXTURES, fixtureWithUniqueIds } from '../helpers/fixtures.js';
import { eventually, startTestRelais, type TestRelais } from '../helpers/relais.js';
import { startWorld, type World } from '../helpers/world.js';

// Several replicas need a shared PostgreSQL: PGlite is one process by construction.
const POSTGRES = Boolean(process.env.DATABASE_URL);

// RELAIS_WORKERS=false: a replica that takes webhooks and commits them with their relay jobs,
// while a replica with workers relays them. Webhooks keep being accepted while no worker runs.
describe.skipIf(!POSTGRES || !HAVE_FIXTURES)('webhook-only replica (needs DATABASE_URL and ../shared/fixtures)', () => {
  let w: World;
  let intake: TestRelais;
  beforeAll(async () => {
    w = await startWorld({ platform: 'mattermost' });
    intake = await startTestRelais({
      replicaOf: w.relais,
      platform: () => w.chat.makePlatform(),
      team: w.team, agents: ['alice'],
      env: { RELAIS_WORKERS: 'false', WHATSAPP_API_URL: w.graph.baseUrl, WHATSAPP_ACCESS_TOKEN: w.graph.accessToken },
    });
  });
  afterAll(async () => { await intake?.stop(); await w?.stop(); });

  const relaisPosts = () => w.chat.customerChannels().flatMap((c) => w.chat.posts(c.id)).filter((p) => p.relaisId);

  it('stores what it receives for the workers to relay, and never listens to the chat', async () => {
    expect((await intake.postWebhook(fixtureWithUniqueIds('text.json', 'intake1'))).status).toBe(200);
    await eventually(async () => relaisPosts().length === 1, 'relayed by the worker replica');
    await eventually(async () => w.relais.runtime.outbound?.listener?.isLeader(), 'the worker replica listens');
    expect(intake.runtime.outbound?.listener?.isLeader() ?? false).toBe(false);
  });

  it('keeps accepting webhooks while no worker runs; they are relayed once workers are back', async () => {
    await w.relais.stopRuntime();
    for (let i = 0; i < 3; i++) expect((await intake.postWebhook(fixtureWithUniqueIds('text.json', `intake-down${i}`))).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1500));
    expect(relaisPosts()).toHaveLength(1);
    expect(await intake.count('messages', `relay_state = 'pending'`)).toBe(3);
    await w.relais.start();
    await eventually(async () => relaisPosts().length === 4, 'relayed after the workers came back', 300);
    expect(new Set(relaisPosts().map((p) => p.relaisId)).size).toBe(4);
  });
});
