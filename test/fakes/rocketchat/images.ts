/**
 * Just enough image handling for uploads: read the dimensions from PNG/GIF/JPEG headers (what sharp's
 * `metadata()` gives the server for `identify`) and synthesise header-only images of a given size for
 * thumbnails and previews. The fake never decodes pixels: a thumbnail is a valid-looking header with
 * the scaled dimensions, so its bytes differ from the original and a client can tell them apart.
 */

export interface Identify {
  format: 'png' | 'gif' | 'jpeg';
  size: { width: number; height: number };
}

export function identifyImage(data: Buffer): Identify | undefined {
  if (data.length >= 24 && data.readUInt32BE(0) === 0x89504e47 && data.toString('ascii', 12, 16) === 'IHDR') {
    return { format: 'png', size: { width: data.readUInt32BE(16), height: data.readUInt32BE(20) } };
  }
  if (data.length >= 10 && (data.toString('ascii', 0, 6) === 'GIF87a' || data.toString('ascii', 0, 6) === 'GIF89a')) {
    return { format: 'gif', size: { width: data.readUInt16LE(6), height: data.readUInt16LE(8) } };
  }
  if (data.length >= 4 && data[0] === 0xff && data[1] === 0xd8) {
    let i = 2;
    while (i + 9 < data.length) {
      if (data[i] !== 0xff) return undefined;
      const marker = data[i + 1] as number;
      const len = data.readUInt16BE(i + 2);
      const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
      if (isSof) return { format: 'jpeg', size: { height: data.readUInt16BE(i + 5), width: data.readUInt16BE(i + 7) } };
      i += 2 + len;
    }
  }
  return undefined;
}

/** A header-only image of the given format and size. */
export function synthImage(format: Identify['format'], width: number, height: number): Buffer {
  if (format === 'png') {
    const b = Buffer.alloc(33);
    b.writeUInt32BE(0x89504e47, 0);
    b.writeUInt32BE(0x0d0a1a0a, 4);
    b.writeUInt32BE(13, 8);
    b.write('IHDR', 12, 'ascii');
    b.writeUInt32BE(width, 16);
    b.writeUInt32BE(height, 20);
    b.writeUInt8(8, 24);
    b.writeUInt8(6, 25);
    return b;
  }
  if (format === 'gif') {
    const b = Buffer.alloc(13);
    b.write('GIF89a', 0, 'ascii');
    b.writeUInt16LE(width, 6);
    b.writeUInt16LE(height, 8);
    return b;
  }
  const b = Buffer.alloc(4 + 19 + 2);
  b.writeUInt16BE(0xffd8, 0);
  b.writeUInt16BE(0xffc0, 2);
  b.writeUInt16BE(17, 4);
  b.writeUInt8(8, 6);
  b.writeUInt16BE(height, 7);
  b.writeUInt16BE(width, 9);
  b.writeUInt16BE(0xffd9, 23);
  return b;
}

/** sharp's `resize({width, height, fit: 'inside'})`. */
export function fitInside(size: { width: number; height: number }, box: { width: number; height: number }): { width: number; height: number } {
  const scale = Math.min(box.width / size.width, box.height / size.height);
  return { width: Math.max(1, Math.round(size.width * scale)), height: Math.max(1, Math.round(size.height * scale)) };
}

const MIME_BY_EXT: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  svg: 'image/svg+xml',
  pdf: 'application/pdf',
  txt: 'text/plain',
  csv: 'text/csv',
  json: 'application/json',
  mp3: 'audio/mpeg',
  ogg: 'audio/ogg',
  oga: 'audio/ogg',
  opus: 'audio/ogg',
  wav: 'audio/wav',
  m4a: 'audio/mp4',
  mp4: 'video/mp4',
  webm: 'video/webm',
  '3gp': 'video/3gpp',
  zip: 'application/zip',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};

/** `getMimeType(mimetype, filename)`: the part's type unless it is missing or octet-stream. */
export function mimeTypeOf(partType: string, filename: string): string {
  if (partType && partType !== 'application/octet-stream') return partType;
  const ext = filename.split('.').pop()?.toLowerCase() ?? '';
  return MIME_BY_EXT[ext] ?? (partType || 'application/octet-stream');
}

export function extensionOf(filename: string): string {
  const i = filename.lastIndexOf('.');
  return i >= 0 ? filename.slice(i + 1).toLowerCase() : '';
}
