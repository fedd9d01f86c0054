import { randomUUID } from 'node:crypto';
import { asc, eq } from 'drizzle-orm';
import { sealField, openFieldText } from '../archive/envelope.js';
import { encryptMediaStream, decryptMediaFrames } from '../archive/media-stream.js';
import type { Db } from '../db/client.js';
import { media, mediaFrames } from '../db/schema/index.js';
import type { MediaKind } from './messages.js';

export interface StoredMedia {
  id: string;
  kind: string;
  mimeType: string | null;
  size: number | null;
  filename?: string;
  keyVersion: number;
  state: 'pending' | 'stored' | 'too_large' | 'failed';
}

/** The media row of a message, if any. Read-only. */
export async function findMedia(db: Db, dek: Uint8Array, messageId: string): Promise<StoredMedia | undefined> {
  const rows = await db.select().from(media).where(eq(media.messageId, messageId)).limit(1);
  const r = rows[0];
  if (!r) return undefined;
  const filename = r.filenameEnc ? openFieldText(dek, { table: 'media', column: 'filename_enc', rowId: r.id, keyVersion: r.keyVersion }, r.filenameEnc) : undefined;
  return { id: r.id, kind: r.kind, mimeType: r.mimeType, size: r.size, filename, keyVersion: r.keyVersion, state: r.state };
}

/**
 * Streams `source` into the archive: each plaintext chunk is encrypted (secretstream) and stored
 * as a frame row; the plaintext is also collected and returned so the caller can upload it without
 * reading it back. A half-written media row (crash mid-stream) stays `pending` and is replaced
 * by the next attempt. Database I/O; throws what the stream throws (e.g. size cap exceeded).
 */
export async function storeMedia(
  db: Db,
  dek: Uint8Array,
  keyVersion: number,
  meta: { messageId: string; kind: MediaKind; mimeType: string; filename: string },
  source: ReadableStream<Uint8Array>,
): Promise<{ media: StoredMedia; bytes: Uint8Array }> {
  await db.delete(media).where(eq(media.messageId, meta.messageId));
  const id = randomUUID();
  await db.insert(media).values({
    id, messageId: meta.messageId, kind: meta.kind, mimeType: meta.mimeType, keyVersion, state: 'pending',
    filenameEnc: sealField(dek, { table: 'media', column: 'filename_enc', rowId: id, keyVersion }, meta.filename),
  });
  const plain: Uint8Array[] = [];
  let size = 0;
  const tap = new TransformStream<Uint8Array, Uint8Array>({
    // A real copy (Buffer#slice is a view): the plaintext must outlive the stream for the upload.
    transform(chunk, ctl) { plain.push(new Uint8Array(chunk)); size += chunk.byteLength; ctl.enqueue(chunk); },
  });
  let seq = 0;
  const frames = source.pipeThrough(tap).pipeThrough(encryptMediaStream(dek, { mediaId: id, keyVersion }));
  for await (const frame of frames as unknown as AsyncIterable<Uint8Array>) {
    await db.insert(mediaFrames).values({ mediaId: id, seq: seq++, data: frame });
  }
  await db.update(media).set({ state: 'stored', size }).where(eq(media.id, id));
  return {
    media: { id, kind: meta.kind, mimeType: meta.mimeType, size, filename: meta.filename, keyVersion, state: 'stored' },
    bytes: Buffer.concat(plain),
  };
}

/** Records that a message's media could not be stored, and why (no bytes kept). */
export async function markMediaUnavailable(db: Db, messageId: string, kind: MediaKind, keyVersion: number, state: 'too_large' | 'failed', size?: number): Promise<void> {
  await db.delete(media).where(eq(media.messageId, messageId));
  await db.insert(media).values({ id: randomUUID(), messageId, kind, keyVersion, state, size: size ?? null });
}

/** Decrypts a stored media file. Throws RelaisError('decrypt_failed') on any tampering or truncation. */
export async function loadMediaBytes(db: Db, dek: Uint8Array, m: { id: string; keyVersion: number }): Promise<Uint8Array> {
  const rows = await db.select({ data: mediaFrames.data }).from(mediaFrames).where(eq(mediaFrames.mediaId, m.id)).orderBy(asc(mediaFrames.seq));
  return decryptMediaFrames(dek, { mediaId: m.id, keyVersion: m.keyVersion }, rows.map((r) => r.data));
}
