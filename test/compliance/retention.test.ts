import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openJson } from '../../src/archive/envelope.js';
import { listAudit, verifyAuditChain } from '../../src/compliance/audit.js';
import { runRetention, type RetentionResult } from '../../src/compliance/retention.js';
import { persistWebhook } from '../../src/core/inbox.js';
import { customers, messages, outbox } from '../../src/db/schema/index.js';
import {
  NOW, NO_QUEUE, NUMBER_A, NUMBER_B, countOf, daysAgo, hold, openArchive, rows, seedAgentReply, seedMessage, type RetentionArchive,
} from './retention-seed.js';

// RETENTION_DAYS=30 for number A; number B overrides it with 7 days.
let a: RetentionArchive;
const ids: Record<string, { messageId: string; customerId: string; wamid: string }> = {};
const replies: Record<string, string> = {};
const postingsBefore: Record<string, number> = {};
let dry: RetentionResult;
let first: RetentionResult;
let second: RetentionResult;
const mediaBytes = new Uint8Array(200_000).map((_, i) => i % 251);

beforeAll(async () => {
  a = await openArchive({ RETENTION_DAYS: '30' }, [{ phoneNumberId: NUMBER_A }, { phoneNumberId: NUMBER_B, retentionDays: 7 }]);
  // Anna (A): an old message with media and postings, an old reply, a recent message → stays a customer.
  ids.annaOld = await seedMessage(a, { waId: '33611111111', name: 'Anna', at: daysAgo(45), media: mediaBytes, postings: 3 });
  ids.annaOldText = await seedMessage(a, { waId: '33611111111', at: daysAgo(31), text: 'mon IBAN est FR76…', postings: 2 });
  replies.annaOld = await seedAgentReply(a, ids.annaOld.customerId, daysAgo(31));
  ids.annaNew = await seedMessage(a, { waId: '33611111111', at: daysAgo(29), text: 'encore là', postings: 2, replyTo: ids.annaOldText.wamid });
  replies.annaNew = await seedAgentReply(a, ids.annaNew.customerId, daysAgo(2));
  // Bruno (A): only old messages, inactive → purged and retired.
  ids.brunoOld = await seedMessage(a, { waId: '33622222222', name: 'Bruno', at: daysAgo(90) });
  replies.brunoOld = await seedAgentReply(a, ids.brunoOld.customerId, daysAgo(89));
  replies.brunoQueued = await seedAgentReply(a, ids.brunoOld.customerId, daysAgo(88), 'queued');
  // Chloé (A): old messages under legal hold → untouched.
  ids.chloeOld = await seedMessage(a, { waId: '33633333333', name: 'Chloé', at: daysAgo(200), media: mediaBytes, postings: 1 });
  await hold(a, ids.chloeOld.customerId);
  // Dario (B, 7 days): 10 days old → purged (B's override), though A's 30 days would keep it.
  ids.darioOld = await seedMessage(a, { number: NUMBER_B, waId: '33644444444', name: 'Dario', at: daysAgo(10) });
  ids.darioNew = await seedMessage(a, { number: NUMBER_B, waId: '33644444444', at: daysAgo(6) });
  // A number that left the configuration: the global 30 days still applies.
  ids.gone = await seedMessage(a, { number: '999999999', waId: '33655555555', at: daysAgo(31) });

  postingsBefore.annaNew = await countOf(a, 'message_tokens', `message_id = '${ids.annaNew.messageId}'`);
  postingsBefore.chloeOld = await countOf(a, 'message_tokens', `message_id = '${ids.chloeOld.messageId}'`);
  dry = await runRetention(a.deps, { dryRun: true, actor: 'cli:test' });
  first = await runRetention(a.deps, { actor: 'system', batchSize: 2 });
  second = await runRetention(a.deps, { actor: 'system', batchSize: 2 });
});
afterAll(async () => { await a?.close(); });

async function message(id: string) {
  const [m] = await a.database.db.select().from(messages).where(eq(messages.id, id));
  return m!;
}

describe('retention with a fixed clock', () => {
  it('dry run counts what the run then does, and changed nothing itself', () => {
    expect(dry.dryRun).toBe(true);
    expect({ m: dry.messagesPurged, media: dry.mediaDeleted, o: dry.outboxPurged, c: dry.customersRetired, held: dry.heldSkipped })
      .toEqual({ m: first.messagesPurged, media: first.mediaDeleted, o: first.outboxPurged, c: first.customersRetired, held: first.heldSkipped });
    expect(dry.perNumber).toEqual(first.perNumber);
  });

  it('purges messages older than the limit: content, wamid, reply index, media, frames, postings', async () => {
    expect(first).toMatchObject({ messagesPurged: 5, mediaDeleted: 1, outboxPurged: 3, customersRetired: 2, heldSkipped: 1 });
    for (const k of ['annaOld', 'annaOldText', 'brunoOld', 'darioOld', 'gone']) {
      const m = await message(ids[k]!.messageId);
      expect(m.contentPurgedAt?.toISOString(), k).toBe(NOW.toISOString());
      expect(m.contentEnc.byteLength, k).toBe(0);
      expect(m.wamidEnc, k).toBeNull();
      expect(m.refBidx, k).toBeNull();
      // Older than the 8-day redelivery horizon: the wamid index goes too.
      expect(m.wamidBidx, k).toBeNull();
      // Metadata for reports stays.
      expect(m).toMatchObject({ direction: 'inbound', type: expect.any(String) });
      expect(m.receivedAt).toBeInstanceOf(Date);
    }
    expect(await countOf(a, 'media', `message_id = '${ids.annaOld!.messageId}'`)).toBe(0);
    expect(await countOf(a, 'message_tokens', `message_id in ('${ids.annaOld!.messageId}', '${ids.annaOldText!.messageId}')`)).toBe(0);
    // Frames of the held customer's media are the only ones left.
    expect(await countOf(a, 'media')).toBe(1);
    expect(await countOf(a, 'media_frames', `media_id not in (select id from media)`)).toBe(0);
    expect(await countOf(a, 'media_frames')).toBeGreaterThan(0);
  });

  it('keeps newer messages whole and readable', async () => {
    const m = await message(ids.annaNew!.messageId);
    expect(m.contentPurgedAt).toBeNull();
    expect(m.refBidx).not.toBeNull();
    const dek = await a.keys.get(a.database.db, m.customerId, m.keyVersion);
    const stored = openJson<{ content: { text: string } }>(dek, { table: 'messages', column: 'content_enc', rowId: m.id, keyVersion: m.keyVersion }, m.contentEnc);
    expect(stored.content.text).toBe('encore là');
    expect(postingsBefore.annaNew).toBeGreaterThanOrEqual(2);
    expect(await countOf(a, 'message_tokens', `message_id = '${ids.annaNew!.messageId}'`)).toBe(postingsBefore.annaNew);
    const [r] = await a.database.db.select().from(outbox).where(eq(outbox.id, replies.annaNew!));
    expect(r!.contentPurgedAt).toBeNull();
  });

  it('applies the per-number override and the global limit to a number no longer configured', async () => {
    expect((await message(ids.darioOld!.messageId)).contentPurgedAt).not.toBeNull();
    expect((await message(ids.darioNew!.messageId)).contentPurgedAt).toBeNull();
    expect((await message(ids.gone!.messageId)).contentPurgedAt).not.toBeNull();
    expect(first.perNumber[NUMBER_B]).toMatchObject({ days: 7, messages: 1, cutoff: new Date(NOW.getTime() - 7 * 86_400_000).toISOString() });
    expect(first.perNumber[NUMBER_A]).toMatchObject({ days: 30, messages: 3, media: 1, outbox: 3, customersRetired: 1, held: 1 });
    expect(first.perNumber['999999999']).toMatchObject({ days: 30, messages: 1, customersRetired: 1 });
  });

  it('purges agent messages: content and wamid gone, abandoned ones closed, state and times kept', async () => {
    const [sent] = await a.database.db.select().from(outbox).where(eq(outbox.id, replies.brunoOld!));
    expect(sent).toMatchObject({ state: 'sent', wamidEnc: null, wamidBidx: null });
    expect(sent!.contentEnc.byteLength).toBe(0);
    expect(sent!.contentPurgedAt?.toISOString()).toBe(NOW.toISOString());
    const [queued] = await a.database.db.select().from(outbox).where(eq(outbox.id, replies.brunoQueued!));
    expect(queued).toMatchObject({ state: 'failed', errorCode: 'content_purged' });
    expect(await countOf(a, 'outbox_tokens', `outbox_id in ('${replies.brunoOld}', '${replies.brunoQueued}', '${replies.annaOld}')`)).toBe(0);
    expect(await countOf(a, 'outbox_tokens', `outbox_id = '${replies.annaNew}'`)).toBe(2);
  });

  it('leaves a customer under legal hold untouched', async () => {
    const m = await message(ids.chloeOld!.messageId);
    expect(m.contentPurgedAt).toBeNull();
    expect(m.contentEnc.byteLength).toBeGreaterThan(0);
    expect(await countOf(a, 'media', `message_id = '${m.id}'`)).toBe(1);
    expect(postingsBefore.chloeOld).toBeGreaterThanOrEqual(1);
    expect(await countOf(a, 'message_tokens', `message_id = '${m.id}'`)).toBe(postingsBefore.chloeOld);
    const [c] = await a.database.db.select().from(customers).where(eq(customers.id, ids.chloeOld!.customerId));
    expect(c!.identityShreddedAt).toBeNull();
    expect(c!.waIdEnc).not.toBeNull();
  });

  it('retires a customer with nothing but purged messages: identity, phone index and data key gone, row kept', async () => {
    const [c] = await a.database.db.select().from(customers).where(eq(customers.id, ids.brunoOld!.customerId));
    expect(c).toMatchObject({ waIdEnc: null, bsuidEnc: null, profileNameEnc: null, phoneBidx: null, chatChannelId: null, customerBidx: `retired:${c!.id}` });
    expect(c!.identityShreddedAt?.toISOString()).toBe(NOW.toISOString());
    expect(await countOf(a, 'customer_keys', `customer_id = '${c!.id}'`)).toBe(0);
    expect(await countOf(a, 'messages', `customer_id = '${c!.id}'`)).toBe(1);
    // Anna wrote 29 days ago: she keeps her identity and key.
    const [anna] = await a.database.db.select().from(customers).where(eq(customers.id, ids.annaOld!.customerId));
    expect(anna!.identityShreddedAt).toBeNull();
    expect(await countOf(a, 'customer_keys', `customer_id = '${anna!.id}'`)).toBe(1);
  });

  it('a retired customer who writes again becomes a new customer with a new key', async () => {
    const k = a.keys;
    const r = await a.database.db.transaction((tx) => persistWebhook(tx, { ring: a.ring, keys: k, isKnownNumber: () => true, ...NO_QUEUE }, {
      messages: [{ phoneNumberId: NUMBER_A, wamid: 'wamid.BRUNO-BACK', timestamp: Math.floor(NOW.getTime() / 1000), customer: { waId: '33622222222', profileName: 'Bruno' }, content: { kind: 'text', text: 're-bonjour' }, markers: {} }],
      statuses: [], errors: [], otherFields: [], phoneNumberIds: [NUMBER_A],
    }));
    const [m] = await a.database.db.select().from(messages).where(eq(messages.id, r.stored[0]!.messageId));
    expect(m!.customerId).not.toBe(ids.brunoOld!.customerId);
    expect(await countOf(a, 'customer_keys', `customer_id = '${m!.customerId}'`)).toBe(1);
  });

  it('a second run is a no-op', () => {
    expect(second).toMatchObject({ messagesPurged: 0, mediaDeleted: 0, outboxPurged: 0, customersRetired: 0, heldSkipped: 1 });
  });

  it('counts in /metrics and writes one audit entry per run, without personal data', async () => {
    const text = await a.metrics.registry.metrics();
    expect(text).toMatch(/relais_retention_purged_total\{kind="messages"\} 5/);
    expect(text).toMatch(/relais_retention_purged_total\{kind="media"\} 1/);
    expect(text).toMatch(/relais_retention_purged_total\{kind="outbox"\} 3/);
    expect(text).toMatch(/relais_retention_purged_total\{kind="customers"\} 2/);
    expect(text).toMatch(new RegExp(`relais_retention_last_run_timestamp_seconds ${NOW.getTime() / 1000}`));
    expect(text).not.toMatch(/relais_retention_failures_total\{stage="run"\}/);
    const audit = (await listAudit(a.database.db)).filter((e) => e.action === 'retention.run');
    expect(audit).toHaveLength(2); // the dry run writes none
    expect(audit[1]).toMatchObject({ actor: 'system', details: { outcome: 'completed', messages: 5, media: 1, outbox: 3, customersRetired: 2, held: 1 } });
    expect((audit[1]!.details.perNumber as Record<string, unknown>)[NUMBER_B]).toMatchObject({ days: 7, messages: 1 });
    expect((await verifyAuditChain(a.database.db, a.ring)).ok).toBe(true);
    const dump = JSON.stringify(audit) + a.logs.text();
    for (const secret of ['33611111111', '33622222222', 'Anna', 'Bruno', 'IBAN', 'wamid.']) expect(dump).not.toContain(secret);
  });

  it('nothing configured: nothing purged', async () => {
    const b = await openArchive({}, [{ phoneNumberId: NUMBER_A }]);
    try {
      const m = await seedMessage(b, { waId: '33677777777', at: daysAgo(4000) });
      const r = await runRetention(b.deps, { actor: 'system' });
      expect(r).toMatchObject({ messagesPurged: 0, perNumber: {} });
      expect((await rows(b, `select content_purged_at from messages where id = '${m.messageId}'`))[0]!.content_purged_at).toBeNull();
    } finally { await b.close(); }
  });
});

describe('retention shorter than the redelivery horizon', () => {
  it('keeps the wamid index until 8 days so a late redelivery is still a duplicate, then clears it', async () => {
    const b = await openArchive({ RETENTION_DAYS: '3' }, [{ phoneNumberId: NUMBER_A }]);
    try {
      const m = await seedMessage(b, { waId: '33688888888', at: daysAgo(5), text: 'court' });
      expect(await runRetention(b.deps, { actor: 'system' })).toMatchObject({ messagesPurged: 1 });
      const [after] = await rows(b, `select content_purged_at, wamid_bidx from messages where id = '${m.messageId}'`);
      expect(after!.content_purged_at).not.toBeNull();
      expect(after!.wamid_bidx).not.toBeNull();
      // Meta redelivers the same webhook: still recognised, not stored (nor relayed) again.
      const again = await b.database.db.transaction((tx) => persistWebhook(tx, { ring: b.ring, keys: b.keys, isKnownNumber: () => true, ...NO_QUEUE }, {
        messages: [{ phoneNumberId: NUMBER_A, wamid: m.wamid, timestamp: Math.floor(daysAgo(5).getTime() / 1000), customer: { waId: '33688888888' }, content: { kind: 'text', text: 'court' }, markers: {} }],
        statuses: [], errors: [], otherFields: [], phoneNumberIds: [NUMBER_A],
      }));
      expect(again.duplicates).toHaveLength(1);
      // Four days later the message is past the horizon: the index goes, nothing is counted twice.
      const later = await runRetention({ ...b.deps, now: () => new Date(NOW.getTime() + 4 * 86_400_000) }, { actor: 'system' });
      expect(later.messagesPurged).toBe(0);
      const [gone] = await rows(b, `select wamid_bidx from messages where id = '${m.messageId}'`);
      expect(gone!.wamid_bidx).toBeNull();
    } finally { await b.close(); }
  });
});
