import { createMattermostPlatform } from '../../src/chat/mattermost/index.js';
import type { ChatPlatform } from '../../src/chat/platform.js';
import { startMattermostFake, type MattermostFake } from '../fakes/mattermost/index.js';
import { startGraphFake, type RunningGraphFake } from '../fakes/graph-api.js';
import { captureLogger } from './logger.js';
import { startTestRelais, type TestRelais, type TestRelaisOptions } from './relais.js';

/**
 * The whole world for end-to-end tests: a Mattermost fake with a team, a bot and agents, the Graph
 * API fake, and a real Relais runtime wired to both through the real clients.
 */
export interface World {
  mm: MattermostFake;
  graph: RunningGraphFake;
  relais: TestRelais;
  platform: ChatPlatform;
  botToken: string;
  botId: string;
  agentTokens: Record<string, string>;
  agentIds: Record<string, string>;
  team: string;
  stop(): Promise<void>;
  /** Starts another Relais replica on the same database (PostgreSQL only) — or a restart after stop. */
}

export async function startWorld(opts: Omit<TestRelaisOptions, 'platform'> & { platform?: (w: { mm: MattermostFake; botToken: string }) => ChatPlatform } = {}): Promise<World> {
  const mm = await startMattermostFake();
  const team = 'support';
  mm.addTeam(team);
  const bot = mm.addUser({ username: 'relais', isBot: true });
  mm.addToTeam(team, 'relais', { admin: true }); // restoring an archived channel needs team admin
  const agentTokens: Record<string, string> = {};
  const agentIds: Record<string, string> = {};
  for (const name of ['alice', 'bob', 'carol']) {
    const u = mm.addUser({ username: name });
    agentTokens[name] = u.token;
    agentIds[name] = u.user.id;
    mm.addToTeam(team, name);
  }
  mm.addGroup('support-fr', ['carol']);
  const graph = await startGraphFake();
  const platformLogs = captureLogger();
  const makePlatform = () => (opts.platform ? opts.platform({ mm, botToken: bot.token }) : createMattermostPlatform({ url: mm.url, token: bot.token, logger: platformLogs.logger }));
  const relais = await startTestRelais({
    ...opts,
    platform: makePlatform,
    team,
    agents: opts.agents ?? ['alice', 'bob', '@support-fr'],
    env: { WHATSAPP_API_URL: graph.baseUrl, WHATSAPP_ACCESS_TOKEN: graph.accessToken, ...opts.env },
  });
  return {
    mm, graph, relais, get platform() { return relais.runtime.platform!; }, botToken: bot.token, botId: bot.user.id, team, agentTokens, agentIds,
    stop: async () => {
      await relais.stop();
      await graph.close();
      await mm.close();
    },
  };
}
