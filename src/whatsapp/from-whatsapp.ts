import sjson from 'secure-json-parse';
import type { z } from 'zod';
import type {
  ContactCard,
  InboundContent,
  InboundMarkers,
  InboundMessage,
  InboundStatus,
  MediaKind,
  ParsedWebhook,
} from '../core/messages.js';
import {
  contextSchema,
  errorListSchema,
  messageBodySchemas,
  messagesValueSchema,
  referralSchema,
  webhookEnvelopeSchema,
  type MessagesValue,
  type WireBody,
  type WireContact,
  type WireError,
  type WireMessage,
} from './webhook-schema.js';

/**
 * WhatsApp webhook body → platform-agnostic `ParsedWebhook`. Pure: no I/O, no clock, no logging.
 * Call it after `verifySignature` accepted the same bytes.
 */

export type ParseWebhookResult =
  | { ok: true; webhook: ParsedWebhook }
  | { ok: false; reason: 'malformed_json' | 'invalid_shape'; detail: string };

type Path = (string | number)[];
type ErrorSummary = { code?: number; title?: string };

/** Top-level message fields Relais reads; anything else is reported in `markers.unknownFields`. */
const KNOWN_MESSAGE_FIELDS = new Set(['id', 'timestamp', 'type', 'from', 'from_user_id', 'context', 'referral', 'errors', 'identity']);
const MEDIA_KINDS = new Set<string>(['image', 'video', 'audio', 'document', 'sticker']);
const MAX_ISSUES_IN_DETAIL = 3;
/** Real payloads nest about 10 levels; deeper JSON would only threaten recursive consumers (stack overflow). */
const MAX_DEPTH = 64;

/**
 * Parses and flattens one webhook POST body.
 *
 * - Decodes UTF-8 strictly and parses with secure-json-parse (a `__proto__` or
 *   `constructor.prototype` key is refused: `malformed_json`).
 * - Refuses JSON nested deeper than 64 levels, then validates the envelope (`webhook-schema.ts`);
 *   a violation gives `invalid_shape`.
 * - Returns every message and status of every entry and change, in payload order. A message whose
 *   content Relais cannot read becomes `{kind:'unsupported'}`; nothing is dropped. Changes with a
 *   `field` other than `messages` go to `otherFields` untouched.
 *
 * `detail` names only the location of the problem (`entry.0.changes.1.value.messages.0.id: invalid_type`),
 * never content, phone numbers or wamids, so it may be logged. Never throws.
 */
export function parseWebhook(rawBody: Uint8Array): ParseWebhookResult {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(rawBody);
  } catch {
    return { ok: false, reason: 'malformed_json', detail: 'body is not valid UTF-8' };
  }
  let json: unknown;
  try {
    json = sjson.parse(text, null, { protoAction: 'error', constructorAction: 'error' });
  } catch (err) {
    const poisoned = err instanceof Error && err.message.startsWith('Object contains forbidden prototype property');
    return { ok: false, reason: 'malformed_json', detail: poisoned ? 'forbidden prototype key (__proto__ or constructor.prototype)' : 'JSON syntax error' };
  }

  if (tooDeep(json, MAX_DEPTH)) return { ok: false, reason: 'invalid_shape', detail: `(root): nesting_deeper_than_${MAX_DEPTH}` };

  const envelope = webhookEnvelopeSchema.safeParse(json);
  if (!envelope.success) return invalid(envelope.error, []);

  const out: ParsedWebhook = { messages: [], statuses: [], errors: [], otherFields: [], phoneNumberIds: [] };
  for (const [i, entry] of envelope.data.entry.entries()) {
    for (const [j, change] of entry.changes.entries()) {
      if (change.field !== 'messages') {
        out.otherFields.push({ field: change.field, value: change.value });
        continue;
      }
      const path: Path = ['entry', i, 'changes', j, 'value'];
      const value = messagesValueSchema.safeParse(change.value);
      if (!value.success) return invalid(value.error, path);
      const failure = flattenValue(value.data, path, out);
      if (failure) return failure;
    }
  }
  return { ok: true, webhook: out };
}

function flattenValue(value: MessagesValue, path: Path, out: ParsedWebhook): ParseWebhookResult | undefined {
  const phoneNumberId = value.metadata.phone_number_id;
  if (!out.phoneNumberIds.includes(phoneNumberId)) out.phoneNumberIds.push(phoneNumberId);
  const valueErrors = summarise(value.errors);
  for (const e of valueErrors) out.errors.push({ phoneNumberId, ...e });

  const contacts = value.contacts ?? [];
  for (const [k, m] of (value.messages ?? []).entries()) {
    const contact = matchContact(m, contacts);
    const customer = compact({
      waId: m.from ?? contact?.wa_id,
      bsuid: m.from_user_id ?? contact?.user_id,
      profileName: contact?.profile?.name,
      username: contact?.profile?.username,
    });
    if (customer.waId === undefined && customer.bsuid === undefined) {
      return { ok: false, reason: 'invalid_shape', detail: `${formatPath([...path, 'messages', k, 'from'])}: missing_customer_identity` };
    }
    const raw = m as Record<string, unknown>;
    const { markers, messageErrors } = readMarkers(raw);
    const content = toContent(m.type, raw[m.type], messageErrors.length > 0 ? messageErrors : valueErrors);
    const unknown = Object.keys(raw).filter((key) => !KNOWN_MESSAGE_FIELDS.has(key) && key !== m.type);
    if (unknown.length > 0) markers.unknownFields = [...new Set([...(markers.unknownFields ?? []), ...unknown])].sort();
    const message: InboundMessage = { phoneNumberId, wamid: m.id, customer, timestamp: m.timestamp, content, markers };
    out.messages.push(message);
  }

  for (const s of value.statuses ?? []) {
    const contact = matchContact({ from: s.recipient_id, from_user_id: s.recipient_user_id }, contacts, false);
    const recipient = compact({ waId: s.recipient_id ?? contact?.wa_id, bsuid: s.recipient_user_id ?? contact?.user_id });
    const status: InboundStatus = {
      phoneNumberId,
      wamid: s.id,
      status: s.status,
      timestamp: s.timestamp,
      errors: (s.errors ?? []).map((e) => compact({ code: e.code, title: e.title, details: e.error_data?.details })),
    };
    if (recipient.waId !== undefined || recipient.bsuid !== undefined) status.recipient = recipient;
    out.statuses.push(status);
  }
  return undefined;
}

/**
 * The `contacts[]` entry describing the sender of `m`: one whose `wa_id` equals `from` or whose
 * `user_id` equals `from_user_id` without contradicting the other; failing that, the only contact of
 * the change when it contradicts nothing (messages only). System messages carry no contacts; status
 * changes may carry the recipient's contact, which gives its BSUID.
 */
function matchContact(
  m: Pick<WireMessage, 'from' | 'from_user_id'>,
  contacts: WireContact[],
  soleContactFallback = true,
): WireContact | undefined {
  const conflicts = (c: WireContact) =>
    (m.from !== undefined && c.wa_id !== undefined && c.wa_id !== m.from) ||
    (m.from_user_id !== undefined && c.user_id !== undefined && c.user_id !== m.from_user_id);
  const matches = (c: WireContact) =>
    (m.from !== undefined && c.wa_id === m.from) || (m.from_user_id !== undefined && c.user_id === m.from_user_id);
  const found = contacts.find((c) => matches(c) && !conflicts(c));
  if (found) return found;
  const only = soleContactFallback && contacts.length === 1 ? contacts[0] : undefined;
  return only && !conflicts(only) ? only : undefined;
}

/** context, referral and message-level errors. A field that does not fit its schema is listed as unknown. */
function readMarkers(raw: Record<string, unknown>): { markers: InboundMarkers; messageErrors: ErrorSummary[] } {
  const markers: InboundMarkers = {};
  const unreadable: string[] = [];

  if (raw.context !== undefined) {
    const ctx = contextSchema.safeParse(raw.context);
    if (ctx.success) {
      if (ctx.data.id !== undefined) markers.replyToWamid = ctx.data.id;
      if (ctx.data.forwarded === true) markers.forwarded = true;
      if (ctx.data.frequently_forwarded === true) markers.frequentlyForwarded = true;
      const product = ctx.data.referred_product;
      if (product) markers.productInquiry = compact({ catalogId: product.catalog_id, productId: product.product_retailer_id });
    } else unreadable.push('context');
  }

  if (raw.referral !== undefined) {
    const ref = referralSchema.safeParse(raw.referral);
    if (ref.success) {
      markers.referral = compact({
        sourceType: ref.data.source_type,
        sourceUrl: ref.data.source_url,
        headline: ref.data.headline,
        body: ref.data.body,
      });
    } else unreadable.push('referral');
  }

  let messageErrors: ErrorSummary[] = [];
  if (raw.errors !== undefined) {
    const errs = errorListSchema.safeParse(raw.errors);
    if (errs.success) messageErrors = summarise(errs.data);
    else unreadable.push('errors');
  }
  if (messageErrors.length > 0) markers.errors = messageErrors;
  if (unreadable.length > 0) markers.unknownFields = unreadable;
  return { markers, messageErrors };
}

/**
 * Maps one message body to `InboundContent`. Unknown types, missing bodies and bodies that do not fit
 * their schema give `unsupported` with the WhatsApp type and the errors Meta attached (the message's
 * own, else the change's `value.errors`).
 */
function toContent(type: string, body: unknown, errors: ErrorSummary[]): InboundContent {
  const unsupported: InboundContent = { kind: 'unsupported', waType: type, errors };
  if (type === 'request_welcome') return { kind: 'system', event: 'request_welcome' };
  if (body === undefined || !Object.hasOwn(messageBodySchemas, type)) return unsupported;
  const schema = messageBodySchemas[type as keyof typeof messageBodySchemas] as z.ZodType;
  const parsed = schema.safeParse(body);
  if (!parsed.success) return unsupported;
  const b: unknown = parsed.data;

  if (MEDIA_KINDS.has(type)) return { kind: 'media', media: toMedia(type as MediaKind, b as WireBody<'document'> & WireBody<'audio'> & WireBody<'sticker'>) };
  switch (type) {
    case 'text':
      return { kind: 'text', text: (b as WireBody<'text'>).body };
    case 'location': {
      const l = b as WireBody<'location'>;
      return { kind: 'location', latitude: l.latitude, longitude: l.longitude, ...compact({ name: l.name, address: l.address, url: l.url }) };
    }
    case 'contacts':
      return { kind: 'contacts', contacts: (b as WireBody<'contacts'>).map(toContactCard) };
    case 'interactive':
      return fromInteractive(b as WireBody<'interactive'>) ?? unsupported;
    case 'button': {
      const btn = b as WireBody<'button'>;
      return { kind: 'choice', source: 'template_button', title: btn.text, ...compact({ id: btn.payload }) };
    }
    case 'reaction': {
      const r = b as WireBody<'reaction'>;
      return { kind: 'reaction', targetWamid: r.message_id, emoji: r.emoji ?? '' };
    }
    case 'order': {
      const o = b as WireBody<'order'>;
      return {
        kind: 'order',
        ...compact({ catalogId: o.catalog_id, text: o.text === '' ? undefined : o.text }),
        items: o.product_items.map((p) =>
          ({ productId: p.product_retailer_id, quantity: p.quantity, ...compact({ price: p.item_price, currency: p.currency }) })),
      };
    }
    case 'system': {
      const s = b as WireBody<'system'>;
      return { kind: 'system', event: s.type ?? 'unknown', ...compact({ text: s.body }) };
    }
    default:
      return unsupported;
  }
}

function toMedia(kind: MediaKind, m: WireBody<'document'> & WireBody<'audio'> & WireBody<'sticker'>) {
  return {
    kind,
    mediaId: m.id,
    ...compact({
      mimeType: m.mime_type,
      sha256: m.sha256,
      filename: m.filename,
      caption: m.caption,
      voice: kind === 'audio' ? m.voice : undefined,
      animated: kind === 'sticker' ? m.animated : undefined,
    }),
  };
}

function fromInteractive(i: WireBody<'interactive'>): InboundContent | undefined {
  if (i.type === 'button_reply' && i.button_reply) {
    return { kind: 'choice', source: 'button', title: i.button_reply.title, id: i.button_reply.id };
  }
  if (i.type === 'list_reply' && i.list_reply) {
    const r = i.list_reply;
    return { kind: 'choice', source: 'list', title: r.title, id: r.id, ...compact({ description: r.description }) };
  }
  if (i.type === 'nfm_reply' && i.nfm_reply) return { kind: 'text', text: flowReplyText(i.nfm_reply) };
  return undefined;
}

/**
 * A WhatsApp Flows form submission as readable text: the reply's `body` ("Sent") then one
 * `key: value` line per answer in `response_json` (the internal `flow_token` is left out).
 */
function flowReplyText(r: { body?: string; response_json?: string }): string {
  const lines = [r.body ?? 'Form submitted'];
  let answers: unknown;
  try {
    answers = r.response_json === undefined ? undefined : sjson.parse(r.response_json, null, { protoAction: 'remove', constructorAction: 'remove' });
  } catch {
    answers = r.response_json;
  }
  if (answers !== null && typeof answers === 'object' && !Array.isArray(answers)) {
    for (const [key, v] of Object.entries(answers)) {
      if (key === 'flow_token') continue;
      lines.push(`${key}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
    }
  } else if (answers !== undefined) {
    lines.push(typeof answers === 'string' ? answers : JSON.stringify(answers));
  }
  return lines.join('\n');
}

function toContactCard(c: WireBody<'contacts'>[number]): ContactCard {
  const n = c.name;
  const name = n?.formatted_name ?? [n?.prefix, n?.first_name, n?.middle_name, n?.last_name, n?.suffix].filter(Boolean).join(' ');
  const org = [c.org?.company, c.org?.department, c.org?.title].filter(Boolean).join(', ');
  const card: ContactCard = {
    name,
    phones: (c.phones ?? []).map((p) => compact({ phone: p.phone, type: p.type, waId: p.wa_id })),
    emails: (c.emails ?? []).flatMap((e) => (e.email ? [{ email: e.email, ...compact({ type: e.type }) }] : [])),
  };
  if (org) card.org = org;
  const urls = (c.urls ?? []).flatMap((u) => (u.url ? [u.url] : []));
  if (urls.length > 0) card.urls = urls;
  const addresses = (c.addresses ?? [])
    .map((a) => [a.street, a.city, a.state, a.zip, a.country].filter(Boolean).join(', '))
    .filter(Boolean);
  if (addresses.length > 0) card.addresses = addresses;
  if (c.birthday) card.birthday = c.birthday;
  return card;
}

function summarise(errors: WireError[] | undefined): ErrorSummary[] {
  return (errors ?? []).map((e) => compact({ code: e.code, title: e.title }));
}

/** Drops keys whose value is undefined, so results compare cleanly and serialise small. */
function compact<T extends Record<string, unknown>>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as { [K in keyof T]?: Exclude<T[K], undefined> };
}

function invalid(error: z.ZodError, prefix: Path): ParseWebhookResult {
  const issues = error.issues.slice(0, MAX_ISSUES_IN_DETAIL).map((issue) => {
    const path = [...prefix, ...issue.path.map((p) => (typeof p === 'number' ? p : String(p)))];
    return `${formatPath(path)}: ${issue.code}`;
  });
  const more = error.issues.length > MAX_ISSUES_IN_DETAIL ? ` (+${error.issues.length - MAX_ISSUES_IN_DETAIL} more)` : '';
  return { ok: false, reason: 'invalid_shape', detail: issues.join('; ') + more };
}

/** Iterative depth check (no recursion, so hostile nesting cannot overflow the stack here). */
function tooDeep(root: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[root, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth >= max) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}

function formatPath(path: Path): string {
  return path.length === 0 ? '(root)' : path.join('.');
}
