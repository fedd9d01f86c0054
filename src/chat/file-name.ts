import type { ChatFile } from './platform.js';

const EXT_BY_MIME: Record<string, string> = {
  'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp', 'image/gif': 'gif', 'audio/ogg': 'ogg',
  'audio/mpeg': 'mp3', 'audio/mp4': 'm4a', 'audio/aac': 'aac', 'audio/amr': 'amr', 'video/mp4': 'mp4',
  'video/3gpp': '3gp', 'application/pdf': 'pdf', 'text/plain': 'txt', 'text/vcard': 'vcf',
};

/**
 * A file name chat platforms will type correctly (both Mattermost and Rocket.Chat derive the type
 * and preview from the extension): a name without one gets the extension of `mimeType`; path
 * separators and control characters go. Pure.
 */
export function uploadName(file: ChatFile): string {
  const base = (file.name.split(/[\\/]/).pop() ?? '').replace(/[\p{Cc}]/gu, '').trim() || 'file';
  if (/\.[A-Za-z0-9]{1,8}$/.test(base)) return base;
  const ext = EXT_BY_MIME[file.mimeType.split(';')[0]?.trim().toLowerCase() ?? ''];
  return ext ? `${base}.${ext}` : base;
}
