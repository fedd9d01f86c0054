/**
 * The shape of `export.json` in a data-subject export (GDPR Art. 15 access, Art. 20 portability),
 * version 1. One zod schema is the single source: it types the exporter, validates what it writes
 * (tests), and is shipped inside every ZIP as `export.schema.json` (JSON Schema, draft 2020-12), so
 * the recipient can check the file with any validator. Field descriptions are the documentation;
 * docs/data-subject-requests.md shows an example. Adding optional fields keeps version 1; renaming
 * or removing one needs version 2.
 */
import { z } from 'zod';

export const EXPORT_FORMAT = 'relais.subject-export';
export const EXPORT_VERSION = 1;

const iso = z.string().describe('ISO 8601 date-time, UTC');

export const exportMediaSchema = z.object({
  kind: z.string().describe('image, video, audio, document or sticker'),
  state: z.enum(['stored', 'too_large', 'failed', 'pending', 'held_by_chat']).describe(
    'stored: the file is in this ZIP at `file`; too_large / failed: WhatsApp sent it but Relais could not keep it; pending: not downloaded yet; held_by_chat: an agent\'s attachment, kept by the chat platform, not by Relais',
  ),
  file: z.string().optional().describe('Path of the file inside the ZIP (media/…), when stored'),
  name: z.string().optional().describe('Original file name'),
  mimeType: z.string().optional(),
  size: z.number().int().nonnegative().optional().describe('Bytes'),
  sha256: z.string().optional().describe('Hex SHA-256 of the file in the ZIP'),
});

export const statusEventSchema = z.object({
  status: z.string().describe('accepted, sent, delivered, read, played, failed…'),
  at: iso.nullable(),
  errorCode: z.number().int().nullable().describe('WhatsApp error code for a failed delivery'),
});

export const exportMessageSchema = z.object({
  id: z.string().describe('Relais\' id of the message'),
  direction: z.enum(['inbound', 'outbound']).describe('inbound: written by the person; outbound: written by the company'),
  author: z.enum(['customer', 'agent']),
  authorId: z.string().optional().describe('Chat user id of the agent, when Relais stored it'),
  type: z.string().describe('text, media, location, contacts, choice, reaction, order, system, template, unsupported:<type>…'),
  text: z.string().optional().describe('The words of the message (text, caption, or a readable rendering of other types)'),
  content: z.unknown().optional().describe('The message as Relais stored it, structured by type'),
  contentRemoved: z.object({ reason: z.literal('retention'), at: iso }).optional().describe(
    'Present when the retention policy deleted the content before this request; only the metadata is left',
  ),
  unreadable: z.string().optional().describe('Present when the stored content could not be decrypted (error code); should not happen'),
  timestamps: z.object({
    sentAt: iso.optional().describe('inbound: when the person sent it (WhatsApp time); outbound: when the agent posted it'),
    receivedAt: iso.optional().describe('inbound: when Relais received it'),
    relayedAt: iso.optional().describe('inbound: when it was posted for the agents'),
    deliveredToWhatsAppAt: iso.optional().describe('outbound: when WhatsApp accepted it'),
  }),
  replyTo: z.string().optional().describe('id of the message this one answers or reacts to, when it is in this export'),
  status: z.object({
    current: z.string(),
    at: iso.nullable(),
    errorCode: z.number().int().nullable(),
    history: z.array(statusEventSchema).describe('Every delivery status WhatsApp reported, oldest first'),
  }).optional().describe('Delivery status of an outbound message'),
  media: z.array(exportMediaSchema),
});

export const exportCustomerSchema = z.object({
  id: z.string().describe('Relais\' id of this conversation (one per business number the person wrote to)'),
  businessNumber: z.object({
    phoneNumberId: z.string().describe('WhatsApp phone_number_id of the company\'s number'),
    label: z.string().optional(),
  }),
  identity: z.object({
    waId: z.string().optional().describe('WhatsApp id (the phone number, digits only)'),
    bsuid: z.string().optional().describe('Business-scoped user id, when WhatsApp gave one'),
    profileName: z.string().optional().describe('Profile name as WhatsApp showed it'),
  }),
  createdAt: iso.describe('First contact'),
  lastInboundAt: iso.nullable().describe('Last message from the person'),
  conversation: z.object({
    chatChannelId: z.string().nullable().describe('Id of the chat channel where agents answered'),
    legalHold: z.boolean().describe('Whether a legal hold was in force when exported'),
  }),
  messages: z.array(exportMessageSchema).describe('Both directions, oldest first'),
});

export const exportDocumentSchema = z.object({
  format: z.literal(EXPORT_FORMAT),
  version: z.literal(EXPORT_VERSION),
  generatedAt: iso,
  language: z.enum(['en', 'fr']).describe('Language of transcript.html'),
  subject: z.object({ phone: z.string().describe('The phone number the request was made for, E.164 with +') }),
  counts: z.object({ customers: z.number().int(), messages: z.number().int(), media: z.number().int().describe('Files in media/') }),
  customers: z.array(exportCustomerSchema),
});

export type ExportMedia = z.infer<typeof exportMediaSchema>;
export type ExportMessage = z.infer<typeof exportMessageSchema>;
export type ExportCustomer = z.infer<typeof exportCustomerSchema>;
export type ExportDocument = z.infer<typeof exportDocumentSchema>;

/** The JSON Schema shipped as `export.schema.json`. Pure. */
export function exportJsonSchema(): Record<string, unknown> {
  return { title: `${EXPORT_FORMAT} version ${EXPORT_VERSION}`, ...z.toJSONSchema(exportDocumentSchema) };
}
