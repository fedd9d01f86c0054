import { createHash } from 'node:crypto';
import { newWamid } from './graph-fake.js';
import { statusError, type StatusErrorPayload } from './graph-error.js';

/**
 * Builds WhatsApp Cloud API webhook bodies (`field: "messages"`) in exactly the shapes of the
 * fixtures in shared/fixtures/whatsapp: string timestamps, `contacts[].profile.name` + `wa_id`,
 * `metadata.display_phone_number` (digits) + `phone_number_id`, base64 `sha256` on media.
 * Pure apart from the clock and the media lookup; nothing here does I/O.
 */

/** The business side: the WABA and the phone number the customer writes to. */
export interface BusinessIdentity {
  wabaId: string;
  phoneNumberId: string;
  /** Shown as digits only in webhooks, whatever formatting is given ("+1 555 010 0001" → "15550100001"). */
  displayPhoneNumber: string;
}

export interface CustomerProfile {
  /** The customer's WhatsApp id: E.164 digits without "+". */
  waId: string;
  name: string;
  /** 2026 business-scoped user id (`contacts[].user_id`, `from_user_id`), e.g. "US.13491208655302741918". */
  userId?: string;
}

/** What the fake knows about a media id (the fake's `media` map entries fit). */
export interface MediaFacts {
  mimeType: string;
  /** Hex SHA-256 of the bytes. */
  sha256: string;
  filename?: string;
}

export interface BuilderContext extends BusinessIdentity {
  /** Resolves media ids; media messages throw without it or for unknown ids. */
  lookupMedia?: (id: string) => MediaFacts | undefined;
  /** Milliseconds since the epoch (default `Date.now`). */
  now?: () => number;
}

export interface SharedContact {
  name: { formatted_name: string; first_name?: string; last_name?: string };
  phones?: { phone: string; wa_id?: string; type?: string }[];
  emails?: { email: string; type?: string }[];
  org?: { company?: string; title?: string };
}

/** A customer message. Media variants name a media id already registered in the fake. */
export type InboundContent =
  | { type: 'text'; body: string }
  | { type: 'image' | 'video'; mediaId: string; caption?: string }
  | { type: 'audio'; mediaId: string; voice?: boolean }
  | { type: 'document'; mediaId: string; caption?: string; filename?: string }
  | { type: 'sticker'; mediaId: string; animated?: boolean }
  | { type: 'location'; latitude: number; longitude: number; name?: string; address?: string; url?: string }
  | { type: 'contacts'; contacts: SharedContact[] }
  | { type: 'button_reply'; id: string; title: string }
  | { type: 'list_reply'; id: string; title: string; description?: string }
  | { type: 'button'; payload: string; text: string }
  | { type: 'reaction'; messageId: string; emoji: string };

export interface InboundOptions {
  /** Default: a fresh `wamid.…`. */
  wamid?: string;
  /** Unix seconds (default: the context clock). */
  timestamp?: number;
  /** The message this one answers (`context.id`); `from` defaults to the business number. Required for button/list replies. */
  replyTo?: { id: string; from?: string };
  forwarded?: boolean;
}

export type WebhookValue = Record<string, unknown>;
export interface WebhookPayload {
  object: 'whatsapp_business_account';
  entry: { id: string; changes: { value: WebhookValue; field: 'messages' }[] }[];
}

export type StatusName = 'sent' | 'delivered' | 'read' | 'failed';

export interface StatusInput {
  wamid: string;
  /** The customer's wa_id the outbound message went to. */
  recipientId: string;
  status: StatusName;
  timestamp?: number;
  /** For `failed`: full error objects, or just codes (titles from Meta's table). Default 131000. */
  errors?: (StatusErrorPayload | { code: number; details?: string })[];
  /** Adds `contacts[]` like the BSUID-era payloads in the fixtures (absent in the v23.0 spec). */
  recipient?: CustomerProfile;
  /** Pricing category of the conversation (default 'service'). */
  category?: 'service' | 'utility' | 'marketing' | 'authentication';
}

export const digitsOnly = (s: string): string => s.replace(/\D/g, '');
const hexToBase64 = (hex: string): string => Buffer.from(hex, 'hex').toString('base64');

function envelope(ctx: BusinessIdentity, value: WebhookValue): WebhookPayload {
  return { object: 'whatsapp_business_account', entry: [{ id: ctx.wabaId, changes: [{ value, field: 'messages' }] }] };
}

function metadata(ctx: BusinessIdentity): { display_phone_number: string; phone_number_id: string } {
  return { display_phone_number: digitsOnly(ctx.displayPhoneNumber), phone_number_id: ctx.phoneNumberId };
}

function contactEntry(c: CustomerProfile): Record<string, unknown> {
  const entry: Record<string, unknown> = { profile: { name: c.name }, wa_id: c.waId };
  if (c.userId !== undefined) entry.user_id = c.userId;
  return entry;
}

function mediaObject(ctx: BuilderContext, id: string): { mime_type: string; sha256: string; id: string; filename?: string } {
  const facts = ctx.lookupMedia?.(id);
  if (!facts) throw new Error(`media id ${id} is not registered in the Graph fake: add it with fake.addMedia() first`);
  return { mime_type: facts.mimeType, sha256: hexToBase64(facts.sha256), id, filename: facts.filename };
}

function typeBody(ctx: BuilderContext, content: InboundContent): [string, unknown] {
  switch (content.type) {
    case 'text':
      return ['text', { body: content.body }];
    case 'image':
    case 'video': {
      const { mime_type, sha256, id } = mediaObject(ctx, content.mediaId);
      return [content.type, { ...(content.caption !== undefined ? { caption: content.caption } : {}), mime_type, sha256, id }];
    }
    case 'audio': {
      const { mime_type, sha256, id } = mediaObject(ctx, content.mediaId);
      return ['audio', { mime_type, sha256, id, voice: content.voice ?? false }];
    }
    case 'document': {
      const m = mediaObject(ctx, content.mediaId);
      const filename = content.filename ?? m.filename ?? 'document';
      return ['document', { ...(content.caption !== undefined ? { caption: content.caption } : {}), filename, mime_type: m.mime_type, sha256: m.sha256, id: m.id }];
    }
    case 'sticker': {
      const { mime_type, sha256, id } = mediaObject(ctx, content.mediaId);
      return ['sticker', { mime_type, sha256, id, animated: content.animated ?? false }];
    }
    case 'location': {
      const { latitude, longitude, name, address, url } = content;
      return ['location', { ...(address !== undefined ? { address } : {}), latitude, longitude, ...(name !== undefined ? { name } : {}), ...(url !== undefined ? { url } : {}) }];
    }
    case 'contacts':
      return ['contacts', content.contacts];
    case 'button_reply':
      return ['interactive', { type: 'button_reply', button_reply: { id: content.id, title: content.title } }];
    case 'list_reply': {
      const reply = { id: content.id, title: content.title, ...(content.description !== undefined ? { description: content.description } : {}) };
      return ['interactive', { type: 'list_reply', list_reply: reply }];
    }
    case 'button':
      return ['button', { payload: content.payload, text: content.text }];
    case 'reaction':
      return ['reaction', { message_id: content.messageId, emoji: content.emoji }];
  }
}

/**
 * One customer message as a complete webhook body. Throws when a media id is unknown to
 * `ctx.lookupMedia`, or when a button/list reply has no `replyTo`.
 */
export function buildMessageWebhook(ctx: BuilderContext, customer: CustomerProfile, content: InboundContent, opts: InboundOptions = {}): { payload: WebhookPayload; wamid: string } {
  if ((content.type === 'button_reply' || content.type === 'list_reply') && !opts.replyTo) {
    throw new Error(`a ${content.type} answers a business message: pass replyTo with its wamid`);
  }
  const wamid = opts.wamid ?? newWamid();
  const timestamp = String(opts.timestamp ?? Math.floor((ctx.now ?? Date.now)() / 1000));
  const [key, body] = typeBody(ctx, content);
  const message: Record<string, unknown> = {};
  if (opts.replyTo) message.context = { from: opts.replyTo.from ?? digitsOnly(ctx.displayPhoneNumber), id: opts.replyTo.id };
  else if (opts.forwarded) message.context = { forwarded: true };
  message.from = customer.waId;
  if (customer.userId !== undefined) message.from_user_id = customer.userId;
  Object.assign(message, { id: wamid, timestamp, type: content.type === 'button_reply' || content.type === 'list_reply' ? 'interactive' : content.type, [key]: body });
  const value = { messaging_product: 'whatsapp', metadata: metadata(ctx), contacts: [contactEntry(customer)], messages: [message] };
  return { payload: envelope(ctx, value), wamid };
}

/** A conversation id that stays the same for one recipient (Meta's are 32 hex characters). */
function conversationId(recipientId: string): string {
  return createHash('sha256').update(`relais-simulator-conversation:${recipientId}`).digest('hex').slice(0, 32);
}

/**
 * A status webhook for an outbound message: `sent`/`delivered`/`read` carry `conversation`
 * and `pricing` (with `expiration_timestamp` on `sent` only), `failed` carries `errors[]`.
 */
export function buildStatusWebhook(ctx: BuilderContext, input: StatusInput): WebhookPayload {
  const seconds = input.timestamp ?? Math.floor((ctx.now ?? Date.now)() / 1000);
  const status: Record<string, unknown> = { id: input.wamid, status: input.status, timestamp: String(seconds), recipient_id: input.recipientId };
  if (input.status === 'failed') {
    const errors = input.errors?.length ? input.errors : [{ code: 131000 }];
    status.errors = errors.map((e) => ('title' in e ? e : statusError(e.code, e.details)));
  } else {
    const category = input.category ?? 'service';
    const conversation: Record<string, unknown> = { id: conversationId(input.recipientId) };
    if (input.status === 'sent') conversation.expiration_timestamp = String(seconds + 24 * 3600);
    conversation.origin = { type: category };
    status.conversation = conversation;
    status.pricing = { billable: category !== 'service', pricing_model: 'PMP', category };
  }
  const value: WebhookValue = { messaging_product: 'whatsapp', metadata: metadata(ctx) };
  if (input.recipient) value.contacts = [contactEntry(input.recipient)];
  value.statuses = [status];
  return envelope(ctx, value);
}

/** Several webhook bodies as one POST (Meta batches `entry[]`); entries keep their order. */
export function mergeWebhooks(payloads: WebhookPayload[]): WebhookPayload {
  return { object: 'whatsapp_business_account', entry: payloads.flatMap((p) => p.entry) };
}
