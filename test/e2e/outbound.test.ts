import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAVE_FIXTURES, fixtureWithUniqueIds } from '../helpers/fixtures.js';
import { eventually } from '../helpers/relais.js';
import { CHAT_PLATFORMS } from '../helpers/chat-world.js';
import { startWorld, type World } from '../helpers/world.js';
import { buildStatusWebhook } from '../fakes/graph-api.js';

const CUSTOMER = '16505551234'; // the customer of Meta's text.json sample

/** A customer writes (opening the 24-hour window); resolves with their channel id. */
async function customerWrites(w: World, tag: string): Promise<string> {
  const before = await w.relais.count('messages', `relay_state = 'posted'`);
  expect((await w.relais.postWebhook(fixtureWithUniqueIds('text.json', tag))).status).toBe(200);
  await eventually(async () => (await w.relais.count('messages', `relay_state = 'posted'`)) > before, 'customer message posted');
  // The sample's timestamp is from 2022: make the window open as if the customer wrote just now.
  await w.relais.query(`update customers set last_inbound_at = now()`);
  return w.chat.customerChannels().find((c) => c.displayName.startsWith('Sheena'))!.id;
}

const sent = (w: World) => w.graph.fake.messagesSent().filter((m) => m.type !== ('read' as never));
const notices = (w: World, channel: string) => w.chat.posts(channel).filter((p) => p.notice);

describe.skipIf(!HAVE_FIXTURES).each(CHAT_PLATFORMS)('agent replies: %s → WhatsApp (needs ../shared/fixtures)', (platform) => {
  let w: World;
  let channel: string;
  beforeAll(async () => {
    w = await startWorld({ platform, persistent: true, env: { WHATSAPP_BUSINESS_ACCOUNT_ID: '419561257915477' } });
    channel = await customerWrites(w, 'open');
    await eventually(async () => w.relais.runtime.outbound?.listener?.isLeader(), 'listener elected');
  });
  afterAll(async () => { await w?.stop(); });

  it('relays an agent reply with WhatsApp formatting, and never echoes the bot\'s own posts', async () => {
    const before = sent(w).length;
    w.chat.agentPost('alice', channel, 'Hello **Sheena**, your order ~~is late~~ ships _today_: [track it](https://ex.com/t/1)');
    const msg = await eventually(async () => sent(w).slice(before).find((m) => m.type === 'text'), 'text sent');
    expect(msg.to).toBe(CUSTOMER);
    expect((msg.body.text as { body: string }).body).toBe('Hello *Sheena*, your order ~is late~ ships _today_: track it (https://ex.com/t/1)');
    // Only the agent's post went out: the customer's own message (posted by the bot) did not.
    expect(sent(w).slice(before)).toHaveLength(1);
  });

  it('keeps internal notes and !wa commands away from the customer', async () => {
    const before = sent(w).length;
    w.chat.agentPost('bob', channel, '// note for colleagues: customer is a VIP');
    w.chat.agentPost('bob', channel, '!wa help');
    await eventually(async () => notices(w, channel).some((p) => /WhatsApp commands/.test(p.text)), 'help answer');
    w.chat.agentPost('bob', channel, 'marker after the note');
    await eventually(async () => sent(w).slice(before).some((m) => JSON.stringify(m.body).includes('marker after the note')), 'marker sent');
    expect(sent(w).slice(before)).toHaveLength(1);
  });

  it('sends a file by uploading it to WhatsApp (never by public link)', async () => {
    const before = sent(w).length;
    const file = w.chat.agentUpload('alice', channel, 'invoice.pdf', new TextEncoder().encode('%PDF-1.4 invoice bytes'));
    w.chat.agentPost('alice', channel, 'Here is your invoice', { fileIds: [file.id] });
    const msg = await eventually(async () => sent(w).slice(before).find((m) => m.type === 'document'), 'document sent');
    const doc = msg.body.document as { id: string; filename: string; caption?: string; link?: string };
    expect(doc.link).toBeUndefined();
    expect(doc.filename).toBe('invoice.pdf');
    expect(doc.caption).toBe('Here is your invoice');
    expect(Buffer.from(w.graph.fake.media.get(doc.id)!.bytes).toString()).toBe('%PDF-1.4 invoice bytes');
  });

  it('answers in thread as a WhatsApp reply to the customer message', async () => {
    const root = w.chat.posts(channel).find((p) => p.relaisId && !p.rootId)!;
    const before = sent(w).length;
    w.chat.agentPost('alice', channel, 'Answering this one', { rootId: root.id });
    const msg = await eventually(async () => sent(w).slice(before).find((m) => m.type === 'text'), 'reply sent');
    expect((msg.body.context as { message_id: string }).message_id).toMatch(/^wamid\..*\.open$/);
  });

  it('turns an agent reaction on a customer message into a WhatsApp reaction, and its removal too', async () => {
    const root = w.chat.posts(channel).find((p) => p.relaisId && !p.rootId)!;
    const before = sent(w).length;
    await w.chat.agentReact('alice', root.id, 'thumbsup', true);
    const r = await eventually(async () => sent(w).slice(before).find((m) => m.type === 'reaction'), 'reaction sent');
    expect(r.body.reaction).toMatchObject({ emoji: '👍' });
    await w.chat.agentReact('alice', root.id, 'thumbsup', false);
    await eventually(async () => sent(w).slice(before).some((m) => m.type === 'reaction' && (m.body.reaction as { emoji: string }).emoji === ''), 'reaction removed');
  });

  it('shows delivery state on the agent\'s post, monotonic whatever order statuses arrive in', async () => {
    const before = sent(w).length;
    const post = w.chat.agentPost('alice', channel, 'status tracking');
    const msg = await eventually(async () => sent(w).slice(before).find((m) => m.type === 'text'), 'sent');
    const ctx = { wabaId: '102290129340398', phoneNumberId: '106540352242922', displayPhoneNumber: '15550783881' };
    const status = (s: 'sent' | 'delivered' | 'read') => JSON.stringify(buildStatusWebhook(ctx, { wamid: msg.wamid, recipientId: CUSTOMER, status: s }));
    expect((await w.relais.postWebhook(status('read'))).status).toBe(200);
    expect((await w.relais.postWebhook(status('delivered'))).status).toBe(200);
    await eventually(async () => w.chat.botReactions(post.id).includes(w.chat.emoji.eyes), 'read indicator');
    await new Promise((r) => setTimeout(r, 500));
    expect(w.chat.botReactions(post.id)).toEqual([w.chat.emoji.eyes]);
  });

  it('retries rate limits (429 twice) and sends exactly one message', async () => {
    const before = sent(w).length;
    w.graph.fake.failNext({ target: 'messages', times: 2, status: 429, graphError: { code: 130429, message: 'Rate limit hit' }, retryAfterSeconds: 0 });
    w.chat.agentPost('alice', channel, 'after a rate limit');
    await eventually(async () => sent(w).slice(before).length === 1, 'one message');
    await new Promise((r) => setTimeout(r, 1000));
    expect(sent(w).slice(before)).toHaveLength(1);
  });

  it('does not retry 131047 and tells the agent why, in the thread', async () => {
    const before = sent(w).length;
    w.graph.fake.failNext({ target: 'messages', times: 1, status: 400, graphError: { code: 131047, message: 'Re-engagement message' } });
    const post = w.chat.agentPost('alice', channel, 'this one is refused');
    const notice = await eventually(async () => notices(w, channel).find((p) => p.rootId === post.id), 'notice in thread');
    expect(notice.text).toMatch(/131047/);
    await new Promise((r) => setTimeout(r, 1000));
    expect(sent(w).slice(before)).toHaveLength(0);
    expect(await w.relais.count('outbox', `state = 'failed' and error_code = 'whatsapp_131047'`)).toBe(1);
  });

  it('with the window closed, does not send and offers the templates', async () => {
    // Templates were synced from the Graph API at start (WHATSAPP_BUSINESS_ACCOUNT_ID is set).
    await eventually(async () => (await w.relais.count('templates')) === 2, 'templates synced');
    await w.relais.query(`update customers set last_inbound_at = now() - interval '25 hours'`);
    const before = sent(w).length;
    const post = w.chat.agentPost('alice', channel, 'too late for free text');
    const notice = await eventually(async () => notices(w, channel).find((p) => p.rootId === post.id), 'window notice');
    expect(notice.text).toMatch(/24 hours/);
    expect(notice.text).toMatch(/relais_follow_up/);
    expect(sent(w).slice(before)).toHaveLength(0);
  });

  it('validates template parameters, then sends the template (window still closed)', async () => {
    try {
      const before = sent(w).length;
      const bad = w.chat.agentPost('alice', channel, '!wa template relais_follow_up en_US "Sheena"');
      const answer = await eventually(async () => notices(w, channel).find((p) => p.rootId === bad.id), 'validation answer');
      expect(answer.text).toMatch(/body needs 2 parameter\(s\), got 1/);
      w.chat.agentPost('alice', channel, '!wa template relais_follow_up en_US "Sheena Nelson" "#A-12345"');
      const msg = await eventually(async () => sent(w).slice(before).find((m) => m.type === 'template'), 'template sent');
      expect(msg.body.template).toMatchObject({ name: 'relais_follow_up', language: { code: 'en_US' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'Sheena Nelson' }, { type: 'text', text: '#A-12345' }] }] });
    } finally {
      await w.relais.query(`update customers set last_inbound_at = now()`);
    }
  });

  it('relays exactly once what agents posted while the websocket was down', async () => {
    const before = sent(w).length;
    w.chat.dropConnections();
    w.chat.agentPost('carol', channel, 'posted while disconnected 1');
    w.chat.agentPost('carol', channel, 'posted while disconnected 2');
    await eventually(async () => sent(w).slice(before).length >= 2, 'both sent after reconnection', 600);
    await new Promise((r) => setTimeout(r, 1500));
    const bodies = sent(w).slice(before).map((m) => (m.body.text as { body: string }).body);
    expect(bodies).toEqual(['posted while disconnected 1', 'posted while disconnected 2']);
  });

  it('relays exactly once what agents posted while Relais was stopped', async () => {
    const before = sent(w).length;
    await w.relais.stopRuntime();
    w.chat.agentPost('alice', channel, 'posted while Relais was down');
    await w.relais.start();
    await eventually(async () => sent(w).slice(before).length >= 1, 'sent after restart', 600);
    await new Promise((r) => setTimeout(r, 1500));
    expect(sent(w).slice(before).map((m) => (m.body.text as { body: string }).body)).toEqual(['posted while Relais was down']);
  });

  it('marks the customer\'s messages as read when an agent answers', () => {
    expect(w.graph.fake.readMarks().length).toBeGreaterThan(0);
  });

  // Last: it leaves the deployment "not ready" until the token is renewed.
  it('an expired token (190) is explained to the agent and flips /readyz and a metric for ops', async () => {
    const tokenCheck = async () => ((await (await w.relais.runtime.app.request('/readyz')).json()) as { checks: { name: string; ok: boolean }[] }).checks.find((c) => c.name === 'whatsapp_token');
    expect(await tokenCheck()).toMatchObject({ ok: true });
    // Twice: a mark-as-read of the previous reply may still be on its way to the same endpoint.
    w.graph.fake.failNext({ target: 'messages', times: 2, status: 401, graphError: { code: 190, message: 'Error validating access token' } });
    const post = w.chat.agentPost('alice', channel, 'token about to fail');
    const notice = await eventually(async () => notices(w, channel).find((p) => p.rootId === post.id), 'notice');
    expect(notice.text).toMatch(/access token/i);
    const ready = await w.relais.runtime.app.request('/readyz');
    expect(ready.status).toBe(503);
    expect(await tokenCheck()).toMatchObject({ ok: false, detail: expect.stringMatching(/WHATSAPP_ACCESS_TOKEN/) });
    expect((await w.relais.runtime.app.request('/readyz/webhooks')).status).toBe(200);
    expect(await (await w.relais.runtime.app.request('/metrics')).text()).toMatch(/relais_whatsapp_token_valid 0/);
    expect(w.relais.logs.text()).not.toContain(w.graph.accessToken);
  });
});
