import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signBody } from '../../src/whatsapp/signature.js';
import { HAVE_FIXTURES, fixtureBytes, fixtureWithUniqueIds } from '../helpers/fixtures.js';
import { APP_SECRET, VERIFY_TOKEN, startTestRelais, type TestRelais } from '../helpers/relais.js';

// The webhook contract: verify, persist, acknowledge. No chat platform and no worker here:
// what is asserted is what is durably stored when the 200 goes out.
describe.skipIf(!HAVE_FIXTURES)('POST /webhooks/whatsapp (needs ../shared/fixtures)', () => {
  let r: TestRelais;
  beforeAll(async () => { r = await startTestRelais({ workers: false }); });
  afterAll(async () => { await r?.stop(); });

  it('answers the verification handshake only with the right token', async () => {
    const ok = await r.runtime.app.request(`/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=12345`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('12345');
    const bad = await r.runtime.app.request('/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=12345');
    expect(bad.status).toBe(403);
  });

  it('refuses bad and missing signatures with 401 and stores nothing', async () => {
    const body = fixtureWithUniqueIds('text.json', 'sig');
    expect((await r.postWebhook(body, { signature: null })).status).toBe(401);
    expect((await r.postWebhook(body, { signature: 'sha256=' + '0'.repeat(64) })).status).toBe(401);
    expect((await r.postWebhook(body, { signature: 'sha1=abc' })).status).toBe(401);
    expect(await r.count('messages')).toBe(0);
    expect(await r.count('quarantine')).toBe(0);
  });

  it('accepts the exact bytes Meta signed (escaped unicode included)', async () => {
    const res = await r.postWebhook(fixtureBytes('text.json'));
    expect(res.status).toBe(200);
    expect(await r.count('messages')).toBe(1);
  });

  it('stores a message once however often Meta redelivers it, with one relay job', async () => {
    const body = fixtureWithUniqueIds('image.json', 'dup');
    const before = await r.count('messages');
    for (let i = 0; i < 3; i++) expect((await r.postWebhook(body)).status).toBe(200);
    // Concurrent duplicates too.
    const all = await Promise.all([r.postWebhook(body), r.postWebhook(body)]);
    expect(all.map((x) => x.status)).toEqual([200, 200]);
    expect(await r.count('messages')).toBe(before + 1);
    expect(await r.count('pgboss.job', `name = 'relay'`)).toBe(before + 1);
  });

  it('stores concurrent webhooks without losing or doubling any', async () => {
    const before = await r.count('messages');
    const jobs = await r.count('pgboss.job', `name = 'relay'`);
    const bodies = Array.from({ length: 40 }, (_, i) => fixtureWithUniqueIds('text.json', `burst${i}`));
    const answers = await Promise.all([...bodies, ...bodies.slice(0, 10)].map((b) => r.postWebhook(b)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(await r.count('messages')).toBe(before + 40);
    expect(await r.count('pgboss.job', `name = 'relay'`)).toBe(jobs + 40);
  });

  it('refuses bodies over 3 MiB with 413', async () => {
    const big = '{"object":"whatsapp_business_account","pad":"' + 'x'.repeat(3 * 1024 * 1024) + '"}';
    const res = await r.postWebhook(big);
    expect(res.status).toBe(413);
  });

  // Over a real socket, as the Node adapter receives it: a declared length over the cap is refused
  // before the body is read, and a chunked body (no Content-Length) is counted as it arrives.
  it('applies the 3 MiB cap over HTTP to declared and chunked bodies alike', async () => {
    const server = await new Promise<ServerType>((resolve) => { const s = serve({ fetch: r.runtime.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s)); });
    const { port } = server.address() as AddressInfo;
    const post = (body: string, chunked: boolean) => new Promise<number>((resolve, reject) => {
      const bytes = Buffer.from(body);
      const headers: Record<string, string> = { 'content-type': 'application/json', 'x-hub-signature-256': signBody(APP_SECRET, bytes) };
      if (!chunked) headers['content-length'] = String(bytes.length);
      const req = httpRequest({ host: '127.0.0.1', port, path: '/webhooks/whatsapp', method: 'POST', headers }, (res) => { res.resume(); resolve(res.statusCode!); });
      req.on('error', reject);
      if (chunked) { for (let i = 0; i < bytes.length; i += 64 * 1024) req.write(bytes.subarray(i, i + 64 * 1024)); req.end(); } else req.end(bytes);
    });
    try {
      const big = '{"object":"whatsapp_business_account","pad":"' + 'x'.repeat(3 * 1024 * 1024) + '"}';
      const before = await r.count('messages');
      expect(await post(big, true)).toBe(413);
      expect(await post(fixtureWithUniqueIds('text.json', 'chunked'), true)).toBe(200);
      expect(await post(fixtureWithUniqueIds('text.json', 'declared'), false)).toBe(200);
      expect(await r.count('messages')).toBe(before + 2);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('answers 400 to signed malformed JSON and keeps the bytes in quarantine', async () => {
    const before = await r.count('quarantine');
    const res = await r.postWebhook('{"object": "whatsapp_business_account", ');
    expect(res.status).toBe(400);
    expect(await r.count('quarantine')).toBe(before + 1);
  });

  it('quarantines a signed payload for an unknown phone_number_id and answers 200', async () => {
    const body = fixtureWithUniqueIds('text.json', 'unknown').replace(/106540352242922/g, '999999999999');
    const before = await r.count('quarantine');
    const msgs = await r.count('messages');
    const res = await r.postWebhook(body);
    expect(res.status).toBe(200);
    expect(await r.count('quarantine', `reason = 'unknown_phone_number_id'`)).toBeGreaterThanOrEqual(1);
    expect(await r.count('quarantine')).toBe(before + 1);
    expect(await r.count('messages')).toBe(msgs);
    const metrics = await (await r.runtime.app.request('/metrics')).text();
    expect(metrics).toMatch(/relais_webhooks_quarantined_total\{reason="unknown_phone_number_id"\} 1/);
  });

  it('records statuses monotonically: a late "delivered" never overrides "read"', async () => {
    const read = fixtureWithUniqueIds('status_read.json', 'st');
    const delivered = fixtureWithUniqueIds('status_delivered.json', 'st');
    expect((await r.postWebhook(read)).status).toBe(200);
    expect((await r.postWebhook(delivered)).status).toBe(200);
    expect(await r.count('status_events')).toBeGreaterThanOrEqual(2);
  });

  it('never stores message text, numbers or wamids in clear', async () => {
    const marker = 'MARKER-7f3a9c-confidential';
    const body = fixtureWithUniqueIds('text.json', 'leak').replace(/"body":\s*"[^"]*"/, `"body": "${marker}"`);
    expect((await r.postWebhook(body)).status).toBe(200);
    const dump = await r.dumpAll();
    expect(dump).not.toContain(marker);
    expect(dump).not.toContain('16505551234'); // the customer's wa_id in Meta's sample
    expect(dump).not.toMatch(/wamid\.[A-Za-z0-9]/);
    expect(dump).not.toContain('Sheena Nelson'); // profile name in the sample
    expect(r.logs.text()).not.toContain(marker);
    expect(r.logs.text()).not.toContain('16505551234');
  });

  it('answers 503 when the database is unavailable, so Meta retries', async () => {
    const other = await startTestRelais({ workers: false });
    await other.runtime.queue.stop({ graceful: false, timeoutMs: 1000 });
    await other.runtime.database.close();
    const res = await other.postWebhook(fixtureWithUniqueIds('text.json', 'down'));
    expect(res.status).toBe(503);
    const ready = await other.runtime.app.request('/readyz');
    expect(ready.status).toBe(503);
    await other.stop().catch(() => undefined);
  });
});
