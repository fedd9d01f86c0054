import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { RelaisError } from '../../src/core/errors.js';
import {
  MEDIA_CHUNK_BYTES, MEDIA_HEADER_BYTES, decryptMediaFrames, decryptMediaStream, encryptMediaBytes, encryptMediaStream, mediaKeyVersion,
} from '../../src/archive/media-stream.js';
import { initSodium, randomBytes } from '../../src/archive/sodium.js';

/** Deterministic pseudo-random bytes (xorshift32). */
function bytesFrom(seed: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed | 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** Splits `data` at the given cut points (any numbers; reduced modulo the length, sorted). */
function split(data: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => (data.length === 0 ? 0 : c % (data.length + 1))))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const p of points) {
    out.push(data.subarray(at, p));
    at = p;
  }
  out.push(data.subarray(at));
  return out;
}

/** Pushes `chunks` through `ts` and collects what comes out; rejects with the stream's error. */
async function pipe(ts: TransformStream<Uint8Array, Uint8Array>, chunks: Uint8Array[]): Promise<Uint8Array[]> {
  const source = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const c of chunks) controller.enqueue(c);
      controller.close();
    },
  });
  const reader = source.pipeThrough(ts).getReader();
  const out: Uint8Array[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return out;
    out.push(value);
  }
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(RelaisError);
    expect((err as RelaisError).retryable).toBe(false);
    return (err as RelaisError).code;
  }
  return undefined;
}

const expectedFrames = (n: number) => 1 + Math.max(1, Math.ceil(n / MEDIA_CHUNK_BYTES));

let dek: Uint8Array;
const ctx = { mediaId: '5d0c1c4e-8a51-4a49-9d0e-2f1f4b8b9b11', keyVersion: 3 };
beforeAll(async () => {
  await initSodium();
  dek = randomBytes(32);
});

describe('round trips', () => {
  it('encrypts streams of any size and chunking into whole frames, and decrypts them however re-chunked', async () => {
    const sizeArb = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 3 * MEDIA_CHUNK_BYTES + 10 }),
      fc.constantFrom(MEDIA_CHUNK_BYTES - 1, MEDIA_CHUNK_BYTES, MEDIA_CHUNK_BYTES + 1, 2 * MEDIA_CHUNK_BYTES));
    await fc.assert(fc.asyncProperty(fc.integer(), sizeArb, fc.array(fc.nat(), { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 6 }),
      async (seed, size, inCuts, outCuts) => {
        const data = bytesFrom(seed, size);
        const frames = await pipe(encryptMediaStream(dek, ctx), split(data, inCuts));
        expect(frames.length).toBe(expectedFrames(size));
        expect(frames[0]!.length).toBe(MEDIA_HEADER_BYTES);
        expect(mediaKeyVersion(frames[0]!)).toBe(ctx.keyVersion);
        for (const f of frames.slice(1)) expect(new DataView(f.buffer, f.byteOffset).getUint32(0)).toBe(f.length - 4);

        expect(sameBytes(await decryptMediaFrames(dek, ctx, frames), data)).toBe(true);
        expect(sameBytes(await decryptMediaFrames(dek, ctx, [concat(frames)]), data)).toBe(true);
        const rechunked = split(concat(frames), outCuts);
        expect(sameBytes(concat(await pipe(decryptMediaStream(dek, ctx), rechunked)), data)).toBe(true);
      }), { numRuns: 60 });
  });

  it('gives the same framing for bytes and streams', async () => {
    for (const size of [0, 1, MEDIA_CHUNK_BYTES, MEDIA_CHUNK_BYTES + 1, 3 * MEDIA_CHUNK_BYTES]) {
      const data = bytesFrom(size + 1, size);
      const frames = await encryptMediaBytes(dek, ctx, data);
      expect(frames.map((f) => f.length)).toEqual((await pipe(encryptMediaStream(dek, ctx), [data])).map((f) => f.length));
      expect(sameBytes(await decryptMediaFrames(dek, ctx, frames), data)).toBe(true);
    }
  });

  it('handles empty media: a header and one empty final frame', async () => {
    const frames = await encryptMediaBytes(dek, ctx, new Uint8Array(0));
    expect(frames.map((f) => f.length)).toEqual([MEDIA_HEADER_BYTES, 4 + 17]);
    expect((await decryptMediaFrames(dek, ctx, frames)).length).toBe(0);
    expect(await pipe(decryptMediaStream(dek, ctx), frames)).toEqual([]);
    expect((await pipe(encryptMediaStream(dek, ctx), [])).length).toBe(2);
  });

  it('streams several megabytes', async () => {
    const data = bytesFrom(42, 5 * 1024 * 1024 + 123);
    const frames = await pipe(encryptMediaStream(dek, ctx), split(data, [1, 70_000, 70_001, 1_000_000, 4_000_000]));
    expect(frames.length).toBe(expectedFrames(data.length));
    const plain = await pipe(decryptMediaStream(dek, ctx), split(concat(frames), [3, 29, 30, 31, 100_000, 2_000_000]));
    expect(plain.every((p) => p.length <= MEDIA_CHUNK_BYTES)).toBe(true);
    expect(sameBytes(concat(plain), data)).toBe(true);
  });

  it('does not modify the caller\'s buffers', async () => {
    const data = bytesFrom(1, 70_000);
    const copy = data.slice();
    const frames = await encryptMediaBytes(dek, ctx, data);
    const framesCopy = frames.map((f) => f.slice());
    await decryptMediaFrames(dek, ctx, frames);
    expect(sameBytes(data, copy)).toBe(true);
    frames.forEach((f, i) => expect(sameBytes(f, framesCopy[i]!)).toBe(true));
  });
});

describe('tampering', () => {
  let data: Uint8Array;
  let frames: Uint8Array[];
  beforeAll(async () => {
    data = bytesFrom(7, 4 * MEDIA_CHUNK_BYTES + 100); // header + 5 frames
    frames = await encryptMediaBytes(dek, ctx, data);
    expect(frames.length).toBe(6);
  });

  it('rejects truncation at every frame boundary, including nothing at all', async () => {
    for (let keep = 0; keep < frames.length; keep++) {
      const cut = frames.slice(0, keep);
      expect(await codeOf(decryptMediaFrames(dek, ctx, cut))).toBe('decrypt_failed');
      expect(await codeOf(pipe(decryptMediaStream(dek, ctx), cut))).toBe('decrypt_failed');
    }
  });

  it('rejects truncation at any byte', async () => {
    const all = concat(frames);
    await fc.assert(fc.asyncProperty(fc.integer({ min: 0, max: all.length - 1 }), async (n) => {
      expect(await codeOf(decryptMediaFrames(dek, ctx, [all.subarray(0, n)]))).toBe('decrypt_failed');
    }), { numRuns: 200 });
  });

  it('rejects swapped, duplicated, removed and foreign frames', async () => {
    const variants: Uint8Array[][] = [];
    for (let i = 1; i < frames.length - 1; i++) {
      const swapped = frames.slice();
      [swapped[i], swapped[i + 1]] = [swapped[i + 1]!, swapped[i]!];
      variants.push(swapped);
      variants.push([...frames.slice(0, i + 1), frames[i]!, ...frames.slice(i + 1)]); // duplicate
      variants.push([...frames.slice(0, i), ...frames.slice(i + 1)]); // remove
    }
    variants.push([...frames, frames[frames.length - 1]!]); // final frame twice
    variants.push([...frames, new Uint8Array([0])]); // trailing byte
    const other = await encryptMediaBytes(dek, ctx, data); // same key, context and content, other stream
    variants.push([frames[0]!, ...other.slice(1)]);
    variants.push([other[0]!, ...frames.slice(1)]);
    variants.push([...frames.slice(0, 3), ...other.slice(3)]);
    for (const v of variants) {
      expect(await codeOf(decryptMediaFrames(dek, ctx, v))).toBe('decrypt_failed');
      expect(await codeOf(pipe(decryptMediaStream(dek, ctx), [concat(v)]))).toBe('decrypt_failed');
    }
  });

  it('rejects a bit flip anywhere', async () => {
    const all = concat(frames);
    await fc.assert(fc.asyncProperty(fc.integer({ min: 0, max: all.length * 8 - 1 }), async (bit) => {
      const bad = all.slice();
      bad[bit >> 3]! ^= 1 << (bit & 7);
      expect(await codeOf(decryptMediaFrames(dek, ctx, [bad]))).toBe('decrypt_failed');
    }), { numRuns: 300 });
  });

  it('rejects every single bit flip of a small media', async () => {
    const small = concat(await encryptMediaBytes(dek, ctx, new Uint8Array([1, 2, 3])));
    for (let bit = 0; bit < small.length * 8; bit++) {
      const bad = small.slice();
      bad[bit >> 3]! ^= 1 << (bit & 7);
      expect(await codeOf(decryptMediaFrames(dek, ctx, [bad]))).toBe('decrypt_failed');
    }
  });

  it('rejects another media id, key version or data key', async () => {
    expect(await codeOf(decryptMediaFrames(dek, { ...ctx, mediaId: 'another-media' }, frames))).toBe('decrypt_failed');
    expect(await codeOf(decryptMediaFrames(dek, { ...ctx, keyVersion: 4 }, frames))).toBe('decrypt_failed');
    expect(await codeOf(decryptMediaFrames(randomBytes(32), ctx, frames))).toBe('decrypt_failed');
    const relabelled = frames.slice();
    relabelled[0] = frames[0]!.slice();
    relabelled[0][5] = 4; // header claims version 4, reader asks for 4
    expect(await codeOf(decryptMediaFrames(dek, { ...ctx, keyVersion: 4 }, relabelled))).toBe('decrypt_failed');
  });

  it('rejects frames with impossible lengths before buffering them', async () => {
    const huge = new Uint8Array(8);
    new DataView(huge.buffer).setUint32(0, 0x7fffffff);
    const dec = pipe(decryptMediaStream(dek, ctx), [frames[0]!, huge]);
    expect(await codeOf(dec)).toBe('decrypt_failed');
  });

  it('errors the stream with a message that holds no plaintext', async () => {
    const text = 'confidential media content';
    const f = await encryptMediaBytes(dek, ctx, new TextEncoder().encode(text));
    try {
      await pipe(decryptMediaStream(dek, { ...ctx, mediaId: 'x' }), f);
      expect.unreachable();
    } catch (err) {
      expect((err as RelaisError).code).toBe('decrypt_failed');
      expect((err as RelaisError).message).not.toContain('confidential');
    }
  });
});

describe('arguments', () => {
  it('validates the key and the context synchronously', () => {
    expect(() => encryptMediaStream(new Uint8Array(16), ctx)).toThrow(RelaisError);
    expect(() => decryptMediaStream(dek, { mediaId: '', keyVersion: 1 })).toThrow(RelaisError);
    expect(() => encryptMediaStream(dek, { mediaId: 'm', keyVersion: -1 })).toThrow(RelaisError);
    expect(() => mediaKeyVersion(new Uint8Array(3))).toThrow(RelaisError);
  });

  it('errors the stream on a chunk that is not bytes', async () => {
    const code = await codeOf(pipe(encryptMediaStream(dek, ctx), ['text' as unknown as Uint8Array]));
    expect(code).toBe('invalid_argument');
  });
});

describe('caller buffers', () => {
  it('never wipes the Buffers a caller streams in (Node streams hand out Buffer views)', async () => {
    const { encryptMediaStream } = await import('../../src/archive/media-stream.js');
    const { initSodium, randomBytes } = await import('../../src/archive/sodium.js');
    await initSodium();
    const input = Buffer.from('hello media bytes that must survive');
    const copy = Buffer.from(input);
    const frames: Uint8Array[] = [];
    const src = new ReadableStream<Uint8Array>({ start(c) { c.enqueue(input); c.close(); } });
    for await (const f of src.pipeThrough(encryptMediaStream(randomBytes(32), { mediaId: 'm1', keyVersion: 1 })) as unknown as AsyncIterable<Uint8Array>) frames.push(f);
    expect(frames.length).toBeGreaterThan(1);
    expect(input.equals(copy)).toBe(true);
  });
});
