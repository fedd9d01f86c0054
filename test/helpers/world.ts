import type { ChatPlatform } from '../../src/chat/platform.js';
import { startGraphFake, type RunningGraphFake } from '../fakes/graph-api.js';
import { startChatWorld, type ChatKind, type ChatWorld } from './chat-world.js';
import { HAVE_FIXTURES, fixtureWithUniqueIds } from './fixtures.js';
import { eventually, startTestRelais, type TestRelais, type TestRelaisOptions } from './relais.js';

/**
 * The whole world for end-to-end tests: a chat fake (Mattermost or Rocket.Chat) with a bot and
 * agents, the Graph API fake, and a real Relais runtime wired to both through the real clients.
 */
export interface World {
  /** The chat platform's fake, driven in neutral terms (see chat-world.ts). */
  chat: ChatWorld;
  graph: RunningGraphFake;
  relais: TestRelais;
  /** The adapter of the running Relais (a new instance after every restart). */
  platform: ChatPlatform;
  team: string;
  stop(): Promise<void>;
}

export async function startWorld(opts: Omit<TestRelaisOptions, 'platform'> & { platform: ChatKind }): Promise<World> {
  const team = 'support';
  const chat = await startChatWorld(opts.platform, { team });
  const graph = await startGraphFake();
  const { platform: _kind, ...rest } = opts;
  const relais = await startTestRelais({
    ...rest,
    // A factory: a restart gets a new adapter instance, as a new process would.
    platform: () => chat.makePlatform(),
    team,
    agents: opts.agents ?? chat.agents,
    env: { WHATSAPP_API_URL: graph.baseUrl, WHATSAPP_ACCESS_TOKEN: graph.accessToken, ...opts.env },
  });
  return {
    chat, graph, relais, get platform() { return relais.runtime.platform!; }, team,
    stop: async () => {
      await relais.stop();
      await graph.close();
      await chat.close();
    },
  };
}

/**
 * The first customer writes (Meta's text.json sample) and agents may answer: the message is
 * posted, the 24-hour window is open as of now, the chat listener is elected. Returns the
 * customer's channel id. Needs ../shared/fixtures.
 */
export async function openConversation(w: World): Promise<string> {
  if (!HAVE_FIXTURES) throw new Error('openConversation needs ../shared/fixtures');
  const res = await w.relais.postWebhook(fixtureWithUniqueIds('text.json', 'open'));
  if (res.status !== 200) throw new Error(`the customer's webhook was answered ${res.status}`);
  await eventually(async () => (await w.relais.count('messages', `relay_state = 'posted'`)) >= 1, 'customer message posted');
  // The sample's timestamp is from 2022: open the window as if the customer wrote just now.
  await w.relais.query(`update customers set last_inbound_at = now()`);
  await eventually(async () => w.relais.runtime.outbound?.listener?.isLeader(), 'listener elected');
  return w.chat.customerChannels()[0]!.id;
}
