import type { MediaKind } from '../core/messages.js';

/**
 * WhatsApp Cloud API media size limits, per media type. Pure data and pure functions.
 *
 * Source: Meta's "Supported media types" table on the Cloud API Media page
 * (developers.facebook.com/docs/whatsapp/cloud-api/reference/media#supported-media-types), as
 * summarised in shared/CONTRACTS.md §1.2 ("[doc: Meta media page mirrors + BSP docs, consistent]"):
 *   audio 16 MB · document 100 MB · image 5 MB · sticker 100 KB static / 500 KB animated · video 16 MB.
 * Meta writes "MB"/"KB" without saying decimal or binary; we use binary units (1 MB = 1,048,576 bytes),
 * the larger reading, so that a file Meta itself accepted is never refused by Relais. The global
 * MEDIA_MAX_BYTES setting is applied by the caller on top of these.
 */
const KiB = 1024;
const MiB = 1024 * KiB;

export const MEDIA_LIMITS = {
  /** 5 MB = 5,242,880 bytes. */
  image: 5 * MiB,
  /** 16 MB = 16,777,216 bytes. */
  video: 16 * MiB,
  /** 16 MB = 16,777,216 bytes (voice notes included). */
  audio: 16 * MiB,
  /** 100 MB = 104,857,600 bytes. */
  document: 100 * MiB,
  /** Static sticker: 100 KB = 102,400 bytes. */
  stickerStatic: 100 * KiB,
  /** Animated sticker: 500 KB = 512,000 bytes. */
  stickerAnimated: 500 * KiB,
} as const;

/** The largest file WhatsApp carries for `kind` (bytes). Stickers depend on `animated`. */
export function mediaCap(kind: MediaKind, opts: { animated?: boolean } = {}): number {
  switch (kind) {
    case 'image':
      return MEDIA_LIMITS.image;
    case 'video':
      return MEDIA_LIMITS.video;
    case 'audio':
      return MEDIA_LIMITS.audio;
    case 'document':
      return MEDIA_LIMITS.document;
    case 'sticker':
      return opts.animated ? MEDIA_LIMITS.stickerAnimated : MEDIA_LIMITS.stickerStatic;
  }
}

const EXTENSIONS: Record<string, string> = {
  'image/jpeg': 'jpg',
  'image/jpg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'image/heic': 'heic',
  'video/mp4': 'mp4',
  'video/3gpp': '3gp',
  'video/quicktime': 'mov',
  'video/webm': 'webm',
  'audio/aac': 'aac',
  'audio/amr': 'amr',
  'audio/mpeg': 'mp3',
  'audio/mp4': 'm4a',
  'audio/ogg': 'ogg',
  'audio/opus': 'opus',
  'audio/wav': 'wav',
  'audio/webm': 'weba',
  'text/plain': 'txt',
  'text/csv': 'csv',
  'application/pdf': 'pdf',
  'application/msword': 'doc',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'application/vnd.ms-excel': 'xls',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'xlsx',
  'application/vnd.ms-powerpoint': 'ppt',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': 'pptx',
  'application/zip': 'zip',
  'application/json': 'json',
};

/** Lower-case MIME type without parameters: `audio/ogg; codecs=opus` → `audio/ogg`. */
export function baseMime(mime: string | undefined | null): string {
  return (mime ?? '').split(';', 1)[0]!.trim().toLowerCase();
}

/**
 * File extension (without dot) for a MIME type; parameters are ignored. Unknown or missing types
 * give `bin`, so a file name never carries an extension chosen by the sender.
 */
export function extensionFor(mime: string | undefined | null): string {
  return EXTENSIONS[baseMime(mime)] ?? 'bin';
}

/**
 * A file name for media that arrived without one (everything but documents, and documents
 * without `filename`): `<kind>.<ext>`, e.g. `image.jpg`, `audio.ogg`, `document.pdf`.
 */
export function defaultFilename(kind: MediaKind, mime: string | undefined | null): string {
  return `${kind}.${extensionFor(mime)}`;
}
