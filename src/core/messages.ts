/**
 * Platform-agnostic shapes of what customers send, produced by `whatsapp/from-whatsapp.ts` and
 * consumed by the relay worker and the renderers. No WhatsApp wire type appears here.
 *
 * Personal data lives in these objects only in memory; at rest they are stored encrypted
 * (the whole `InboundContent` is serialised to JSON and sealed with the customer's data key).
 */

export type MediaKind = 'image' | 'video' | 'audio' | 'document' | 'sticker';

export interface MediaRef {
  kind: MediaKind;
  /** Graph API media id (valid about 7 days after the webhook). */
  mediaId: string;
  mimeType?: string;
  sha256?: string;
  filename?: string;
  caption?: string;
  /** audio: true for a voice note (push-to-talk). */
  voice?: boolean;
  /** sticker: animated sticker (larger size cap). */
  animated?: boolean;
}

export interface ContactCard {
  name: string;
  phones: { phone?: string; type?: string; waId?: string }[];
  emails: { email: string; type?: string }[];
  org?: string;
  urls?: string[];
  addresses?: string[];
  birthday?: string;
}

/** The content of one customer message, by kind. `unsupported` keeps whatever we could not read. */
export type InboundContent =
  | { kind: 'text'; text: string }
  | { kind: 'media'; media: MediaRef }
  | { kind: 'location'; latitude: number; longitude: number; name?: string; address?: string; url?: string }
  | { kind: 'contacts'; contacts: ContactCard[] }
  | { kind: 'choice'; source: 'button' | 'list' | 'template_button'; title: string; id?: string; description?: string }
  | { kind: 'reaction'; targetWamid: string; emoji: string /* '' = removed */ }
  | { kind: 'order'; catalogId?: string; text?: string; items: { productId: string; quantity: number; price?: number; currency?: string }[] }
  | { kind: 'system'; event: string; text?: string }
  | { kind: 'unsupported'; waType: string; errors: { code?: number; title?: string }[] };

export interface InboundMarkers {
  /** The customer replied to this message (wamid of ours or theirs). */
  replyToWamid?: string;
  forwarded?: boolean;
  frequentlyForwarded?: boolean;
  /** Click-to-WhatsApp ad or post the conversation came from. */
  referral?: { sourceType?: string; sourceUrl?: string; headline?: string; body?: string };
  /** The customer asked about a catalog product. */
  productInquiry?: { catalogId?: string; productId?: string };
  /** Field names present on the message that Relais does not understand (kept, shown as a notice). */
  unknownFields?: string[];
  /** Errors Meta attached to the message (e.g. 131051 unsupported). */
  errors?: { code?: number; title?: string }[];
}

/** One customer message, as extracted from a webhook. */
export interface InboundMessage {
  /** Business number that received it (metadata.phone_number_id). */
  phoneNumberId: string;
  wamid: string;
  /** Customer identity: BSUID when present (2026 identity change), else wa_id. */
  customer: { waId?: string; bsuid?: string; profileName?: string; username?: string };
  /** Unix seconds from the webhook. */
  timestamp: number;
  content: InboundContent;
  markers: InboundMarkers;
}

export type DeliveryStatus = 'sent' | 'delivered' | 'read' | 'played' | 'failed' | 'deleted' | 'warning';

/** One status update for a message Relais sent. */
export interface InboundStatus {
  phoneNumberId: string;
  wamid: string;
  status: DeliveryStatus | string;
  timestamp: number;
  recipient?: { waId?: string; bsuid?: string };
  errors: { code?: number; title?: string; details?: string }[];
}

/** Everything one webhook POST carried, flattened across entries and changes. */
export interface ParsedWebhook {
  messages: InboundMessage[];
  statuses: InboundStatus[];
  /** value.errors and other webhook-level errors (codes and titles only). */
  errors: { phoneNumberId?: string; code?: number; title?: string }[];
  /** Changes whose `field` is not "messages" (e.g. message_template_status_update), by field name. */
  otherFields: { field: string; value: unknown }[];
  /** phone_number_ids seen in the payload (for routing/quarantine decisions). */
  phoneNumberIds: string[];
}

/** Rank for monotonic status updates: a status only replaces one of lower rank; failed is terminal. */
export const STATUS_RANK: Record<string, number> = {
  pending: 0, accepted: 1, sent: 2, delivered: 3, read: 4, played: 5, deleted: 6, failed: 9,
};
