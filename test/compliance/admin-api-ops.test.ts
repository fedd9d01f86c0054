import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../../src/compliance/api-tokens.js';
import { listAudit } from '../../src/compliance/audit.js';
import { recordConfigChanges } from '../../src/compliance/config-audit.js';
import { loadConfig } from '../../src/config/load.js';
import { adminApiRoutes } from '../../src/http/routes/admin-api/index.js';
import { QUEUES } from '../../src/queue/boss.js';
import { buildMessageWebhook } from '../../src/simulator/webhook-builder.js';
import { FIXTURE_NUMBERS, startTestRelais, type TestRelais } from '../helpers/relais.js';

let r: TestRelais;
beforeAll(async () => { r = await startTestRelais({ workers: false, persistent: true }); });
afterAll(async () => { await r?.stop(); });

const token = async (name: string, scopes: ('read' | 'gdpr' | 'admin')[], on = r) => (await createApiToken(on.runtime.database.db, on.runtime.ring, { name, scopes, actor: 'cli:test' })).token;
const get = (app: { request: typeof r.runtime.app.request }, path: string, t?: string, method = 'GET') =>
  app.request(`/api/v1${path}`, { method, headers: t ? { authorization: `Bearer ${t}` } : {} });

async function inbound(waId: string, body: string): Promise<{ messageId: string; customerId: string }> {
  const { payload } = buildMessageWebhook({ wabaId: '1000001', phoneNumberId: FIXTURE_NUMBERS[0]!, displayPhoneNumber: '+1 555 010 0001' }, { waId, name: 'Customer' }, { type: 'text', body });
  expect((await r.postWebhook(JSON.stringify(payload))).status).toBe(200);
  const [row] = await r.query('select id, customer_id from messages order by received_at desc limit 1');
  return { messageId: String(row!.id), customerId: String(row!.customer_id) };
}

describe('admin API: dead letters', () => {
  it('lists dead-lettered relay jobs (ids and codes only) and redrives them back into the relay queue', async () => {
    const admin = await token('ops', ['admin']);
    const boss = r.runtime.queue.boss;
    // A job that exhausted its retries: pg-boss moves a copy to relay_dlq and parks the original as failed.
    const a = await inbound('33611111111', 'first message');
    const [jobA] = await boss.fetch<{ messageId: string }>(QUEUES.relay);
    expect(jobA!.data.messageId).toBe(a.messageId);
    await r.query(`update pgboss.job set retry_limit = 0 where id = '${jobA!.id}'`);
    await boss.fail(QUEUES.relay, jobA!.id, { code: 'chat_unreachable', message: 'secret detail 33611111111' });
    // A permanent failure: the relay worker marks the message failed and parks its own copy.
    const b = await inbound('33622222222', 'second message');
    const [jobB] = await boss.fetch<{ messageId: string }>(QUEUES.relay);
    await boss.complete(QUEUES.relay, jobB!.id);
    await r.query(`update messages set relay_state = 'failed', relay_error = 'unsupported' where id = '${b.messageId}'`);
    await boss.send(QUEUES.relayDead, { messageId: b.messageId, code: 'unsupported', text: 'never shown 33622222222' });

    const listed = await get(r.runtime.app, '/dead-letters?queue=relay', admin);
    expect(listed.status).toBe(200);
    const body = await listed.text();
    const { deadLetters, nextAfter } = JSON.parse(body) as { deadLetters: Record<string, unknown>[]; nextAfter: string | null };
    expect(nextAfter).toBeNull();
    expect(deadLetters).toEqual([
      expect.objectContaining({ queue: 'relay', messageId: a.messageId, customerId: a.customerId, errorCode: 'chat_unreachable', retries: 0 }),
      expect.objectContaining({ queue: 'relay', messageId: b.messageId, errorCode: 'unsupported', originalCreatedAt: null }),
    ]);
    expect(body).not.toMatch(/secret|never shown|3361|3362/);
    const page = await get(r.runtime.app, '/dead-letters?queue=relay&limit=1', admin);
    expect((await page.json()).nextAfter).toBe(deadLetters[0]!.id);
    expect((await (await get(r.runtime.app, '/dead-letters?queue=send', admin)).json()).deadLetters).toEqual([]);

    // Redrive A: the parked original holds the conversation's key, so it is retried in place.
    const ra = await get(r.runtime.app, `/dead-letters/${deadLetters[0]!.id}/redrive`, admin, 'POST');
    expect(await ra.json()).toEqual({ id: deadLetters[0]!.id, queue: 'relay', via: 'retry' });
    const [retried] = await boss.findJobs(QUEUES.relay, { id: jobA!.id });
    expect(retried!.state).toBe('retry');
    // Redrive B: the message is pending again and a new job is keyed by its customer.
    const rb = await get(r.runtime.app, `/dead-letters/${deadLetters[1]!.id}/redrive`, admin, 'POST');
    expect(await rb.json()).toMatchObject({ queue: 'relay', via: 'requeue' });
    expect((await r.query(`select relay_state from messages where id = '${b.messageId}'`))[0]!.relay_state).toBe('pending');
    const queued = await boss.findJobs<{ messageId: string }>(QUEUES.relay, { data: { messageId: b.messageId }, queued: true });
    expect(queued.map((j) => [j.state, j.singletonKey])).toEqual([['created', b.customerId]]);

    expect((await (await get(r.runtime.app, '/dead-letters?queue=relay', admin)).json()).deadLetters).toEqual([]);
    const again = await get(r.runtime.app, `/dead-letters/${deadLetters[0]!.id}/redrive`, admin, 'POST');
    expect(again.status).toBe(404);
    const audit = (await listAudit(r.runtime.database.db, { limit: 100 })).filter((e) => e.action === 'dead_letter.redrive');
    expect(audit.map((e) => [e.actor, e.target, e.details.via])).toEqual([
      ['api:ops', deadLetters[1]!.id, 'requeue'], ['api:ops', deadLetters[0]!.id, 'retry'],
    ]);
  });
});

describe('admin API: rate limits (3 a minute)', () => {
  let rl: TestRelais;
  beforeAll(async () => { rl = await startTestRelais({ workers: false, env: { ADMIN_API_RATE_PER_MINUTE: '3' } }); });
  afterAll(async () => { await rl?.stop(); });

  it('refuses a token over its budget with 429 and Retry-After, also through another replica', async () => {
    const t = await token('busy', ['read'], rl);
    for (let i = 0; i < 3; i++) expect((await get(rl.runtime.app, '/conversations', t)).status).toBe(200);
    const refused = await get(rl.runtime.app, '/conversations', t);
    expect(refused.status).toBe(429);
    expect((await refused.json()).error.code).toBe('rate_limited');
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Another replica on the same database shares the counters.
    const rt = rl.runtime;
    const replica = adminApiRoutes({
      compliance: { db: rt.database.db, ring: rt.ring, keys: rt.keys, config: (await loadConfig(rl.env)).config!, logger: rl.logs.logger },
      queue: rt.queue, ratePerMinute: 3, services: {}, version: 'test',
    });
    expect((await replica.request('/conversations', { headers: { authorization: `Bearer ${t}` } })).status).toBe(429);
    // Another token still has its own budget.
    expect((await get(rl.runtime.app, '/conversations', await token('calm', ['read'], rl))).status).toBe(200);
  });

  it('blocks an address after too many failed authentications, whatever token it then presents', async () => {
    const good = await token('late', ['read'], rl);
    for (let i = 0; i < 3; i++) expect((await get(rl.runtime.app, '/conversations', 'rls_wrong')).status).toBe(401);
    const blocked = await get(rl.runtime.app, '/conversations', good);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const failures = (await listAudit(rl.runtime.database.db, { limit: 100 })).filter((e) => e.action === 'api.auth_failed');
    expect(failures).toHaveLength(3); // refusals while blocked are not audited one by one
  });
});

describe('config.changed', () => {
  it('is recorded once at first start, not on an unchanged restart, and names what changed (secrets by name only)', async () => {
    const changes = async () => (await listAudit(r.runtime.database.db, { limit: 1000 })).filter((e) => e.action === 'config.changed');
    const [initial] = await changes();
    expect(initial).toMatchObject({ actor: 'system', details: { initial: true } });
    expect(initial!.details.settings).toEqual(expect.arrayContaining(['compliance.adminApi.ratePerMinute', 'port']));
    expect(initial!.details.secrets).toEqual(expect.arrayContaining(['whatsapp.appSecret', 'masterKey.inline']));
    await r.restart();
    expect(await changes()).toHaveLength(1);

    const config = (await loadConfig(r.env)).config!;
    const changed = { ...config, compliance: { ...config.compliance, retentionDays: 30 }, whatsapp: { ...config.whatsapp, appSecret: 'rotated-app-secret-value' } };
    expect(await recordConfigChanges(r.runtime.database.db, r.runtime.ring, changed)).toEqual(['compliance.retentionDays', 'whatsapp.appSecret']);
    expect(await recordConfigChanges(r.runtime.database.db, r.runtime.ring, changed)).toEqual([]);
    const [latest] = await changes();
    expect(latest!.details).toEqual({ settings: ['compliance.retentionDays'], secrets: ['whatsapp.appSecret'] });
    const dump = await r.dumpAll();
    expect(dump).not.toContain('rotated-app-secret-value');
    expect(dump).not.toContain(r.env.WHATSAPP_APP_SECRET);
    // Back to the original configuration at the next start: recorded again.
    await r.restart();
    expect((await changes())[0]!.details).toEqual({ settings: ['compliance.retentionDays'], secrets: ['whatsapp.appSecret'] });
  });
});
