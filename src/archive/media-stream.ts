/**
 * Media bytes encrypted with libsodium's secretstream (XChaCha20-Poly1305), which detects
 * truncation, removal, reordering, duplication and modification of frames.
 *
 * Layout (see README.md). Frame 0, the 30-byte header:
 *   [0] 0x01 format | [1] 0x01 alg (secretstream XChaCha20-Poly1305, 64 KiB chunks) |
 *   [2..5] DEK version, uint32 BE | [6..29] secretstream header (random)
 * then one frame per chunk of at most 64 KiB of plaintext:
 *   [0..3] ciphertext length L, uint32 BE | [4..4+L) secretstream ciphertext (plaintext + 17)
 * The last frame carries TAG_FINAL (an empty media has exactly one, empty, final frame). The
 * first frame's additional data is the canonical encoding of ("relais.media", format, alg,
 * mediaId, keyVersion); the stream's chained state binds every later frame to it.
 *
 * Key: crypto_kdf(DEK, context "relaismd", id 1); each stream's random header makes its
 * internal subkey and nonces unique, so one derived key serves all of a customer's media.
 *
 * Because frames are length-prefixed, the decryptor accepts the frames as produced, their
 * concatenation, or any other re-chunking of the same bytes.
 * Pure computation, no I/O; needs `initSodium()`.
 */
import { RelaisError } from '../core/errors.js';
import { assertContextString, assertUint32, encodeAad } from './envelope.js';
import { SECRETSTREAM_ABYTES, SECRETSTREAM_HEADER_BYTES, SecretStreamPull, SecretStreamPush, assertKey, kdfDerive, memzero } from './sodium.js';

/** Identifies one media object and the DEK version it is sealed with. */
export interface MediaContext { mediaId: string; keyVersion: number }

/** First byte of a media header. */
export const MEDIA_FORMAT_V1 = 0x01;
/** Algorithm byte: secretstream XChaCha20-Poly1305 with 64 KiB plaintext chunks. */
export const MEDIA_ALG_SECRETSTREAM = 0x01;
/** Plaintext bytes per frame (the last frame may be shorter). */
export const MEDIA_CHUNK_BYTES = 64 * 1024;
/** Size of frame 0. */
export const MEDIA_HEADER_BYTES = 6 + SECRETSTREAM_HEADER_BYTES;
const LEN_BYTES = 4;
const MAX_FRAME_CIPHERTEXT = MEDIA_CHUNK_BYTES + SECRETSTREAM_ABYTES;

function checkCtx(ctx: MediaContext): void {
  if (ctx === null || typeof ctx !== 'object') throw new RelaisError('invalid_argument', 'media context is required', { retryable: false });
  assertContextString(ctx.mediaId, 'media context mediaId');
  assertUint32(ctx.keyVersion, 'media context keyVersion');
}

function mediaAd(ctx: MediaContext): Uint8Array {
  return encodeAad(['relais.media', MEDIA_FORMAT_V1, MEDIA_ALG_SECRETSTREAM, ctx.mediaId, ctx.keyVersion]);
}

function mediaKey(dek: Uint8Array): Uint8Array {
  return kdfDerive(dek, 'relaismd', 1);
}

function failed(why: string): RelaisError {
  return new RelaisError('decrypt_failed', `Media cannot be decrypted: ${why}`, { retryable: false });
}

/** FIFO of bytes with O(1) amortised push/take; owns (copies) what it holds and wipes consumed copies. */
class ByteQueue {
  private chunks: Uint8Array[] = [];
  private first = 0;
  private offset = 0;
  length = 0;

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    // `new Uint8Array(x)` always copies; `Buffer#slice` would return a view and the wipe below
    // would then zero the caller's buffer (Node streams hand out Buffers).
    this.chunks.push(new Uint8Array(chunk));
    this.length += chunk.length;
  }

  /** Copies the next `n` bytes out; consumes them unless `peek`. `n` must be ≤ `length`. */
  take(n: number, peek = false): Uint8Array {
    const out = new Uint8Array(n);
    let filled = 0;
    let i = this.first;
    let offset = this.offset;
    while (filled < n) {
      const c = this.chunks[i]!;
      const m = Math.min(n - filled, c.length - offset);
      out.set(c.subarray(offset, offset + m), filled);
      filled += m;
      offset += m;
      if (offset === c.length) {
        if (!peek) c.fill(0);
        i += 1;
        offset = 0;
      }
    }
    if (!peek) {
      this.first = i;
      this.offset = offset;
      this.length -= n;
      if (this.first > 64 && this.first * 2 > this.chunks.length) {
        this.chunks = this.chunks.slice(this.first);
        this.first = 0;
      }
    }
    return out;
  }

  wipe(): void {
    for (let i = this.first; i < this.chunks.length; i++) this.chunks[i]!.fill(0);
    this.chunks = [];
    this.first = 0;
    this.offset = 0;
    this.length = 0;
  }
}

function assertChunk(chunk: unknown): asserts chunk is Uint8Array {
  if (!(chunk instanceof Uint8Array)) throw new RelaisError('invalid_argument', 'media streams carry Uint8Array chunks only', { retryable: false });
}

/** Synchronous core of the encrypting stream. */
class FrameEncryptor {
  private readonly push: SecretStreamPush;
  private readonly ad: Uint8Array;
  private readonly queue = new ByteQueue();
  private sentFirst = false;
  readonly header: Uint8Array;

  constructor(dek: Uint8Array, ctx: MediaContext) {
    assertKey(dek, 'data key');
    checkCtx(ctx);
    this.ad = mediaAd(ctx);
    const key = mediaKey(dek);
    try {
      this.push = new SecretStreamPush(key);
    } finally {
      memzero(key);
    }
    this.header = new Uint8Array(MEDIA_HEADER_BYTES);
    this.header[0] = MEDIA_FORMAT_V1;
    this.header[1] = MEDIA_ALG_SECRETSTREAM;
    new DataView(this.header.buffer).setUint32(2, ctx.keyVersion);
    this.header.set(this.push.header, 6);
  }

  private frame(plain: Uint8Array, final: boolean): Uint8Array {
    const ct = this.push.push(plain, this.sentFirst ? null : this.ad, final);
    this.sentFirst = true;
    memzero(plain);
    const out = new Uint8Array(LEN_BYTES + ct.length);
    new DataView(out.buffer).setUint32(0, ct.length);
    out.set(ct, LEN_BYTES);
    return out;
  }

  /** Frames that are complete after adding `chunk`; keeps at least one byte back for the final frame. */
  write(chunk: Uint8Array): Uint8Array[] {
    assertChunk(chunk);
    this.queue.push(chunk);
    const out: Uint8Array[] = [];
    while (this.queue.length > MEDIA_CHUNK_BYTES) out.push(this.frame(this.queue.take(MEDIA_CHUNK_BYTES), false));
    return out;
  }

  /** The final frame; the encryptor is disposed afterwards. */
  end(): Uint8Array {
    return this.frame(this.queue.take(this.queue.length), true);
  }

  dispose(): void {
    this.push.dispose();
    this.queue.wipe();
  }
}

/** Synchronous core of the decrypting stream. */
class FrameDecryptor {
  private readonly key: Uint8Array;
  private readonly ad: Uint8Array;
  private readonly ctx: MediaContext;
  private readonly queue = new ByteQueue();
  private pull: SecretStreamPull | null = null;
  private frames = 0;
  private done = false;

  constructor(dek: Uint8Array, ctx: MediaContext) {
    assertKey(dek, 'data key');
    checkCtx(ctx);
    this.ctx = { mediaId: ctx.mediaId, keyVersion: ctx.keyVersion };
    this.ad = mediaAd(ctx);
    this.key = mediaKey(dek);
  }

  /** Plaintext of every frame completed by `chunk`. Throws `decrypt_failed` as soon as something is wrong. */
  write(chunk: Uint8Array): Uint8Array[] {
    assertChunk(chunk);
    this.queue.push(chunk);
    const out: Uint8Array[] = [];
    for (;;) {
      if (this.done) {
        if (this.queue.length > 0) throw failed('there is data after the final frame');
        return out;
      }
      if (this.pull === null) {
        if (this.queue.length < MEDIA_HEADER_BYTES) return out;
        this.openHeader(this.queue.take(MEDIA_HEADER_BYTES));
        continue;
      }
      if (this.queue.length < LEN_BYTES) return out;
      const lenBytes = this.queue.take(LEN_BYTES, true);
      const len = new DataView(lenBytes.buffer).getUint32(0);
      if (len < SECRETSTREAM_ABYTES || len > MAX_FRAME_CIPHERTEXT) throw failed(`frame ${this.frames + 1} has an impossible length`);
      if (this.queue.length < LEN_BYTES + len) return out;
      this.queue.take(LEN_BYTES);
      const res = this.pull.pull(this.queue.take(len), this.frames === 0 ? this.ad : null);
      this.frames += 1;
      if (res === null) {
        throw failed(`frame ${this.frames} does not authenticate (modified, reordered, duplicated, or from another media, key or key version)`);
      }
      if (res.message.length > 0) out.push(res.message);
      if (res.final) {
        this.done = true;
        this.pull.dispose(); // the queue is kept: trailing bytes are checked above and in end()
      }
    }
  }

  /** Checks that the stream ended with its final frame. Throws `decrypt_failed` otherwise. */
  end(): void {
    if (this.pull === null && !this.done) throw failed(this.queue.length === 0 && this.frames === 0 ? 'it is empty (no header)' : 'the header is incomplete');
    if (!this.done) throw failed('it is truncated (the final frame is missing)');
    if (this.queue.length > 0) throw failed('there is data after the final frame');
  }

  private openHeader(h: Uint8Array): void {
    if (h[0] !== MEDIA_FORMAT_V1 || h[1] !== MEDIA_ALG_SECRETSTREAM) throw failed('unknown format or algorithm byte');
    if (new DataView(h.buffer).getUint32(2) !== this.ctx.keyVersion) throw failed('it was sealed with another key version than the one given');
    this.pull = new SecretStreamPull(h.subarray(6), this.key);
  }

  dispose(): void {
    this.pull?.dispose();
    memzero(this.key);
    this.queue.wipe();
  }
}

type DisposableTransformer = Transformer<Uint8Array, Uint8Array> & { cancel?: (reason: unknown) => void };

/**
 * Encrypts media as it flows. Input: byte chunks of any size. Output: the 30-byte header, then
 * one chunk per whole frame (so callers can store one row per output chunk, in order). Validates
 * the DEK and context synchronously (throws `key_invalid` / `invalid_argument`); a non-Uint8Array
 * chunk errors the stream with `invalid_argument`. No I/O.
 */
export function encryptMediaStream(dek: Uint8Array, ctx: MediaContext): TransformStream<Uint8Array, Uint8Array> {
  const enc = new FrameEncryptor(dek, ctx);
  const transformer: DisposableTransformer = {
    start(controller) {
      controller.enqueue(enc.header);
    },
    transform(chunk, controller) {
      try {
        for (const frame of enc.write(chunk)) controller.enqueue(frame);
      } catch (err) {
        enc.dispose();
        throw err;
      }
    },
    flush(controller) {
      try {
        controller.enqueue(enc.end());
      } finally {
        enc.dispose();
      }
    },
    cancel() {
      enc.dispose();
    },
  };
  return new TransformStream(transformer);
}

/**
 * Decrypts what `encryptMediaStream` produced: the frames as produced, their concatenation, or any
 * re-chunking of those bytes. Output: plaintext chunks (≤ 64 KiB each) as each frame is
 * authenticated. The stream errors with `RelaisError('decrypt_failed')` on a wrong key, media id
 * or key version, any modified, reordered, duplicated or missing frame, truncation (no final
 * frame at the end) or trailing bytes. Plaintext already emitted before a truncation is detected
 * at the end must be discarded by the caller: only a stream that closes without error is
 * complete. Validates the DEK and context synchronously (throws `key_invalid` /
 * `invalid_argument`). No I/O.
 */
export function decryptMediaStream(dek: Uint8Array, ctx: MediaContext): TransformStream<Uint8Array, Uint8Array> {
  const dec = new FrameDecryptor(dek, ctx);
  const transformer: DisposableTransformer = {
    transform(chunk, controller) {
      try {
        for (const plain of dec.write(chunk)) controller.enqueue(plain);
      } catch (err) {
        dec.dispose();
        throw err;
      }
    },
    flush() {
      try {
        dec.end();
      } finally {
        dec.dispose();
      }
    },
    cancel() {
      dec.dispose();
    },
  };
  return new TransformStream(transformer);
}

/**
 * Encrypts a whole buffer (small media) and returns the frames, header first — the same frames
 * `encryptMediaStream` would emit. Throws like `encryptMediaStream`. No I/O.
 */
export async function encryptMediaBytes(dek: Uint8Array, ctx: MediaContext, data: Uint8Array): Promise<Uint8Array[]> {
  const enc = new FrameEncryptor(dek, ctx);
  try {
    return [enc.header, ...enc.write(data), enc.end()];
  } finally {
    enc.dispose();
  }
}

/**
 * Decrypts frames (as produced, or re-chunked) into one buffer; all-or-nothing. Rejects with
 * `RelaisError('decrypt_failed')` like `decryptMediaStream`. No I/O.
 */
export async function decryptMediaFrames(dek: Uint8Array, ctx: MediaContext, frames: Uint8Array[]): Promise<Uint8Array> {
  const dec = new FrameDecryptor(dek, ctx);
  try {
    const parts: Uint8Array[] = [];
    for (const f of frames) parts.push(...dec.write(f));
    dec.end();
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
      memzero(p);
    }
    return out;
  } finally {
    dec.dispose();
  }
}

/**
 * The DEK version in a media header (frame 0, or any buffer starting with it), without
 * decrypting. Throws `RelaisError('decrypt_failed')` if the bytes do not start with a media header.
 */
export function mediaKeyVersion(header: Uint8Array): number {
  if (!(header instanceof Uint8Array) || header.length < MEDIA_HEADER_BYTES || header[0] !== MEDIA_FORMAT_V1 || header[1] !== MEDIA_ALG_SECRETSTREAM) {
    throw failed('the bytes do not start with a media header');
  }
  return new DataView(header.buffer, header.byteOffset, header.byteLength).getUint32(2);
}
