import { createHmac } from 'node:crypto';
import { Hono } from 'hono';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listen, sendWebhook, signWebhookBody, type RunningServer } from '../fakes/graph-api.js';

// The sender against a real local receiver that fails on demand.

interface Received { bytes: Uint8Array; signature: string | undefined; sha1: string | undefined; contentType: string | undefined }
let received: Received[] = [];
let failuresLeft = 0;
let failStatus = 500;
let server: RunningServer;

beforeAll(async () => {
  const app = new Hono();
  app.post('/webhooks/whatsapp', async (c) => {
    received.push({
      bytes: new Uint8Array(await c.req.arrayBuffer()),
      signature: c.req.header('x-hub-signature-256'),
      sha1: c.req.header('x-hub-signature'),
      contentType: c.req.header('content-type'),
    });
    if (failuresLeft > 0) {
      failuresLeft -= 1;
      return c.text('not now', failStatus as 500);
    }
    return c.text('ok');
  });
  app.post('/moved', (c) => c.redirect('/webhooks/whatsapp', 307));
  server = await listen(app);
});
afterAll(async () => { await server.close(); });
beforeEach(() => { received = []; failuresLeft = 0; failStatus = 500; });

const noWait = { sleep: async (): Promise<void> => undefined };
const delays: number[] = [];
const recordWait = { sleep: async (ms: number): Promise<void> => { delays.push(ms); } };

describe('webhook sender', () => {
  it('retries a receiver that fails twice, then succeeds, with identical signed bytes each time', async () => {
    failuresLeft = 2;
    const result = await sendWebhook({ url: `${server.origin}/webhooks/whatsapp`, appSecret: 's3cret', body: { hello: 'wörld' }, ...noWait });
    expect(result).toEqual({ status: 200, attempts: 3, ok: true });
    expect(received).toHaveLength(3);
    for (const r of received) {
      expect(r.bytes).toEqual(received[0]!.bytes);
      expect(r.signature).toBe(`sha256=${createHmac('sha256', 's3cret').update(r.bytes).digest('hex')}`);
      expect(r.sha1).toBe(`sha1=${createHmac('sha1', 's3cret').update(r.bytes).digest('hex')}`);
      expect(r.contentType).toBe('application/json');
    }
    expect(new TextDecoder().decode(received[0]!.bytes)).toBe('{"hello":"w\\u00f6rld"}');
  });

  it('backs off with doubling, capped delays and gives up after maxAttempts with the last status', async () => {
    failuresLeft = 100;
    failStatus = 503;
    delays.length = 0;
    const result = await sendWebhook({ url: `${server.origin}/webhooks/whatsapp`, appSecret: 's', body: '{}', maxAttempts: 5, baseDelayMs: 10, maxDelayMs: 50, ...recordWait });
    expect(result).toEqual({ status: 503, attempts: 5, ok: false });
    expect(delays).toEqual([10, 20, 40, 50]);
    expect(received).toHaveLength(5);
  });

  it('sends raw bytes untouched and signs exactly them', async () => {
    const raw = new TextEncoder().encode('{"a":"caf\\u00e9"}\n');
    await sendWebhook({ url: `${server.origin}/webhooks/whatsapp`, appSecret: 'k', body: raw, ...noWait });
    expect(received[0]!.bytes).toEqual(raw);
    expect(received[0]!.signature).toBe(signWebhookBody('k', raw));
  });

  it('does not follow redirects (Meta does not): a 3xx is a failed attempt', async () => {
    const result = await sendWebhook({ url: `${server.origin}/moved`, appSecret: 'k', body: '{}', maxAttempts: 2, ...noWait });
    expect(result).toMatchObject({ status: 307, ok: false, attempts: 2 });
    expect(received).toHaveLength(0);
  });

  it('reports a network error as status null after its attempts', async () => {
    const dead = await listen(new Hono());
    await dead.close();
    const result = await sendWebhook({ url: `${dead.origin}/webhooks/whatsapp`, appSecret: 'k', body: '{}', maxAttempts: 3, ...noWait });
    expect(result).toMatchObject({ status: null, attempts: 3, ok: false, error: expect.any(String) });
  });

  it('uses the injected fetch', async () => {
    const urls: string[] = [];
    const fetchImpl = (async (url: string | URL | Request) => { urls.push(String(url)); return new Response('ok'); }) as typeof fetch;
    expect(await sendWebhook({ url: 'http://relais.invalid/webhooks/whatsapp', appSecret: 'k', body: {}, fetchImpl })).toEqual({ status: 200, attempts: 1, ok: true });
    expect(urls).toEqual(['http://relais.invalid/webhooks/whatsapp']);
  });
});
