/**
 * WhatsApp's media types and size limits (CONTRACTS.md §1.2), as the fake enforces them on upload.
 * Pure functions, no I/O.
 */

export type MediaKind = 'image' | 'audio' | 'video' | 'document' | 'sticker';

const KB = 1024;
const MB = 1024 * 1024;

/** Maximum bytes per kind. Stickers: 100 KB static, 500 KB animated. */
export const MEDIA_LIMITS: Readonly<Record<MediaKind, number>> = {
  image: 5 * MB,
  audio: 16 * MB,
  video: 16 * MB,
  document: 100 * MB,
  sticker: 500 * KB,
};
export const STATIC_STICKER_LIMIT = 100 * KB;

const KIND_BY_MIME: Readonly<Record<string, MediaKind>> = {
  'image/jpeg': 'image',
  'image/png': 'image',
  'image/webp': 'sticker',
  'audio/aac': 'audio',
  'audio/amr': 'audio',
  'audio/mpeg': 'audio',
  'audio/mp4': 'audio',
  'audio/ogg': 'audio',
  'video/mp4': 'video',
  'video/3gpp': 'video',
  'text/plain': 'document',
  'application/pdf': 'document',
  'application/msword': 'document',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'document',
  'application/vnd.ms-excel': 'document',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'document',
  'application/vnd.ms-powerpoint': 'document',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': 'document',
};

/** Every MIME type (without parameters) the Cloud API accepts for upload. */
export const SUPPORTED_MIME_TYPES: readonly string[] = Object.keys(KIND_BY_MIME);

/** `audio/ogg; codecs=opus` → `audio/ogg`. */
export function baseMime(mime: string): string {
  return (mime.split(';')[0] ?? '').trim().toLowerCase();
}

/** The upload kind for a MIME type, or undefined when WhatsApp does not accept it. */
export function mediaKindOf(mime: string): MediaKind | undefined {
  return KIND_BY_MIME[baseMime(mime)];
}

/**
 * The message type a customer's file arrives as: unsupported types become documents, like
 * WhatsApp does for "send as file". Used by the simulator, not for uploads.
 */
export function inboundTypeOf(mime: string): MediaKind {
  return mediaKindOf(mime) ?? 'document';
}

/** True for an animated WebP (VP8X chunk with the animation flag). */
export function isAnimatedWebp(bytes: Uint8Array): boolean {
  if (bytes.length < 21) return false;
  const tag = (from: number, to: number): string => String.fromCharCode(...bytes.subarray(from, to));
  return tag(0, 4) === 'RIFF' && tag(8, 12) === 'WEBP' && tag(12, 16) === 'VP8X' && ((bytes[20] ?? 0) & 0x02) !== 0;
}

/** The size limit that applies to these bytes (stickers depend on animation). */
export function sizeLimitFor(kind: MediaKind, bytes: Uint8Array): number {
  if (kind === 'sticker' && !isAnimatedWebp(bytes)) return STATIC_STICKER_LIMIT;
  return MEDIA_LIMITS[kind];
}
