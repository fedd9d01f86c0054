import type { ChatPlatform } from '../../src/chat/platform.js';
import { startGraphFake, type RunningGraphFake } from '../fakes/graph-api.js';
import { startChatWorld, type ChatKind, type ChatWorld } from './chat-world.js';
import { startTestRelais, type TestRelais, type TestRelaisOptions } from './relais.js';

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
