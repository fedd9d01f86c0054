import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { InboundMessage, InboundStatus, ParsedWebhook } from '../../src/core/messages.js';
import { parseWebhook } from '../../src/whatsapp/from-whatsapp.js';

const FIXTURES = fileURLToPath(new URL('../../../shared/fixtures/whatsapp/', import.meta.url));
const haveFixtures = existsSync(FIXTURES);

const enc = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));

function parseOk(bytes: Uint8Array): ParsedWebhook {
  const r = parseWebhook(bytes);
  if (!r.ok) throw new Error(`expected ok, got ${r.reason}: ${r.detail}`);
  return r.webhook;
}

const META = { phoneNumberId: '106540352242922' };
const PYWA = { phoneNumberId: '1122334455667' };
const SHEENA = { waId: '16505551234', profileName: 'Sheena Nelson' };
const PYWA_USER = { waId: '972987654321', bsuid: 'US.13491208655302741918', profileName: 'Test Name' };

type Row = {
  messages: Partial<InboundMessage>[];
  statuses?: Partial<InboundStatus>[];
  errors?: ParsedWebhook['errors'];
  phoneNumberIds?: string[];
};

/** One row per file in shared/fixtures/whatsapp: what it must turn into. */
const TABLE: Record<string, Row> = {
  'text.json': { messages: [{ ...META, customer: SHEENA, timestamp: 1749416383, content: { kind: 'text', text: 'Does it come in another color?' }, markers: {} }] },
  'text_with_context_product_inquiry.json': {
    messages: [{
      content: { kind: 'text', text: 'Is this still available?' },
      markers: {
        replyToWamid: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGA9wcm9kdWN0X2lucXVpcnkA',
        productInquiry: { catalogId: '194836987003835', productId: 'di9ozbzfi4' },
      },
    }],
  },
  'text_with_referral_ctwa.json': {
    messages: [{
      content: { kind: 'text', text: 'Hello! Can I get more info on this?' },
      markers: { referral: { sourceType: 'ad', sourceUrl: 'https://fb.me/3cr4Wqqkv', headline: 'Chat with us', body: 'Summer Succulents are here!' } },
    }],
  },
  'image.json': {
    messages: [{
      ...META,
      customer: SHEENA,
      content: { kind: 'media', media: { kind: 'image', mediaId: '1003383421387256', mimeType: 'image/jpeg', sha256: 'SfInY0gGKTsJlUWbwxC1k+FAD0FZHvzwfpvO0zX0GUI=', caption: 'Taj Mahal' } },
    }],
  },
  'audio.json': {
    messages: [{
      ...PYWA,
      customer: PYWA_USER,
      content: { kind: 'media', media: { kind: 'audio', mediaId: '1234567890987654321', mimeType: 'audio/ogg; codecs=opus', voice: false } },
      markers: { forwarded: true },
    }],
  },
  'audio_voice.json': { messages: [{ content: { kind: 'media', media: { kind: 'audio', mediaId: '1234567890987654321', voice: true } }, markers: {} }] },
  'video.json': {
    messages: [{ content: { kind: 'media', media: { kind: 'video', mediaId: '765756756', mimeType: 'video/mp4', caption: 'caption' } }, markers: { forwarded: true } }],
  },
  'document.json': {
    messages: [{
      content: { kind: 'media', media: { kind: 'document', mediaId: '1234567890987654321', mimeType: 'application/pdf', filename: 'filename.pdf', caption: 'caption' } },
      markers: { forwarded: true },
    }],
  },
  'sticker_static.json': { messages: [{ content: { kind: 'media', media: { kind: 'sticker', mediaId: '1234567890987654321', mimeType: 'image/webp', animated: false } } }] },
  'sticker_animated.json': { messages: [{ content: { kind: 'media', media: { kind: 'sticker', mediaId: '1234567890987654321', animated: true } } }] },
  'location.json': {
    messages: [{
      content: { kind: 'location', latitude: 37.44221496582, longitude: -122.16165924072, name: 'Philz Coffee', address: '101 Forest Ave, Palo Alto, CA 94301', url: 'https://philzcoffee.com/' },
    }],
  },
  'contacts.json': {
    messages: [{
      content: {
        kind: 'contacts',
        contacts: [{ name: 'Lucía Gómez', org: 'Google', phones: [{ phone: '+1 (983) 555-2319', waId: '19835552319', type: 'MOBILE' }], emails: [] }],
      },
    }],
  },
  'interactive_button_reply.json': {
    messages: [{
      content: { kind: 'choice', source: 'button', id: 'cancel-button', title: 'Cancel' },
      markers: { replyToWamid: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MEM2RUJFNkI0RENGQTVDRjUA' },
    }],
  },
  'interactive_list_reply.json': {
    messages: [{ content: { kind: 'choice', source: 'list', id: 'priority_express', title: 'Priority Mail Express', description: 'Next Day to 2 Days' } }],
  },
  'button_template_quick_reply.json': {
    messages: [{
      content: { kind: 'choice', source: 'template_button', id: 'Unsubscribe', title: 'Unsubscribe' },
      markers: { replyToWamid: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJFNjk2OTMwNEZCQjhGMzUyQUYA' },
    }],
  },
  'button_quick_reply_bsuid_no_context.json': {
    messages: [{ wamid: 'wamid.xsidjx', customer: PYWA_USER, content: { kind: 'choice', source: 'template_button', id: 'callback_data', title: 'title' }, markers: {} }],
  },
  'reaction.json': {
    messages: [{ content: { kind: 'reaction', targetWamid: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0RTJEOTc2ODVERUY5RDlGNkYA', emoji: '👍' } }],
  },
  'reaction_removed.json': { messages: [{ content: { kind: 'reaction', targetWamid: 'wamid.yzxyzx=', emoji: '' } }] },
  'reply_with_context.json': { messages: [{ content: { kind: 'text', text: 'replied text' }, markers: { replyToWamid: 'wamid.xyzxyz==' } }] },
  'forwarded.json': { messages: [{ content: { kind: 'text', text: 'forwarded text' }, markers: { forwarded: true } }] },
  'order.json': {
    messages: [{
      content: {
        kind: 'order',
        catalogId: '194836987003835',
        items: [
          { productId: 'di9ozbzfi4', quantity: 2, price: 30, currency: 'USD' },
          { productId: 'nqryix03ez', quantity: 1, price: 25, currency: 'USD' },
        ],
      },
    }],
  },
  'system_user_changed_number.json': {
    messages: [{
      customer: { waId: '16505551234' },
      content: { kind: 'system', event: 'user_changed_number', text: 'User Sheena Nelson changed from 16505551234 to 12195555358' },
    }],
  },
  'system_phone_number_change_pywa.json': {
    messages: [{ wamid: 'wamid.xyzxyz==', customer: { waId: '972987654321' }, content: { kind: 'system', event: 'user_changed_number' } }],
  },
  'system_identity_change.json': {
    messages: [{ customer: { waId: '972987654321', profileName: 'User A' }, content: { kind: 'system', event: 'customer_identity_changed', text: 'User identity changed' }, markers: {} }],
  },
  'unsupported_with_errors.json': {
    messages: [{
      content: { kind: 'unsupported', waType: 'unsupported', errors: [{ code: 131051, title: 'Message type unknown' }] },
      markers: { errors: [{ code: 131051, title: 'Message type unknown' }] },
    }],
  },
  'unsupported_pywa.json': {
    messages: [{ content: { kind: 'unsupported', waType: 'unsupported', errors: [{ code: 131051, title: 'Message type unknown' }] } }],
  },
  'errors_in_value_interactive.json': {
    messages: [{
      wamid: 'wamid.wegrchytvwcggt=',
      content: { kind: 'unsupported', waType: 'interactive', errors: [{ code: 131000, title: 'Something went wrong' }] },
      markers: { replyToWamid: 'wamid.gvwegfretge==' },
    }],
    errors: [{ phoneNumberId: '1122334455667', code: 131000, title: 'Something went wrong' }],
  },
  'status_sent.json': { messages: [], statuses: [{ ...PYWA, wamid: 'wamid.xyzxyz', status: 'sent', timestamp: 1698266945, errors: [], recipient: { waId: '972987654321', bsuid: 'US.13491208655302741918' } }] },
  'status_delivered.json': { messages: [], statuses: [{ status: 'delivered', errors: [] }] },
  'status_read.json': { messages: [], statuses: [{ status: 'read', timestamp: 1689380458 }] },
  'status_played.json': { messages: [], statuses: [{ status: 'played' }] },
  'status_failed.json': {
    messages: [],
    statuses: [{ status: 'failed', errors: [{ code: 130472, title: "User's number is part of an experiment", details: "Failed to send message because this user's phone number is part of an experiment" }] }],
  },
  'status_failed_131047_reengagement.json': { messages: [], statuses: [{ status: 'failed', errors: [expect.objectContaining({ code: 131047, title: 'Re-engagement message' })] }] },
  'multiple_messages_one_change.json': {
    messages: [
      { wamid: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=', content: { kind: 'text', text: 'Does it come in another color?' } },
      { wamid: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgB=', timestamp: 1749416384, customer: SHEENA, content: { kind: 'media', media: { kind: 'image', mediaId: '1003383421387256' } } },
    ],
  },
  'multiple_entries_and_changes.json': {
    messages: [{ ...META, content: { kind: 'text', text: 'Does it come in another color?' } }],
    statuses: [{ ...PYWA, status: 'delivered', timestamp: 1698266945 }, { ...PYWA, status: 'read', timestamp: 1689380458 }],
    phoneNumberIds: ['106540352242922', '1122334455667'],
  },
};

describe.skipIf(!haveFixtures)('parseWebhook on shared/fixtures/whatsapp', () => {
  const files = haveFixtures ? readdirSync(FIXTURES).filter((f) => f.endsWith('.json')).sort() : [];

  it('has a table row for every fixture file (and no row without a file)', () => {
    expect(files.length).toBeGreaterThanOrEqual(35);
    expect(Object.keys(TABLE).sort()).toEqual(files);
  });

  it.each(files)('%s parses into the expected messages and statuses', (file) => {
    const webhook = parseOk(readFileSync(FIXTURES + file));
    const row = TABLE[file]!;
    expect(webhook.messages).toHaveLength(row.messages.length);
    expect(webhook.statuses).toHaveLength(row.statuses?.length ?? 0);
    row.messages.forEach((m, i) => expect(webhook.messages[i]).toMatchObject(m));
    (row.statuses ?? []).forEach((s, i) => expect(webhook.statuses[i]).toMatchObject(s));
    expect(webhook.errors).toEqual(row.errors ?? []);
    expect(webhook.otherFields).toEqual([]);
    if (row.phoneNumberIds) expect(webhook.phoneNumberIds).toEqual(row.phoneNumberIds);
    else expect(webhook.phoneNumberIds).toHaveLength(1);
    for (const m of webhook.messages) {
      expect(m.wamid).toMatch(/^wamid\./);
      expect(m.customer.waId ?? m.customer.bsuid).toBeTruthy();
      expect(Number.isInteger(m.timestamp)).toBe(true);
    }
  });

  it('parses the same payload compact with \\u escapes (as Meta sends it) identically', () => {
    for (const file of files) {
      const pretty = readFileSync(FIXTURES + file, 'utf8');
      const escaped = JSON.stringify(JSON.parse(pretty)).replace(/[\u0080-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
      expect(parseOk(enc(escaped)), file).toEqual(parseOk(enc(pretty)));
    }
  });
});

if (!haveFixtures) {
  describe('parseWebhook on shared/fixtures/whatsapp', () => {
    it.skip(`SKIPPED: ${FIXTURES} is absent (shared/ is not checked out next to the repo)`, () => {});
  });
}

// ------------------------------------------------------------------------------------------------
// Synthetic cases the public fixtures do not cover.

const CONTACT = { profile: { name: 'Ana' }, wa_id: '33612345678', user_id: 'FR.111' };
function body(messages: unknown[], extra: Record<string, unknown> = {}, contacts: unknown[] | null = [CONTACT]) {
  return {
    object: 'whatsapp_business_account',
    entry: [{ id: '1', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { display_phone_number: '15550000000', phone_number_id: '123456' }, ...(contacts ? { contacts } : {}), messages, ...extra } }] }],
  };
}
const base = { from: '33612345678', id: 'wamid.A1', timestamp: '1700000000' };

describe('parseWebhook: content mapping beyond the fixtures', () => {
  it.each([
    ['nfm_reply (WhatsApp Flows) → text with the answers, flow_token left out', { ...base, type: 'interactive', interactive: { type: 'nfm_reply', nfm_reply: { name: 'flow', body: 'Sent', response_json: '{"flow_token":"secret","size":"M","qty":2}' } } },
      { kind: 'text', text: 'Sent\nsize: M\nqty: 2' }],
    ['request_welcome → system event', { ...base, type: 'request_welcome' }, { kind: 'system', event: 'request_welcome' }],
    ['unknown type with a body of that name → unsupported, body not listed as unknown field', { ...base, type: 'poll', poll: { q: 'x' } },
      { kind: 'unsupported', waType: 'poll', errors: [] }],
    ['known type whose body is missing → unsupported', { ...base, type: 'image' }, { kind: 'unsupported', waType: 'image', errors: [] }],
    ['known type whose body is malformed → unsupported', { ...base, type: 'text', text: { body: 42 } }, { kind: 'unsupported', waType: 'text', errors: [] }],
    ['unknown interactive subtype → unsupported', { ...base, type: 'interactive', interactive: { type: 'call_permission_reply', call_permission_reply: {} } },
      { kind: 'unsupported', waType: 'interactive', errors: [] }],
    ['reaction without emoji key → removed', { ...base, type: 'reaction', reaction: { message_id: 'wamid.T' } }, { kind: 'reaction', targetWamid: 'wamid.T', emoji: '' }],
    ['contact card with every field', { ...base, type: 'contacts', contacts: [{
      name: { first_name: 'Jean', last_name: 'Dupont' }, emails: [{ email: 'j@d.fr', type: 'WORK' }, { type: 'HOME' }],
      urls: [{ url: 'https://d.fr' }], addresses: [{ street: '1 rue X', city: 'Paris', zip: '75001', country: 'France' }],
      org: { company: 'ACME', title: 'CEO' }, birthday: '1980-01-02', phones: [],
    }] }, { kind: 'contacts', contacts: [{
      name: 'Jean Dupont', emails: [{ email: 'j@d.fr', type: 'WORK' }], urls: ['https://d.fr'], addresses: ['1 rue X, Paris, 75001, France'],
      org: 'ACME, CEO', birthday: '1980-01-02', phones: [],
    }] }],
  ])('%s', (_name, message, content) => {
    const w = parseOk(enc(body([message])));
    expect(w.messages).toHaveLength(1);
    expect(w.messages[0]!.content).toEqual(content);
    expect(w.messages[0]!.markers.unknownFields).toBeUndefined();
  });

  it('lists unknown top-level fields (sorted) and unreadable context as unknownFields', () => {
    const w = parseOk(enc(body([{ ...base, type: 'text', text: { body: 'hi' }, group_id: 'g1', zeta: 1, image: { id: '1' }, context: 'not-an-object' }])));
    expect(w.messages[0]!.content).toEqual({ kind: 'text', text: 'hi' });
    expect(w.messages[0]!.markers.unknownFields).toEqual(['context', 'group_id', 'image', 'zeta']);
  });

  it('maps frequently_forwarded and keeps message errors as markers', () => {
    const w = parseOk(enc(body([{ ...base, type: 'text', text: { body: 'x' }, context: { forwarded: true, frequently_forwarded: true }, errors: [{ code: 1, title: 't' }] }])));
    expect(w.messages[0]!.markers).toEqual({ forwarded: true, frequentlyForwarded: true, errors: [{ code: 1, title: 't' }] });
  });

  it('identifies username users by BSUID when there is no phone number', () => {
    const contacts = [{ profile: { name: 'Bo', username: 'bo.b' }, user_id: 'US.999', parent_user_id: 'US.ENT.1' }];
    const w = parseOk(enc(body([{ from_user_id: 'US.999', id: 'wamid.B', timestamp: '1700000001', type: 'text', text: { body: 'yo' } }], {}, contacts)));
    expect(w.messages[0]!.customer).toEqual({ bsuid: 'US.999', profileName: 'Bo', username: 'bo.b' });
  });

  it('matches each message to its own contact in a multi-sender change', () => {
    const contacts = [{ profile: { name: 'A' }, wa_id: '111111' }, { profile: { name: 'B' }, wa_id: '222222', user_id: 'US.B' }];
    const w = parseOk(enc(body([
      { from: '222222', id: 'wamid.1', timestamp: '1', type: 'text', text: { body: 'b' } },
      { from: '111111', id: 'wamid.2', timestamp: '2', type: 'text', text: { body: 'a' } },
      { from: '333333', id: 'wamid.3', timestamp: '3', type: 'text', text: { body: 'c' } },
    ], {}, contacts)));
    expect(w.messages.map((m) => m.customer)).toEqual([
      { waId: '222222', bsuid: 'US.B', profileName: 'B' }, { waId: '111111', profileName: 'A' }, { waId: '333333' },
    ]);
  });

  it('keeps changes of other fields in otherFields and accepts an empty entry list', () => {
    const w = parseOk(enc({ object: 'whatsapp_business_account', entry: [{ id: '1', changes: [{ field: 'message_template_status_update', value: { event: 'APPROVED' } }] }] }));
    expect(w.otherFields).toEqual([{ field: 'message_template_status_update', value: { event: 'APPROVED' } }]);
    expect(parseOk(enc({ object: 'whatsapp_business_account', entry: [] }))).toEqual({ messages: [], statuses: [], errors: [], otherFields: [], phoneNumberIds: [] });
  });
});

describe('parseWebhook: refusals', () => {
  it.each([
    ['invalid UTF-8', 'malformed_json', 'body is not valid UTF-8', new Uint8Array([0x7b, 0xff, 0x7d])],
    ['not JSON', 'malformed_json', 'JSON syntax error', enc('{"object": 16505551234')],
    ['__proto__ key', 'malformed_json', 'forbidden prototype key (__proto__ or constructor.prototype)', enc('{"object":"whatsapp_business_account","entry":[],"__proto__":{"polluted":1}}')],
    ['constructor.prototype', 'malformed_json', 'forbidden prototype key (__proto__ or constructor.prototype)', enc('{"constructor":{"prototype":{"x":1}}}')],
    ['JSON array', 'invalid_shape', '(root): invalid_type', enc('[]')],
    ['wrong object', 'invalid_shape', 'object: invalid_value', enc({ object: 'page', entry: [] })],
    ['missing wamid', 'invalid_shape', 'entry.0.changes.0.value.messages.0.id: invalid_type', enc(body([{ from: '33612345678', timestamp: '1', type: 'text', text: { body: 'Call me at 33612345678' } }]))],
    ['bad timestamp', 'invalid_shape', 'entry.0.changes.0.value.messages.0.timestamp: invalid_format', enc(body([{ ...base, timestamp: 'yesterday', type: 'text', text: { body: 'x' } }]))],
    ['no customer identity at all', 'invalid_shape', 'entry.0.changes.0.value.messages.0.from: missing_customer_identity', enc(body([{ id: 'wamid.X', timestamp: '1', type: 'text', text: { body: 'x' } }], {}, null))],
    ['missing phone_number_id', 'invalid_shape', 'entry.0.changes.0.value.metadata.phone_number_id: invalid_type', enc({ object: 'whatsapp_business_account', entry: [{ changes: [{ field: 'messages', value: { metadata: {}, messages: [] } }] }] })],
    ['status without id', 'invalid_shape', 'entry.0.changes.0.value.statuses.0.id: invalid_type', enc(body([], { statuses: [{ status: 'sent', timestamp: '1', recipient_id: '33612345678' }] }))],
    ['too many messages', 'invalid_shape', 'entry.0.changes.0.value.messages: too_big', enc(body(Array.from({ length: 1001 }, (_, i) => ({ ...base, id: `wamid.${i}`, type: 'text', text: { body: 'x' } }))))],
  ] as const)('%s → %s: %s', (_name, reason, detail, bytes) => {
    const r = parseWebhook(bytes);
    expect(r).toEqual({ ok: false, reason, detail });
  });

  it('never puts numbers, wamids or text of the payload into detail', () => {
    const r = parseWebhook(enc(body([{ from: 42, id: 'wamid.SECRET', timestamp: '1', type: 'text', text: { body: 'my number is 33612345678' } }])));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.detail).toBe('entry.0.changes.0.value.messages.0.from: invalid_type');
    expect(r.detail).not.toMatch(/wamid|3361|number is/);
  });
});
