/**
 * `exportCustomer` after a real conversation on each chat platform: customer messages (text,
 * image, document, a reply) to two business numbers, agents' replies (text and a file) with
 * delivery statuses, one message whose content retention already removed, and another person who
 * must not appear. The ZIP is opened and compared with what was really sent.
 */
import { createHash } from 'node:crypto';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsImport from 'ajv-formats';
import { strFromU8, unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blindIndex } from '../../src/archive/blind-index.js';
import { listAudit, verifyAuditChain } from '../../src/compliance/audit.js';
import { exportCustomer } from '../../src/compliance/export.js';
import { exportDocumentSchema, type ExportDocument } from '../../src/compliance/export-schema.js';
import { RelaisError } from '../../src/core/errors.js';
import { CHAT_PLATFORMS } from '../helpers/chat-world.js';
import type { World } from '../helpers/world.js';
import { agentAnswers, allRelayed, channelOf, cliDeps, OTHER_BUSINESS, say, startDsrWorld, status, type Person } from './dsr-world.js';

const addFormats = ((addFormatsImport as unknown as { default?: unknown }).default ?? addFormatsImport) as unknown as (ajv: Ajv2020) => Ajv2020;

const ANA: Person = { waId: '33612345678', name: 'Ana <b>"Souza"</b> & co' };
const BRUNO: Person = { waId: '4915112345678', name: 'Bruno' };
const HOSTILE = 'Bonjour <script>alert("x")</script> & <img src=x onerror=alert(1)>';

describe.each(CHAT_PLATFORMS)('data-subject export on %s', (platform) => {
  let w: World;
  const photo = new Uint8Array(4096).map((_, i) => (i * 7) % 256);
  const invoice = new TextEncoder().encode('%PDF-1.4 facture de mars');
  const wamids: Record<string, string> = {};
  let agentWamid = '';
  let zip: Record<string, Uint8Array>;
  let doc: ExportDocument;
  let result: Awaited<ReturnType<typeof exportCustomer>>;
  let logs = '';

  beforeAll(async () => {
    w = await startDsrWorld(platform);
    const photoId = w.graph.fake.addMedia({ bytes: photo, mimeType: 'image/jpeg' });
    const invoiceId = w.graph.fake.addMedia({ bytes: invoice, mimeType: 'application/pdf', filename: 'Facture mars.pdf' });
    wamids.hello = await say(w, ANA, { type: 'text', body: HOSTILE });
    wamids.photo = await say(w, ANA, { type: 'image', mediaId: photoId, caption: 'la photo du colis' });
    wamids.invoice = await say(w, ANA, { type: 'document', mediaId: invoiceId, filename: 'Facture mars.pdf' });
    wamids.old = await say(w, ANA, { type: 'text', body: 'message purged by retention' });
    wamids.reply = await say(w, ANA, { type: 'text', body: 'about the photo' }, { replyTo: wamids.photo });
    await say(w, ANA, { type: 'text', body: 'to the other line' }, { business: OTHER_BUSINESS });
    await say(w, BRUNO, { type: 'text', body: 'Bruno private words' });
    await allRelayed(w);
    const channel = await channelOf(w, ANA);
    const sent = await agentAnswers(w, channel, 'Bonjour Ana, nous regardons.');
    agentWamid = sent.wamid;
    for (const s of ['sent', 'delivered', 'read'] as const) await status(w, ANA, agentWamid, s);
    await agentAnswers(w, channel, 'Voici le devis', { name: 'devis.pdf', bytes: new TextEncoder().encode('%PDF devis') });
    // Retention removed one message's content earlier (as src/compliance/retention.ts leaves it).
    const oldBidx = blindIndex(w.relais.runtime.ring, 'wamid', wamids.old);
    await w.relais.query(`update messages set content_enc = ''::bytea, wamid_enc = null, content_purged_at = now() where wamid_bidx = '${oldBidx}'`);
    await settle(w);

    const deps = await cliDeps(w);
    result = await exportCustomer(deps, '+33 6 12 34 56 78', { actor: 'cli:dpo' });
    logs = deps.logs.text();
    zip = unzipSync(result.zip);
    doc = JSON.parse(strFromU8(zip['export.json']!)) as ExportDocument;
    await deps.platform?.close();
  });
  afterAll(async () => { await w?.stop(); });

  it('writes export.json valid against the shipped JSON Schema and the zod schema', () => {
    expect(Object.keys(zip).sort()).toEqual(expect.arrayContaining(['export.json', 'export.schema.json', 'transcript.html']));
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    const validate = ajv.compile(JSON.parse(strFromU8(zip['export.schema.json']!)));
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    expect(() => exportDocumentSchema.parse(doc)).not.toThrow();
    expect(doc).toMatchObject({ format: 'relais.subject-export', version: 1, subject: { phone: '+33612345678' }, language: 'en' });
  });

  it('holds both conversations of the person, and nothing of anyone else', () => {
    expect(result).toMatchObject({ customers: 2, media: 2 });
    expect(doc.customers.map((c) => c.businessNumber.phoneNumberId)).toEqual([BUSINESS_1, BUSINESS_2]);
    for (const c of doc.customers) expect(c.identity).toMatchObject({ waId: ANA.waId, profileName: ANA.name });
    const all = strFromU8(zip['export.json']!) + strFromU8(zip['transcript.html']!);
    expect(all).not.toContain('Bruno');
    expect(all).not.toContain(BRUNO.waId);
    expect(doc.counts).toEqual({ customers: 2, messages: result.messages, media: 2 });
  });

  it('has every message both ways, in order, with authors, texts and timestamps', () => {
    const [main, other] = doc.customers;
    const lines = main!.messages.map((m) => [m.author, m.type, m.text ?? null]);
    expect(lines).toEqual([
      ['customer', 'text', HOSTILE],
      ['customer', 'media', 'la photo du colis'],
      ['customer', 'media', null],
      ['customer', 'text', null],
      ['customer', 'text', 'about the photo'],
      ['agent', 'text', 'Bonjour Ana, nous regardons.'],
      ['agent', 'media', 'Voici le devis'],
    ]);
    expect(other!.messages.map((m) => m.text)).toEqual(['to the other line']);
    for (const m of main!.messages) expect(m.timestamps.sentAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    const inbound = main!.messages.filter((m) => m.direction === 'inbound');
    for (const m of inbound) expect(m.timestamps.relayedAt).toBeDefined();
    expect(main!.messages[4]!.replyTo).toBe(main!.messages[1]!.id);
    expect(result.messages).toBe(8);
  });

  it('shows a message whose content retention removed as such, with its metadata', () => {
    const purged = doc.customers[0]!.messages[3]!;
    expect(purged.contentRemoved).toMatchObject({ reason: 'retention' });
    expect(purged.text).toBeUndefined();
    expect(purged.content).toBeUndefined();
    expect(strFromU8(zip['export.json']!)).not.toContain('message purged by retention');
    expect(strFromU8(zip['transcript.html']!)).toContain('content removed by retention');
  });

  it('includes the media bytes exactly as the customer sent them, named and hashed', () => {
    const [photoMsg, docMsg] = doc.customers[0]!.messages.slice(1, 3);
    const p = photoMsg!.media[0]!;
    const d = docMsg!.media[0]!;
    expect(p).toMatchObject({ kind: 'image', state: 'stored', mimeType: 'image/jpeg', size: photo.byteLength });
    expect(zip[p.file!]).toEqual(photo);
    expect(p.sha256).toBe(createHash('sha256').update(photo).digest('hex'));
    expect(d).toMatchObject({ kind: 'document', state: 'stored', name: 'Facture mars.pdf', mimeType: 'application/pdf' });
    expect(d.file).toMatch(/^media\/[0-9a-f-]{36}-Facture mars\.pdf$/);
    expect(zip[d.file!]).toEqual(invoice);
    const agentFile = doc.customers[0]!.messages[6]!.media[0]!;
    expect(agentFile).toMatchObject({ state: 'held_by_chat', name: 'devis.pdf' });
    expect(JSON.stringify(doc)).not.toMatch(/"mediaId"/);
  });

  it('has the delivery status history of the agent\'s reply', () => {
    const reply = doc.customers[0]!.messages[5]!;
    expect(reply.status?.current).toBe('read');
    expect(reply.status?.history.map((h) => h.status)).toEqual(['sent', 'delivered', 'read']);
    expect(reply.timestamps.deliveredToWhatsAppAt).toBeDefined();
  });

  it('renders a self-contained, escaped transcript', () => {
    const html = strFromU8(zip['transcript.html']!);
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain(`default-src 'none'`);
    expect(html).not.toMatch(/<script|<img|onerror=alert\(1\)>/i);
    expect(html).toContain('Bonjour &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('Ana &lt;b&gt;&quot;Souza&quot;&lt;/b&gt; &amp; co');
    expect(html).not.toMatch(/https?:\/\//);
    for (const m of doc.customers[0]!.messages.flatMap((x) => x.media).filter((f) => f.file)) {
      expect(html).toContain(`href="${m.file!.split('/').map(encodeURIComponent).join('/')}"`);
    }
  });

  it('audits the export with customer ids and counts only', async () => {
    const [entry] = (await listAudit(w.relais.runtime.database.db, { limit: 50 })).filter((e) => e.action === 'export');
    expect(entry).toMatchObject({ actor: 'cli:dpo', target: doc.customers.map((c) => c.id).join(',') });
    expect(Object.keys(entry!.details).sort()).toEqual(['bytes', 'customers', 'media', 'messages']);
    expect(JSON.stringify(entry)).not.toContain(ANA.waId);
    for (const secret of [ANA.waId, 'Souza', 'alert', 'colis']) expect(logs).not.toContain(secret);
    expect((await verifyAuditChain(w.relais.runtime.database.db, w.relais.runtime.ring)).ok).toBe(true);
  });

  it('speaks French when the deployment does', async () => {
    const deps = await cliDeps(w, { language: 'fr', platform: null });
    const fr = unzipSync((await exportCustomer(deps, '0033612345678', { actor: 'cli:dpo' })).zip);
    const html = strFromU8(fr['transcript.html']!);
    expect(html).toContain('<html lang="fr">');
    expect(html).toContain('contenu supprimé par la durée de conservation');
    expect(html).toContain('Conversation avec');
  });

  it('refuses an unknown or malformed number clearly, without echoing it', async () => {
    const deps = await cliDeps(w, { platform: null });
    const unknown = await exportCustomer(deps, '+1 202 555 0100', { actor: 'cli:dpo' }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(RelaisError);
    expect(unknown).toMatchObject({ code: 'not_found' });
    expect((unknown as Error).message).not.toContain('2025550100');
    await expect(exportCustomer(deps, '06 12 34 56 78', { actor: 'cli:dpo' })).rejects.toMatchObject({ code: 'invalid_phone' });
  });
});

const BUSINESS_1 = '106540352242922';
const BUSINESS_2 = '1122334455667';

/** Lets the send worker finish before the export reads the outbox. */
async function settle(w: World): Promise<void> {
  for (let i = 0; i < 100 && (await w.relais.count('outbox', `state in ('queued', 'sending')`)) > 0; i++) await new Promise((r) => setTimeout(r, 50));
}
