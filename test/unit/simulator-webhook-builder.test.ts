import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES_DIR, HAVE_FIXTURES, fixtureBytes } from '../helpers/fixtures.js';
import {
  buildMessageWebhook, buildStatusWebhook, createGraphFake, encodeWebhookBody, mergeWebhooks, signWebhookBody,
  type BuilderContext, type CustomerProfile, type InboundContent, type InboundOptions, type StatusInput, type WebhookPayload,
} from '../fakes/graph-api.js';

// Every webhook the builder makes must have the key structure (and leaf JSON types) of the
// corresponding real payload in ../shared/fixtures/whatsapp.

/** path → JSON type of every key, arrays collapsed to `[]`. */
function shape(value: unknown, at = '$', out = new Map<string, string>()): Map<string, string> {
  if (Array.isArray(value)) {
    out.set(at, 'array');
    for (const item of value) shape(item, `${at}[]`, out);
  } else if (value !== null && typeof value === 'object') {
    out.set(at, 'object');
    for (const [k, v] of Object.entries(value)) shape(v, `${at}.${k}`, out);
  } else {
    out.set(at, typeof value);
  }
  return out;
}

// Present in the pywa (BSUID-era) fixtures, absent in Meta's own: optional both ways.
const OPTIONAL = /\.(user_id|parent_user_id|from_user_id)$/;

/** Keys (with types) the built payload has and the fixture has not, and fixture keys it lacks. */
function shapeDiff(built: unknown, fixtureName: string): { extra: string[]; missing: string[] } {
  const fixture = JSON.parse(readFileSync(path.join(FIXTURES_DIR, fixtureName), 'utf8')) as unknown;
  const mine = shape(built);
  const theirs = shape(fixture);
  const extra = [...mine].filter(([p, t]) => theirs.get(p) !== t && !(OPTIONAL.test(p) && !theirs.has(p))).map(([p, t]) => `${p}: ${t} (fixture: ${theirs.get(p) ?? 'absent'})`);
  const missing = [...theirs.keys()].filter((p) => !mine.has(p) && !OPTIONAL.test(p));
  return { extra, missing };
}

function expectSameShape(built: unknown, fixtureName: string): void {
  expect(shapeDiff(built, fixtureName)).toEqual({ extra: [], missing: [] });
}

const fake = createGraphFake({ accessToken: 't', phoneNumberId: '106540352242922' });
const ctx: BuilderContext = {
  wabaId: '419561257915477', phoneNumberId: '106540352242922', displayPhoneNumber: '+1 555-078-3881',
  now: () => 1_749_416_383_000, lookupMedia: (id) => fake.media.get(id),
};
const sheena: CustomerProfile = { waId: '16505551234', name: 'Sheena Nelson' };
const bsuidCustomer: CustomerProfile = { waId: '972987654321', name: 'Test Name', userId: 'US.13491208655302741918' };
const media = (mimeType: string, filename?: string): string => fake.addMedia({ bytes: new TextEncoder().encode(`bytes of ${mimeType}`), mimeType, filename });
const businessWamid = 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MEM2RUJFNkI0RENGQTVDRjUA';

const messageCases: { name: string; fixture: string; customer?: CustomerProfile; content: InboundContent; opts?: InboundOptions }[] = [
  { name: 'text', fixture: 'text.json', content: { type: 'text', body: 'Does it come in another color?' } },
  { name: 'image', fixture: 'image.json', content: { type: 'image', mediaId: media('image/jpeg'), caption: 'Taj Mahal' } },
  { name: 'video (forwarded)', fixture: 'video.json', content: { type: 'video', mediaId: media('video/mp4'), caption: 'caption' }, opts: { forwarded: true } },
  { name: 'audio', fixture: 'audio.json', content: { type: 'audio', mediaId: media('audio/ogg; codecs=opus') }, opts: { forwarded: true } },
  { name: 'voice note', fixture: 'audio_voice.json', content: { type: 'audio', mediaId: media('audio/ogg; codecs=opus'), voice: true } },
  { name: 'document', fixture: 'document.json', content: { type: 'document', mediaId: media('application/pdf', 'filename.pdf'), caption: 'caption' }, opts: { forwarded: true } },
  { name: 'static sticker', fixture: 'sticker_static.json', content: { type: 'sticker', mediaId: media('image/webp') } },
  { name: 'animated sticker', fixture: 'sticker_animated.json', content: { type: 'sticker', mediaId: media('image/webp'), animated: true } },
  {
    name: 'location', fixture: 'location.json',
    content: { type: 'location', latitude: 37.44221496582, longitude: -122.16165924072, name: 'Philz Coffee', address: '101 Forest Ave, Palo Alto, CA 94301', url: 'https://philzcoffee.com/' },
  },
  {
    name: 'contacts', fixture: 'contacts.json',
    content: { type: 'contacts', contacts: [{ name: { first_name: 'Lucía', last_name: 'Gómez', formatted_name: 'Lucía Gómez' }, org: { company: 'Google' }, phones: [{ phone: '+1 (983) 555-2319', wa_id: '19835552319', type: 'MOBILE' }] }] },
  },
  { name: 'button reply', fixture: 'interactive_button_reply.json', content: { type: 'button_reply', id: 'cancel-button', title: 'Cancel' }, opts: { replyTo: { id: businessWamid } } },
  { name: 'list reply', fixture: 'interactive_list_reply.json', content: { type: 'list_reply', id: 'priority_express', title: 'Priority Mail Express', description: 'Next Day to 2 Days' }, opts: { replyTo: { id: businessWamid } } },
  { name: 'template quick-reply button', fixture: 'button_template_quick_reply.json', content: { type: 'button', payload: 'Unsubscribe', text: 'Unsubscribe' }, opts: { replyTo: { id: businessWamid } } },
  { name: 'template button with BSUID, no context', fixture: 'button_quick_reply_bsuid_no_context.json', customer: bsuidCustomer, content: { type: 'button', payload: 'callback_data', text: 'title' } },
  { name: 'reaction', fixture: 'reaction.json', content: { type: 'reaction', messageId: businessWamid, emoji: '👍' } },
  { name: 'reaction removed', fixture: 'reaction_removed.json', content: { type: 'reaction', messageId: businessWamid, emoji: '' } },
  { name: 'reply with context', fixture: 'reply_with_context.json', content: { type: 'text', body: 'replied text' }, opts: { replyTo: { id: businessWamid } } },
  { name: 'forwarded text', fixture: 'forwarded.json', content: { type: 'text', body: 'forwarded' }, opts: { forwarded: true } },
];

const statusCases: { name: string; fixture: string; input: Omit<StatusInput, 'wamid' | 'recipientId'> }[] = [
  { name: 'sent', fixture: 'status_sent.json', input: { status: 'sent', recipient: bsuidCustomer } },
  { name: 'delivered', fixture: 'status_delivered.json', input: { status: 'delivered', recipient: bsuidCustomer } },
  { name: 'read', fixture: 'status_read.json', input: { status: 'read', recipient: bsuidCustomer } },
  { name: 'failed (130472)', fixture: 'status_failed.json', input: { status: 'failed', recipient: bsuidCustomer, errors: [{ code: 130472 }] } },
  { name: 'failed (131047)', fixture: 'status_failed_131047_reengagement.json', input: { status: 'failed', recipient: bsuidCustomer, errors: [{ code: 131047, details: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.' }] } },
];

const present = (f: string): boolean => existsSync(path.join(FIXTURES_DIR, f));
const label = (name: string, f: string): string => (present(f) ? `${name} has the shape of ${f}` : `${name} (SKIPPED: fixture ${f} absent from ${FIXTURES_DIR})`);

describe('webhook builder: customer messages match the fixtures', () => {
  for (const c of messageCases) {
    it.skipIf(!present(c.fixture))(label(c.name, c.fixture), () => {
      const { payload, wamid } = buildMessageWebhook(ctx, c.customer ?? sheena, c.content, c.opts);
      expect(wamid).toMatch(/^wamid\.[A-Za-z0-9+/]+=*$/);
      expectSameShape(payload, c.fixture);
    });
  }
});

describe.skipIf(!HAVE_FIXTURES)('the shape comparison itself', () => {
  it('notices a numeric timestamp, a missing field and a wrong type', () => {
    const { payload } = buildMessageWebhook(ctx, sheena, { type: 'text', body: 'x' });
    const msg = (payload.entry[0]!.changes[0]!.value.messages as Record<string, unknown>[])[0]!;
    msg.timestamp = 1749416383;
    expect(shapeDiff(payload, 'text.json').extra).toEqual(['$.entry[].changes[].value.messages[].timestamp: number (fixture: string)']);
    const text = buildMessageWebhook(ctx, sheena, { type: 'text', body: 'x' }).payload;
    expect(shapeDiff(text, 'image.json')).toEqual({
      extra: ['$.entry[].changes[].value.messages[].text: object (fixture: absent)', '$.entry[].changes[].value.messages[].text.body: string (fixture: absent)'],
      missing: expect.arrayContaining(['$.entry[].changes[].value.messages[].image.sha256']),
    });
  });
});

describe('webhook builder: statuses match the fixtures', () => {
  for (const c of statusCases) {
    it.skipIf(!present(c.fixture))(label(c.name, c.fixture), () => {
      const payload = buildStatusWebhook(ctx, { wamid: 'wamid.abc', recipientId: bsuidCustomer.waId, ...c.input });
      expectSameShape(payload, c.fixture);
    });
  }
});

describe('webhook builder: values', () => {
  it('writes digits-only display numbers, string timestamps, base64 sha256 of the registered bytes', () => {
    const bytes = new Uint8Array([1, 2, 3, 4]);
    const id = fake.addMedia({ bytes, mimeType: 'image/png' });
    const { payload } = buildMessageWebhook(ctx, sheena, { type: 'image', mediaId: id });
    const value = payload.entry[0]!.changes[0]!.value as { metadata: Record<string, string>; messages: Record<string, unknown>[]; contacts: unknown[] };
    expect(value.metadata).toEqual({ display_phone_number: '15550783881', phone_number_id: '106540352242922' });
    expect(value.contacts).toEqual([{ profile: { name: 'Sheena Nelson' }, wa_id: '16505551234' }]);
    const msg = value.messages[0]!;
    expect(msg.timestamp).toBe('1749416383');
    expect(msg.image).toEqual({ mime_type: 'image/png', sha256: Buffer.from('9f64a747e1b97f131fabb6b447296c9b6f0201e79fb3c5356e6c77e89b6a806a', 'hex').toString('base64'), id });
  });

  it('refuses media ids the fake does not know, and button replies without the message they answer', () => {
    expect(() => buildMessageWebhook(ctx, sheena, { type: 'image', mediaId: '999' })).toThrow(/not registered/);
    expect(() => buildMessageWebhook(ctx, sheena, { type: 'button_reply', id: 'a', title: 'A' })).toThrow(/replyTo/);
  });

  it('puts conversation expiry on sent only, and a default error on failed', () => {
    const sent = buildStatusWebhook(ctx, { wamid: 'wamid.x', recipientId: '1', status: 'sent' });
    const read = buildStatusWebhook(ctx, { wamid: 'wamid.x', recipientId: '1', status: 'read' });
    const failed = buildStatusWebhook(ctx, { wamid: 'wamid.x', recipientId: '1', status: 'failed' });
    const status = (p: WebhookPayload): Record<string, unknown> => (p.entry[0]!.changes[0]!.value.statuses as Record<string, unknown>[])[0]!;
    expect(status(sent).conversation).toHaveProperty('expiration_timestamp', String(1_749_416_383 + 86_400));
    expect(status(read).conversation).not.toHaveProperty('expiration_timestamp');
    expect(status(failed).errors).toEqual([expect.objectContaining({ code: 131000, title: 'Something went wrong' })]);
    expect(status(failed)).not.toHaveProperty('pricing');
    expect(sent.entry[0]!.changes[0]!.value).not.toHaveProperty('contacts');
  });

  it('merges several bodies into one batch', () => {
    const a = buildMessageWebhook(ctx, sheena, { type: 'text', body: 'a' }).payload;
    const b = buildStatusWebhook(ctx, { wamid: 'wamid.x', recipientId: '1', status: 'delivered' });
    expect(mergeWebhooks([a, b]).entry).toHaveLength(2);
  });
});

describe.skipIf(!HAVE_FIXTURES)('webhook signature (fixtures README test vector)', () => {
  it('signs the exact bytes of text.json with test-app-secret as documented', () => {
    const bytes = fixtureBytes('text.json');
    expect(bytes.length).toBe(985);
    expect(signWebhookBody('test-app-secret', bytes)).toBe('sha256=109f0c348832016fe3592fc61fc4f9cc0a830ce15b201a170e1d9cc4539450f2');
  });
});

describe('webhook body encoding', () => {
  it('escapes non-ASCII and slashes like Meta, and stays the same JSON', () => {
    const payload = { a: 'Lucía 👍', url: 'https://x.y/z' };
    const text = new TextDecoder().decode(encodeWebhookBody(payload));
    expect(text).toBe('{"a":"Luc\\u00eda \\ud83d\\udc4d","url":"https:\\/\\/x.y\\/z"}');
    expect(JSON.parse(text)).toEqual(payload);
  });
});
