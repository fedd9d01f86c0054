import { timingSafeEqual } from 'node:crypto';
import { Hono } from 'hono';
import type { SlashCommandCapability } from '../../chat/platform.js';
import type { Logger } from '../../log.js';

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * `POST /chat/command`: the chat platform's slash-command callback (`/wa …`). The platform's
 * token is verified in constant time against the tokens Relais registered; the answer is shown
 * only to the agent who typed the command.
 */
export function chatCommandRoutes(deps: {
  logger: Logger;
  capability: () => SlashCommandCapability | undefined;
  tokens: () => string[];
  run(ctx: { channel: string; invocationId: string; userId: string }, text: string): Promise<string>;
}) {
  const app = new Hono();
  app.post('/', async (c) => {
    const cap = deps.capability();
    if (!cap) return c.json({ error: { code: 'not_supported', message: 'This chat platform has no slash commands; type !wa … in the channel instead' } }, 404);
    const cmd = await cap.parseSlashCommand(c.req.raw);
    if (!cmd) return c.json({ error: { code: 'bad_request', message: 'Not a slash-command request' } }, 400);
    if (!deps.tokens().some((t) => sameToken(t, cmd.token))) {
      deps.logger.warn('slash command refused: unknown token');
      return c.json({ error: { code: 'bad_token', message: 'Unknown command token: re-register the /wa command (restart Relais) or check RELAIS_PUBLIC_URL' } }, 401);
    }
    const text = await deps.run({ channel: cmd.channel, invocationId: cmd.invocationId, userId: cmd.userId }, cmd.text);
    return c.json({ response_type: 'ephemeral', text });
  });
  return app;
}
