import { serve } from '@hono/node-server';
import { createSimulator } from '../simulator/index.js';

/**
 * `relais simulator`: the WhatsApp simulator on its own port, for a Relais running elsewhere.
 * Point that Relais' WHATSAPP_API_URL at http://<host>:<port>/graph/v23.0 and give both the
 * same WHATSAPP_APP_SECRET and WHATSAPP_ACCESS_TOKEN.
 */
export async function runSimulator(env: NodeJS.ProcessEnv, opts: { port: number; relaisUrl: string; phoneNumberId?: string }): Promise<number> {
  const appSecret = env.WHATSAPP_APP_SECRET;
  const accessToken = env.WHATSAPP_ACCESS_TOKEN;
  if (!appSecret || !accessToken) {
    console.error('The simulator needs WHATSAPP_APP_SECRET and WHATSAPP_ACCESS_TOKEN: the same values the Relais it talks to uses.');
    return 2;
  }
  const phoneNumberId = opts.phoneNumberId ?? env.WHATSAPP_PHONE_NUMBER_ID ?? '100000000000001';
  const sim = createSimulator({
    graphBase: `http://127.0.0.1:${opts.port}/graph/v23.0`,
    webhookUrl: `${opts.relaisUrl.replace(/\/+$/, '')}/webhooks/whatsapp`,
    appSecret, accessToken, phoneNumberId, displayPhoneNumber: '+1 555 010 0001',
    // Like Meta: every accepted reply gets a `sent` status webhook, so agents see ☑️ at once.
    autoSentStatus: true,
  });
  serve({ fetch: sim.app.fetch, port: opts.port, hostname: '127.0.0.1' });
  console.log(`WhatsApp simulator on http://127.0.0.1:${opts.port}/ (webhooks to ${opts.relaisUrl}, phone_number_id ${phoneNumberId})\nSet WHATSAPP_API_URL=http://127.0.0.1:${opts.port}/graph/v23.0 on Relais.`);
  return -1; // keep running
}
