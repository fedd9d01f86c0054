import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAudit } from '../../src/compliance/audit.js';
import { QUEUES } from '../../src/queue/boss.js';
import { loadConfig } from '../../src/config/load.js';
import { RETENTION_CRON, startRetentionJob } from '../../src/wiring/retention.js';
import { eventually, startTestRelais, type TestRelais } from '../helpers/relais.js';

const NUMBER = '106540352242922';

function textWebhook(waId: string, wamid: string, body: string, at: Date): string {
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [{ id: 'WABA', changes: [{ field: 'messages', value: {
      messaging_product: 'whatsapp', metadata: { display_phone_number: '15550100001', phone_number_id: NUMBER },
      contacts: [{ profile: { name: 'Elise' }, wa_id: waId }],
      messages: [{ from: waId, id: wamid, timestamp: String(Math.floor(at.getTime() / 1000)), type: 'text', text: { body } }],
    } }] }],
  });
}

describe('the daily retention job in a running Relais', () => {
  let r: TestRelais;
  beforeAll(async () => { r = await startTestRelais({ env: { RETENTION_DAYS: '30' } }); });
  afterAll(async () => { await r?.stop(); });

  it('is scheduled daily at 03:00 UTC', async () => {
    const schedules = await r.runtime.queue.boss.getSchedules(QUEUES.retention);
    expect(schedules).toHaveLength(1);
    expect(schedules[0]).toMatchObject({ name: QUEUES.retention, cron: RETENTION_CRON, timezone: 'UTC' });
    expect(RETENTION_CRON).toBe('0 3 * * *');
  });

  it('a job on the retention queue runs retention in the worker, audited and counted', async () => {
    const old = new Date(Date.now() - 40 * 86_400_000);
    expect((await r.postWebhook(textWebhook('33699999999', 'wamid.OLD-1', 'ancien message', old))).status).toBe(200);
    expect((await r.postWebhook(textWebhook('33699999999', 'wamid.NEW-1', 'message récent', new Date()))).status).toBe(200);
    await r.query(`update messages set received_at = now() - interval '40 days' where wa_timestamp < now() - interval '39 days'`);
    await r.runtime.queue.boss.send(QUEUES.retention, {});
    const entry = await eventually(async () => (await listAudit(r.runtime.database.db)).find((e) => e.action === 'retention.run'), 'retention.run audit entry');
    expect(entry).toMatchObject({ actor: 'system', details: { outcome: 'completed', messages: 1 } });
    expect(await r.count('messages', 'content_purged_at is not null')).toBe(1);
    expect(await r.count('messages', 'content_purged_at is null')).toBe(1);
    const text = await r.runtime.metrics.registry.metrics();
    expect(text).toMatch(/relais_retention_purged_total\{kind="messages"\} 1/);
    expect(text).toMatch(/relais_retention_last_run_timestamp_seconds \d+/);
  });
});

describe('without any retention setting', () => {
  it('the schedule an earlier configuration left is removed at start', async () => {
    const r = await startTestRelais({ env: {} });
    try {
      expect(await r.runtime.queue.boss.getSchedules(QUEUES.retention)).toEqual([]);
      await r.runtime.queue.boss.schedule(QUEUES.retention, RETENTION_CRON, {}, { tz: 'UTC' });
      const { config } = await loadConfig(r.env);
      await startRetentionJob({ queue: r.runtime.queue, deps: { db: r.runtime.database.db, ring: r.runtime.ring, keys: r.runtime.keys, config: config!, logger: r.logs.logger }, workers: false });
      expect(await r.runtime.queue.boss.getSchedules(QUEUES.retention)).toEqual([]);
    } finally { await r.stop(); }
  });
});
