import { createHmac } from 'node:crypto';
import { Hono } from 'hono';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createSimulator, listen, type RunningServer, type Simulator } from '../fakes/graph-api.js';

// The whole simulator mounted at /simulator, as Relais does in development, with a stand-in
// for Relais' webhook endpoint that checks signatures the way Relais must.

const APP_SECRET = 'sim-app-secret';
const TOKEN = 'sim-token';
const PHONE_ID = '100000000000001';

interface Hook { valid: boolean; json: { entry: { id: string; changes: { value: Record<string, unknown> }[] }[] } }
let hooks: Hook[] = [];
let failNextWebhooks = 0;
let relais: RunningServer;
let server: RunningServer;
let sim: Simulator;
let graph: string;

const value = (h: Hook): Record<string, unknown> => h.json.entry[0]!.changes[0]!.value;
const message = (h: Hook): Record<string, unknown> => (value(h).messages as Record<string, unknown>[])[0]!;
const status = (h: Hook): Record<string, unknown> => (value(h).statuses as Record<string, unknown>[])[0]!;
const api = (path: string, body?: unknown): Promise<Response> =>
  fetch(`${server.origin}/simulator/api/${path}`, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const asBusiness = (path: string, init: RequestInit = {}): Promise<Response> =>
  fetch(`${graph}${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) } });
const customer = { waId: '33612345678', name: 'Camille Durand' };

beforeAll(async () => {
  const receiver = new Hono();
  receiver.post('/webhooks/whatsapp', async (c) => {
    const bytes = Buffer.from(await c.req.arrayBuffer());
    const expected = `sha256=${createHmac('sha256', APP_SECRET).update(bytes).digest('hex')}`;
    hooks.push({ valid: c.req.header('x-hub-signature-256') === expected, json: JSON.parse(bytes.toString('utf8')) as Hook['json'] });
    if (failNextWebhooks > 0) {
      failNextWebhooks -= 1;
      return c.text('database down', 503);
    }
    return c.text('ok');
  });
  relais = await listen(receiver);

  const parent = new Hono();
  server = await listen(parent);
  graph = `${server.origin}/simulator/graph/v23.0`;
  sim = createSimulator({
    graphBase: graph, webhookUrl: `${relais.origin}/webhooks/whatsapp`, appSecret: APP_SECRET, accessToken: TOKEN,
    phoneNumberId: PHONE_ID, displayPhoneNumber: '+1 555 010 0001', delivery: { sleep: async () => undefined },
  });
  parent.route('/simulator', sim.app);
});
afterAll(async () => {
  sim.dispose();
  await server.close();
  await relais.close();
});
beforeEach(() => { hooks = []; failNextWebhooks = 0; });

describe('simulator: the page where Relais mounts it', () => {
  it('answers /simulator, /simulator/ and /simulator/index.html', async () => {
    for (const path of ['/simulator', '/simulator/', '/simulator/index.html']) {
      const res = await fetch(`${server.origin}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await res.text()).toContain('<html lang="en">');
    }
  });
});

describe('simulator: the customer writes', () => {
  it('sends a signed text webhook in Meta\'s shape and lists it in the state', async () => {
    const res = await api('messages', { customer, content: { type: 'text', body: 'Bonjour, ma commande est arrivée cassée 😢' } });
    expect(res.status).toBe(200);
    const { wamid, status: webhookStatus } = (await res.json()) as { wamid: string; status: number };
    expect(webhookStatus).toBe(200);
    expect(hooks).toHaveLength(1);
    expect(hooks[0]!.valid).toBe(true);
    expect(value(hooks[0]!)).toMatchObject({
      messaging_product: 'whatsapp',
      metadata: { display_phone_number: '15550100001', phone_number_id: PHONE_ID },
      contacts: [{ profile: { name: 'Camille Durand' }, wa_id: '33612345678' }],
    });
    expect(message(hooks[0]!)).toMatchObject({ from: '33612345678', id: wamid, type: 'text', text: { body: 'Bonjour, ma commande est arrivée cassée 😢' } });
    const state = (await (await api('state')).json()) as { inbound: { wamid: string; webhookStatus: number }[] };
    expect(state.inbound.at(-1)).toMatchObject({ wamid, webhookStatus: 200 });
  });

  it('attaches a file: registered in the fake, downloadable by Relais through the mounted Graph base', async () => {
    const form = new FormData();
    const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
    form.append('file', new Blob([bytes], { type: 'image/png' }), 'photo.png');
    const up = (await (await fetch(`${server.origin}/simulator/api/media`, { method: 'POST', body: form })).json()) as { mediaId: string; type: string };
    expect(up.type).toBe('image');
    await api('messages', { customer, content: { type: 'image', mediaId: up.mediaId, caption: 'voilà' } });
    const image = message(hooks[0]!).image as { id: string; caption: string; mime_type: string; sha256: string };
    expect(image).toMatchObject({ id: up.mediaId, caption: 'voilà', mime_type: 'image/png' });

    const info = (await (await asBusiness(`/${image.id}`)).json()) as { url: string; sha256: string };
    expect(info.url.startsWith(`${server.origin}/simulator/graph/media-download/`)).toBe(true);
    expect(Buffer.from(image.sha256, 'base64').toString('hex')).toBe(info.sha256);
    const download = await fetch(info.url, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(new Uint8Array(await download.arrayBuffer())).toEqual(bytes);
    expect((await fetch(`${server.origin}/simulator/api/media/${up.mediaId}`)).status).toBe(200);
  });

  it('sends voice notes, stickers and documents from raw bytes (sendCustomerMessage)', async () => {
    await sim.sendCustomerMessage(customer, { type: 'file', bytes: new Uint8Array([1]), mimeType: 'audio/ogg; codecs=opus', voice: true });
    await sim.sendCustomerMessage(customer, { type: 'file', bytes: new Uint8Array([1]), mimeType: 'image/webp' });
    await sim.sendCustomerMessage(customer, { type: 'file', bytes: new Uint8Array([1]), mimeType: 'application/zip', filename: 'logs.zip', caption: 'logs' });
    expect(hooks.map((h) => message(h).type)).toEqual(['audio', 'sticker', 'document']);
    expect(message(hooks[0]!).audio).toMatchObject({ voice: true, mime_type: 'audio/ogg; codecs=opus' });
    expect(message(hooks[1]!).sticker).toMatchObject({ animated: false });
    expect(message(hooks[2]!).document).toMatchObject({ filename: 'logs.zip', caption: 'logs' });
  });

  it('retries when Relais answers 503, and reports the final status', async () => {
    failNextWebhooks = 2;
    const result = await sim.sendCustomerMessage(customer, { type: 'location', latitude: 48.8584, longitude: 2.2945, name: 'Tour Eiffel' });
    expect(result.status).toBe(200);
    expect(hooks).toHaveLength(3);
    expect(new Set(hooks.map((h) => message(h).id))).toEqual(new Set([result.wamid]));
  });

  it('refuses bad input from the page', async () => {
    expect((await api('messages', { customer: { waId: '+33 6', name: 'x' }, content: { type: 'text', body: 'x' } })).status).toBe(400);
    expect((await api('messages', { customer, content: { type: 'image', mediaId: 'nope' } })).status).toBe(400);
    expect((await api('messages', { customer, content: { type: 'button_reply', id: 'a', title: 'A' } })).status).toBe(400);
    expect((await api('statuses', { wamid: 'wamid.unknown', status: 'read' })).status).toBe(404);
    expect(hooks).toHaveLength(0);
  });
});

describe('simulator: the business answers', () => {
  it('shows outbound messages, and marking them delivered/read sends status webhooks', async () => {
    const sent = await asBusiness(`/${PHONE_ID}/messages`, {
      method: 'POST',
      body: JSON.stringify({ messaging_product: 'whatsapp', to: customer.waId, type: 'interactive', interactive: { type: 'button', body: { text: 'Un échange ?' }, action: { buttons: [{ type: 'reply', reply: { id: 'yes', title: 'Oui' } }] } } }),
    });
    const wamid = ((await sent.json()) as { messages: { id: string }[] }).messages[0]!.id;
    const outbound = async (): Promise<{ wamid: string; delivery: string; waId: string }> =>
      ((await (await api('state')).json()) as { outbound: { wamid: string; delivery: string; waId: string }[] }).outbound.find((m) => m.wamid === wamid)!;
    expect(await outbound()).toMatchObject({ delivery: 'accepted', waId: customer.waId });

    expect(await (await api('statuses', { wamid, status: 'delivered' })).json()).toEqual({ status: 200 });
    expect(status(hooks[0]!)).toMatchObject({ id: wamid, status: 'delivered', recipient_id: customer.waId });
    expect(hooks[0]!.valid).toBe(true);
    expect(value(hooks[0]!).contacts).toEqual([{ profile: { name: 'Camille Durand' }, wa_id: customer.waId }]);
    await api('statuses', { wamid, status: 'read' });
    await api('statuses', { wamid, status: 'sent' }); // out of order: sent, but the page keeps "read"
    expect(hooks.map((h) => status(h).status)).toEqual(['delivered', 'read', 'sent']);
    expect((await outbound()).delivery).toBe('read');

    // Tapping the button answers with context.
    await api('messages', { customer, content: { type: 'button_reply', id: 'yes', title: 'Oui' }, replyTo: wamid });
    expect(message(hooks[3]!)).toMatchObject({ type: 'interactive', context: { from: '15550100001', id: wamid }, interactive: { type: 'button_reply', button_reply: { id: 'yes', title: 'Oui' } } });
    await api('messages', { customer, content: { type: 'reaction', messageId: wamid, emoji: '👍' } });
    expect(message(hooks[4]!)).toMatchObject({ type: 'reaction', reaction: { message_id: wamid, emoji: '👍' } });
  });

  it('sends failed statuses with an error code', async () => {
    const sent = await asBusiness(`/${PHONE_ID}/messages`, { method: 'POST', body: JSON.stringify({ messaging_product: 'whatsapp', to: customer.waId, text: { body: 'late' } }) });
    const wamid = ((await sent.json()) as { messages: { id: string }[] }).messages[0]!.id;
    await sim.sendStatus(wamid, 'failed', [{ code: 131047 }]);
    expect(status(hooks[0]!)).toMatchObject({ status: 'failed', errors: [{ code: 131047, title: 'Re-engagement message' }] });
    expect(sim.fake.findMessage(wamid)!.delivery).toBe('failed');
    await expect(sim.sendStatus('wamid.nobody', 'read')).rejects.toThrow(/unknown wamid/);
    expect((await sim.sendStatus('wamid.nobody', 'read', undefined, { recipientId: '123456789' })).status).toBe(200);
  });

  it('shows when the business marked a customer message as read', async () => {
    const { wamid } = await sim.sendCustomerMessage(customer, { type: 'text', body: 'vu ?' });
    await asBusiness(`/${PHONE_ID}/messages`, { method: 'POST', body: JSON.stringify({ messaging_product: 'whatsapp', status: 'read', message_id: wamid }) });
    expect(((await (await api('state')).json()) as { reads: string[] }).reads).toContain(wamid);
  });

  it('can send the "sent" status by itself, like Meta (autoSentStatus)', async () => {
    const auto = createSimulator({
      graphBase: 'http://127.0.0.1:1/graph/v23.0', webhookUrl: `${relais.origin}/webhooks/whatsapp`, appSecret: APP_SECRET, accessToken: TOKEN,
      phoneNumberId: PHONE_ID, displayPhoneNumber: '15550100001', autoSentStatus: true,
    });
    const res = await auto.app.request(`/graph/v23.0/${PHONE_ID}/messages`, {
      method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messaging_product: 'whatsapp', to: customer.waId, text: { body: 'hi' } }),
    });
    const wamid = ((await res.json()) as { messages: { id: string }[] }).messages[0]!.id;
    await vi.waitFor(() => expect(hooks.map(status)).toEqual([expect.objectContaining({ id: wamid, status: 'sent' })]));
    auto.dispose();
  });
});
