import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAudit } from '../../src/compliance/audit.js';
import { buildMessageWebhook } from '../../src/simulator/webhook-builder.js';
import { CHAT_PLATFORMS } from '../helpers/chat-world.js';
import { FIXTURE_NUMBERS, eventually } from '../helpers/relais.js';
import { startWorld, type World } from '../helpers/world.js';

const business = { wabaId: '419561257915477', phoneNumberId: FIXTURE_NUMBERS[0]!, displayPhoneNumber: '15550783881' };

/** A customer writes; resolves with their channel once the message is posted there. */
async function customerWrites(w: World, waId: string, name: string, body: string): Promise<string> {
  const { payload } = buildMessageWebhook(business, { waId, name }, { type: 'text', body });
  expect((await w.relais.postWebhook(JSON.stringify(payload))).status).toBe(200);
  return eventually(async () => {
    const ch = w.chat.customerChannels().find((c) => c.displayName.startsWith(name));
    return ch && w.chat.posts(ch.id).some((p) => p.text.includes(body.slice(0, 12))) ? ch.id : undefined;
  }, `${name}'s message posted`);
}

describe.each(CHAT_PLATFORMS)('search from the chat: %s', (platform) => {
  let w: World;
  let zoe: string;
  let yann: string;
  beforeAll(async () => {
    // Links in answers are built from the configured chat URL (the fake's own URL is not known yet).
    const chatEnv: Record<string, string> = platform === 'mattermost'
      ? { MATTERMOST_URL: 'https://chat.example.com', MATTERMOST_TOKEN: 'unused', MATTERMOST_TEAM: 'support' }
      : { CHAT_PLATFORM: 'rocketchat', ROCKETCHAT_URL: 'https://chat.example.com', ROCKETCHAT_USER_ID: 'unused', ROCKETCHAT_TOKEN: 'unused' };
    w = await startWorld({ platform, env: chatEnv });
    zoe = await customerWrites(w, '33612345678', 'Zoé', 'Commande Nº 12345 — déjà livrée ?');
    yann = await customerWrites(w, '33687654321', 'Yann', 'Ma commande 67890 est DÉJÀ en retard');
    await eventually(async () => w.relais.runtime.outbound?.listener?.isLeader(), 'listener elected');
  });
  afterAll(async () => { await w?.stop(); });

  it('!wa search answers in the channel with this customer\'s matches only, and audits the agent', async () => {
    const before = w.chat.posts(zoe).length;
    w.chat.agentPost('alice', zoe, '!wa search DEJA livree');
    const answer = await eventually(async () => w.chat.posts(zoe).slice(before).find((p) => p.notice && /Search results/.test(p.text)), 'search answer');
    expect(answer.text).toMatch(/customer · \[Commande Nº 12345 — déjà livrée \?\]\(https:\/\/chat\.example\.com\/(support\/pl\/[a-z0-9]{26}|group\/wa-[a-z0-9]+\?msg=\w+)\)/);
    expect(answer.text).not.toMatch(/67890/);
    w.chat.agentPost('alice', yann, '!wa search 12345');
    await eventually(async () => w.chat.posts(yann).some((p) => p.notice && /No message found in this conversation/.test(p.text)), 'empty answer in the other channel');
    // Nothing of the search went to the customer.
    const audit = await listAudit(w.relais.runtime.database.db, { limit: 5 });
    expect(audit.filter((e) => e.action === 'search').map((e) => e.actor)).toEqual([`chat:${w.chat.userId('alice')}`, `chat:${w.chat.userId('alice')}`]);
    expect(audit.find((e) => e.action === 'search')!.details).toMatchObject({ scope: 'customer', tokens: 1 });
  });

  it.runIf(platform === 'mattermost')('/wa search answers the caller alone, across the conversations they can read', async () => {
    const slash = w.platform.slashCommands!;
    const { token } = await slash.registerSlashCommand({
      team: w.team, url: 'https://relais.example.test/chat/command', trigger: 'wa',
      description: 'WhatsApp commands (Relais)', hint: 'help | status | templates | template <name> [language] [parameters…] | search <words>',
    });
    const run = async (userId: string, channel: string, text: string) => {
      const form = new URLSearchParams({ token, team_id: 't'.repeat(26), channel_id: channel, user_id: userId, command: '/wa', text, trigger_id: `trig-${Math.random()}` });
      const res = await w.relais.runtime.app.request('/chat/command', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
      expect(res.status).toBe(200);
      return (await res.json()) as { response_type: string; text: string };
    };
    // alice is a member of both customer channels: she finds both, from either channel.
    const both = await run(w.chat.userId('alice'), zoe, 'search deja');
    expect(both.response_type).toBe('ephemeral');
    expect(both.text).toMatch(/Search results\*\* \(2,/);
    expect(both.text).toMatch(/Yann|67890/);
    expect(both.text).toMatch(/\]\(https:\/\/chat\.example\.com\/support\/pl\/[a-z0-9]{26}\)/);
    // Someone outside those channels finds nothing, and nothing of theirs was decrypted.
    const outsider = 'z'.repeat(26);
    expect(w.chat.customerChannels().every((c) => !c.memberIds.includes(outsider))).toBe(true);
    expect((await run(outsider, zoe, 'search deja')).text).toMatch(/No message found in the conversations you can read/);
    const audit = await listAudit(w.relais.runtime.database.db, { limit: 1 });
    expect(audit[0]).toMatchObject({ actor: `chat:${outsider}`, action: 'search', details: { scope: 'all', results: 0 } });
    expect((await run(w.chat.userId('alice'), zoe, 'search ?!')).text).toMatch(/Nothing to search for/);
  });
});
