import type { MediaKind } from '../core/messages.js';
import { MEDIA_LIMITS, baseMime } from './media-limits.js';

/** MIME types WhatsApp accepts per type (Cloud API "Supported media types"). */
const ACCEPTED: Record<Exclude<MediaKind, 'sticker' | 'document'>, string[]> = {
  image: ['image/jpeg', 'image/png'],
  video: ['video/mp4', 'video/3gpp'],
  // Ogg only with the Opus codec: plain `audio/ogg` (often Vorbis) is sent as a document.
  audio: ['audio/aac', 'audio/amr', 'audio/mpeg', 'audio/mp4', 'audio/ogg; codecs=opus'],
};

export type OutboundMediaPlan =
  | { ok: true; kind: MediaKind; mimeType: string; asDocumentFallback: boolean }
  | { ok: false; reason: 'too_large'; limit: number };

/**
 * How to send an agent's file: as the matching WhatsApp type when its format and size fit,
 * otherwise as a document (up to 100 MB) so the customer still gets it; refused above that.
 * Stickers are never produced from agent files (WebP stickers must be 512×512). Pure.
 */
export function planOutboundMedia(mimeType: string, size: number): OutboundMediaPlan {
  const mime = baseMime(mimeType);
  const full = mimeType.toLowerCase().replace(/\s+/g, ' ');
  for (const kind of ['image', 'video', 'audio'] as const) {
    const match = ACCEPTED[kind].some((m) => (m.includes(';') ? full.replace(/;\s*/, '; ') === m : mime === m));
    if (match && size <= MEDIA_LIMITS[kind]) return { ok: true, kind, mimeType: kind === 'audio' && mime === 'audio/ogg' ? 'audio/ogg' : mime, asDocumentFallback: false };
    if (match) break;
  }
  if (size <= MEDIA_LIMITS.document) {
    return { ok: true, kind: 'document', mimeType: mime || 'application/octet-stream', asDocumentFallback: !isDocumentMime(mime) };
  }
  return { ok: false, reason: 'too_large', limit: MEDIA_LIMITS.document };
}

function isDocumentMime(mime: string): boolean {
  return mime === 'application/pdf' || mime === 'text/plain' || mime.startsWith('application/vnd.') || mime === 'application/msword';
}
