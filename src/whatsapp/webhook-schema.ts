import { z } from 'zod';

/**
 * Zod schemas for WhatsApp Cloud API webhook bodies (`POST /webhooks/whatsapp`). The only place
 * besides `from-whatsapp.ts` and `cloud-api.ts` where Cloud API wire shapes exist.
 *
 * Policy (shared/RELIABILITY.md §3.1 "Input validation"):
 * - every object is loose (`z.looseObject`): Meta adds fields, unknown keys pass through;
 * - the fields Relais uses are typed strictly, with caps on string sizes and array lengths;
 * - two levels: the ENVELOPE (object, entries, changes, `value.metadata`, contacts, the routing and
 *   identity fields of each message, statuses, errors) must be valid or the whole body is rejected;
 *   the CONTENT of each message (its `<type>` body, `context`, `referral`, `errors`) is checked per
 *   message by `from-whatsapp.ts` with `messageBodySchemas` & co., and a body that does not fit
 *   degrades that one message to "unsupported" instead of losing the whole batch.
 *
 * Shapes: shared/specs/whatsapp/business-messaging-api_v23.0.yaml (`WebhookPayload` and below),
 * shared/CONTRACTS.md §1.5 and the payloads in shared/fixtures/whatsapp/.
 */

/** Caps. Meta's payloads are ≤ 3 MB and batches ≤ 1000 updates (shared/fixtures/README.md). */
export const WEBHOOK_LIMITS = {
  entries: 1000,
  changes: 1000,
  items: 1000,
  errors: 100,
  cardItems: 100,
  id: 512,
  name: 4096,
  text: 65536,
  url: 8192,
} as const;

const L = WEBHOOK_LIMITS;
const id = z.string().min(1).max(L.id);
const shortText = z.string().max(L.name);
const longText = z.string().max(L.text);
const url = z.string().max(L.url);

/** Unix seconds; Meta sends a decimal string, some producers a number. Output: number. */
export const timestampSchema = z
  .union([z.string().regex(/^\d{1,12}$/), z.number().int().nonnegative().max(999_999_999_999)])
  .transform((v) => Number(v));

/** `{code, title, message, error_data: {details}, href}` as in statuses, messages and value.errors. */
export const graphErrorSchema = z.looseObject({
  code: z.number().int().optional(),
  title: shortText.optional(),
  message: shortText.optional(),
  error_data: z.looseObject({ details: shortText.optional() }).optional(),
  href: url.optional(),
});
export const errorListSchema = z.array(graphErrorSchema).max(L.errors);

/** `value.contacts[]`: the sender's profile. `user_id`/`parent_user_id`/`username` are the 2026 BSUID fields. */
export const contactSchema = z.looseObject({
  wa_id: id.optional(),
  user_id: id.optional(),
  parent_user_id: id.optional(),
  profile: z.looseObject({ name: shortText.optional(), username: shortText.optional() }).optional(),
});

/**
 * The envelope part of `value.messages[]`. Identity (`from`, `from_user_id`) is optional here because
 * users with usernames may lack a phone number; `from-whatsapp.ts` requires one of them after
 * matching `contacts[]`.
 */
export const messageBaseSchema = z.looseObject({
  id,
  timestamp: timestampSchema,
  type: z.string().min(1).max(64),
  from: id.optional(),
  from_user_id: id.optional(),
});

/** `statuses[]`: delivery receipts for messages the business sent. */
export const statusSchema = z.looseObject({
  id,
  status: z.string().min(1).max(64),
  timestamp: timestampSchema,
  recipient_id: id.optional(),
  recipient_user_id: id.optional(),
  recipient_type: shortText.optional(),
  biz_opaque_callback_data: shortText.optional(),
  conversation: z
    .looseObject({
      id: shortText.optional(),
      expiration_timestamp: z.union([z.string().max(32), z.number()]).optional(),
      origin: z.looseObject({ type: shortText.optional() }).optional(),
    })
    .optional(),
  pricing: z
    .looseObject({ billable: z.boolean().optional(), pricing_model: shortText.optional(), category: shortText.optional() })
    .optional(),
  errors: errorListSchema.optional(),
});

/** `change.value` when `change.field === "messages"`. */
export const messagesValueSchema = z.looseObject({
  messaging_product: shortText.optional(),
  metadata: z.looseObject({
    phone_number_id: z.string().regex(/^\d{1,32}$/),
    display_phone_number: shortText.optional(),
  }),
  contacts: z.array(contactSchema).max(L.items).optional(),
  messages: z.array(messageBaseSchema).max(L.items).optional(),
  statuses: z.array(statusSchema).max(L.items).optional(),
  errors: errorListSchema.optional(),
});

/** The whole POST body. `value` is checked by `messagesValueSchema` only for `field === "messages"`. */
export const webhookEnvelopeSchema = z.looseObject({
  object: z.literal('whatsapp_business_account'),
  entry: z
    .array(
      z.looseObject({
        id: shortText.optional(),
        changes: z.array(z.looseObject({ field: z.string().min(1).max(256), value: z.unknown() })).max(L.changes),
      }),
    )
    .max(L.entries),
});

// ---------------------------------------------------------------------------------------------
// Per-message content. Checked message by message (see the policy above).

/** `messages[].context`: reply target, forward flags, product inquiry. */
export const contextSchema = z.looseObject({
  from: id.optional(),
  id: id.optional(),
  forwarded: z.boolean().optional(),
  frequently_forwarded: z.boolean().optional(),
  referred_product: z
    .looseObject({ catalog_id: shortText.optional(), product_retailer_id: shortText.optional() })
    .optional(),
});

/** `messages[].referral`: Click-to-WhatsApp ad or post. */
export const referralSchema = z.looseObject({
  source_url: url.optional(),
  source_id: shortText.optional(),
  source_type: shortText.optional(),
  body: longText.optional(),
  headline: shortText.optional(),
  media_type: shortText.optional(),
  image_url: url.optional(),
  video_url: url.optional(),
  thumbnail_url: url.optional(),
  ctwa_clid: shortText.optional(),
  welcome_message: z.looseObject({ text: longText.optional() }).optional(),
});

const mediaBase = {
  id,
  mime_type: shortText.optional(),
  sha256: shortText.optional(),
};

const contactCardSchema = z.looseObject({
  name: z
    .looseObject({
      formatted_name: shortText.optional(),
      first_name: shortText.optional(),
      last_name: shortText.optional(),
      middle_name: shortText.optional(),
      prefix: shortText.optional(),
      suffix: shortText.optional(),
    })
    .optional(),
  phones: z
    .array(z.looseObject({ phone: shortText.optional(), wa_id: shortText.optional(), type: shortText.optional() }))
    .max(L.cardItems)
    .optional(),
  emails: z.array(z.looseObject({ email: shortText.optional(), type: shortText.optional() })).max(L.cardItems).optional(),
  org: z
    .looseObject({ company: shortText.optional(), department: shortText.optional(), title: shortText.optional() })
    .optional(),
  urls: z.array(z.looseObject({ url: url.optional(), type: shortText.optional() })).max(L.cardItems).optional(),
  addresses: z
    .array(
      z.looseObject({
        street: shortText.optional(),
        city: shortText.optional(),
        state: shortText.optional(),
        zip: shortText.optional(),
        country: shortText.optional(),
        country_code: shortText.optional(),
        type: shortText.optional(),
      }),
    )
    .max(L.cardItems)
    .optional(),
  birthday: shortText.optional(),
});

/**
 * The body object of each message type, keyed by `type` (the body lives under the key of the same
 * name: `{"type":"text","text":{…}}`). `unsupported`/`unknown` and `request_welcome` have no body.
 */
export const messageBodySchemas = {
  text: z.looseObject({ body: longText }),
  image: z.looseObject({ ...mediaBase, caption: longText.optional() }),
  video: z.looseObject({ ...mediaBase, caption: longText.optional() }),
  /** `voice: true` marks a push-to-talk voice note. */
  audio: z.looseObject({ ...mediaBase, voice: z.boolean().optional() }),
  document: z.looseObject({ ...mediaBase, caption: longText.optional(), filename: shortText.optional() }),
  sticker: z.looseObject({ ...mediaBase, animated: z.boolean().optional() }),
  location: z.looseObject({
    latitude: z.number().min(-90).max(90),
    longitude: z.number().min(-180).max(180),
    name: shortText.optional(),
    address: shortText.optional(),
    url: url.optional(),
  }),
  contacts: z.array(contactCardSchema).max(L.cardItems),
  /** `type` selects the reply object: `button_reply`, `list_reply` or `nfm_reply` (WhatsApp Flows). */
  interactive: z.looseObject({
    type: z.string().min(1).max(64),
    button_reply: z.looseObject({ id: shortText, title: shortText }).optional(),
    list_reply: z.looseObject({ id: shortText, title: shortText, description: shortText.optional() }).optional(),
    nfm_reply: z
      .looseObject({ name: shortText.optional(), body: longText.optional(), response_json: longText.optional() })
      .optional(),
  }),
  /** Template quick-reply button tap. */
  button: z.looseObject({ text: shortText, payload: shortText.optional() }),
  /** `emoji` is `""` (or absent) when the customer removed the reaction. */
  reaction: z.looseObject({ message_id: id, emoji: z.string().max(64).optional() }),
  order: z.looseObject({
    catalog_id: shortText.optional(),
    text: longText.optional(),
    product_items: z
      .array(
        z.looseObject({
          product_retailer_id: shortText,
          quantity: z.number().int().nonnegative(),
          item_price: z.number().optional(),
          currency: shortText.optional(),
        }),
      )
      .max(L.items),
  }),
  /** `user_changed_number` (with the new `wa_id`), `customer_identity_changed`, … */
  system: z.looseObject({
    type: shortText.optional(),
    body: longText.optional(),
    wa_id: shortText.optional(),
    customer: shortText.optional(),
  }),
} as const;

export type WebhookEnvelope = z.output<typeof webhookEnvelopeSchema>;
export type MessagesValue = z.output<typeof messagesValueSchema>;
export type WireContact = z.output<typeof contactSchema>;
export type WireMessage = z.output<typeof messageBaseSchema>;
export type WireStatus = z.output<typeof statusSchema>;
export type WireError = z.output<typeof graphErrorSchema>;
export type WireContext = z.output<typeof contextSchema>;
export type WireReferral = z.output<typeof referralSchema>;
export type MessageBodyType = keyof typeof messageBodySchemas;
export type WireBody<T extends MessageBodyType> = z.output<(typeof messageBodySchemas)[T]>;
