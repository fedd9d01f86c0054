/**
 * The only module in Relais that imports libsodium. Everything else in the archive goes through
 * these small wrappers, so the primitive choices (and their sizes) live in one place.
 *
 * `libsodium-wrappers` 0.8.x is loaded through its ESM build: the default export is the API
 * object, and its functions only appear on it once `ready` has resolved. Call `initSodium()`
 * once at startup (and in test setup); every other function here throws
 * `RelaisError('crypto_not_ready')` until then. No I/O happens in this module.
 */
import { randomBytes as nodeRandomBytes, randomFillSync } from 'node:crypto';
import sodium from 'libsodium-wrappers';
import { RelaisError } from '../core/errors.js';

/** Bytes of every symmetric key Relais uses (KEK, DEK, index and system keys). */
export const KEY_BYTES = 32;
/** XChaCha20-Poly1305 (IETF) public nonce size. */
export const AEAD_NONCE_BYTES = 24;
/** Poly1305 tag size appended to AEAD ciphertexts. */
export const AEAD_TAG_BYTES = 16;
/** Size of a `crypto_secretstream_xchacha20poly1305` header. */
export const SECRETSTREAM_HEADER_BYTES = 24;
/** Bytes a secretstream frame adds to its plaintext (1 encrypted tag byte + 16-byte MAC). */
export const SECRETSTREAM_ABYTES = 17;
/** Length of a `crypto_kdf` context string. */
export const KDF_CONTEXT_BYTES = 8;

/**
 * Waits until libsodium is loaded and checks that its sizes are the ones this module hard-codes.
 * Idempotent and cheap after the first call. No I/O. Throws `RelaisError('crypto_unavailable')`
 * if the library reports different sizes (a broken or unexpected build).
 */
export async function initSodium(): Promise<void> {
  await sodium.ready;
  const expected: [number, number][] = [
    [sodium.crypto_aead_xchacha20poly1305_ietf_KEYBYTES, KEY_BYTES],
    [sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, AEAD_NONCE_BYTES],
    [sodium.crypto_aead_xchacha20poly1305_ietf_ABYTES, AEAD_TAG_BYTES],
    [sodium.crypto_secretstream_xchacha20poly1305_HEADERBYTES, SECRETSTREAM_HEADER_BYTES],
    [sodium.crypto_secretstream_xchacha20poly1305_ABYTES, SECRETSTREAM_ABYTES],
    [sodium.crypto_secretstream_xchacha20poly1305_KEYBYTES, KEY_BYTES],
    [sodium.crypto_kdf_KEYBYTES, KEY_BYTES],
    [sodium.crypto_kdf_CONTEXTBYTES, KDF_CONTEXT_BYTES],
  ];
  if (expected.some(([got, want]) => got !== want)) {
    throw new RelaisError('crypto_unavailable', 'libsodium reports unexpected primitive sizes; check the installed libsodium-wrappers version', { retryable: false });
  }
}

function assertReady(): void {
  // Before `ready` resolves the default export carries no crypto functions.
  if (typeof sodium.crypto_aead_xchacha20poly1305_ietf_encrypt !== 'function') {
    throw new RelaisError('crypto_not_ready', 'libsodium is not initialised: await initSodium() before using the archive crypto', { retryable: false });
  }
}

/** Throws `RelaisError(code)` unless `key` is a Uint8Array of exactly 32 bytes. `what` names the key in the message. */
export function assertKey(key: unknown, what: string, code = 'key_invalid'): asserts key is Uint8Array {
  if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES) {
    const got = key instanceof Uint8Array ? `${key.length} bytes` : typeof key;
    throw new RelaisError(code, `${what} must be ${KEY_BYTES} bytes (got ${got})`, { retryable: false });
  }
}

/** `n` bytes from the operating system CSPRNG. Throws `crypto_not_ready` before `initSodium()`. */
export function randomBytes(n: number): Uint8Array {
  assertReady();
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RelaisError('invalid_argument', 'randomBytes: length must be a non-negative integer', { retryable: false });
  }
  // Node's CSPRNG (the same OS source): libsodium's WebAssembly build fetches its randomness
  // through a JS callback a few bytes at a time, which cost ~6 % of the webhook path. Small
  // requests (nonces, keys) are served from a pool filled 4 KiB at a time, as Node does for
  // randomUUID: one system call per ~170 nonces instead of one each. Bytes are handed out once.
  if (n > RANDOM_POOL_BYTES / 4) return new Uint8Array(nodeRandomBytes(n));
  if (randomPoolOffset + n > RANDOM_POOL_BYTES) { randomFillSync(randomPool); randomPoolOffset = 0; }
  const out = randomPool.slice(randomPoolOffset, randomPoolOffset + n);
  randomPool.fill(0, randomPoolOffset, randomPoolOffset + n);
  randomPoolOffset += n;
  return out;
}

const RANDOM_POOL_BYTES = 4096;
const randomPool = new Uint8Array(RANDOM_POOL_BYTES);
/** Next unused byte of `randomPool`; starts exhausted so the first call fills it. */
let randomPoolOffset = RANDOM_POOL_BYTES;

/**
 * Constant-time comparison (time depends only on the length). Different lengths compare unequal
 * immediately: lengths are not secret here. Throws `crypto_not_ready` before `initSodium()`.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  assertReady();
  if (a.length !== b.length) return false;
  if (a.length === 0) return true;
  return sodium.memcmp(a, b);
}

/** Overwrites `buf` with zeros in place. Only call it on buffers you own. */
export function memzero(buf: Uint8Array): void {
  assertReady();
  sodium.memzero(buf);
}

/** True when every byte of `buf` is zero (constant time). */
export function isAllZero(buf: Uint8Array): boolean {
  assertReady();
  return sodium.is_zero(buf);
}

/** Standard padded base64 (RFC 4648 §4), the format `openssl rand -base64 32` prints. */
export function toBase64(bytes: Uint8Array): string {
  assertReady();
  return sodium.to_base64(bytes, sodium.base64_variants.ORIGINAL);
}

/**
 * Strict base64 decoding: standard or URL-safe alphabet, with or without padding, nothing else
 * (no whitespace, no stray characters). Returns `null` when `text` is not base64. Never throws
 * except `crypto_not_ready`.
 */
export function decodeBase64(text: string): Uint8Array | null {
  assertReady();
  if (text.length === 0) return null;
  const v = sodium.base64_variants;
  const padded = text.endsWith('=');
  const urlSafe = /[-_]/.test(text);
  const variant = urlSafe ? (padded ? v.URLSAFE : v.URLSAFE_NO_PADDING) : (padded ? v.ORIGINAL : v.ORIGINAL_NO_PADDING);
  try {
    return sodium.from_base64(text, variant);
  } catch {
    return null;
  }
}

/** Lowercase hex. */
export function toHex(bytes: Uint8Array): string {
  assertReady();
  return sodium.to_hex(bytes);
}

/**
 * XChaCha20-Poly1305 (IETF) encryption; returns ciphertext||tag. `key` must be 32 bytes and
 * `nonce` 24 bytes (throws `RelaisError('invalid_argument')` otherwise).
 */
export function aeadSeal(plaintext: Uint8Array, aad: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array {
  assertReady();
  assertKey(key, 'AEAD key', 'invalid_argument');
  assertNonce(nonce);
  return sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, aad, null, nonce, key);
}

/**
 * XChaCha20-Poly1305 (IETF) decryption of ciphertext||tag. Returns `null` when authentication
 * fails (wrong key, nonce, AAD, or any modified byte); throws only on malformed arguments.
 */
export function aeadOpen(sealed: Uint8Array, aad: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array | null {
  assertReady();
  assertKey(key, 'AEAD key', 'invalid_argument');
  assertNonce(nonce);
  if (sealed.length < AEAD_TAG_BYTES) return null;
  try {
    return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, sealed, aad, nonce, key);
  } catch {
    return null;
  }
}

function assertNonce(nonce: Uint8Array): void {
  if (!(nonce instanceof Uint8Array) || nonce.length !== AEAD_NONCE_BYTES) {
    throw new RelaisError('invalid_argument', `AEAD nonce must be ${AEAD_NONCE_BYTES} bytes`, { retryable: false });
  }
}

/**
 * `crypto_kdf_derive_from_key` (BLAKE2b): a 32-byte subkey of `key` for an 8-character ASCII
 * `context` and a non-negative integer `subkeyId`. Throws `RelaisError('invalid_argument')` on
 * a bad context, id or key size.
 */
export function kdfDerive(key: Uint8Array, context: string, subkeyId: number): Uint8Array {
  assertReady();
  assertKey(key, 'KDF key', 'invalid_argument');
  if (!/^[\x20-\x7e]{8}$/.test(context)) {
    throw new RelaisError('invalid_argument', `KDF context must be ${KDF_CONTEXT_BYTES} printable ASCII characters`, { retryable: false });
  }
  if (!Number.isSafeInteger(subkeyId) || subkeyId < 0) {
    throw new RelaisError('invalid_argument', 'KDF subkey id must be a non-negative integer', { retryable: false });
  }
  return sodium.crypto_kdf_derive_from_key(KEY_BYTES, subkeyId, context, key);
}

/**
 * Keyed BLAKE2b (`crypto_generichash`) of `message` with a 16..64-byte `key`, `outLen` bytes
 * (16..64, default 32). Throws `RelaisError('invalid_argument')` on bad sizes.
 */
export function keyedHash(key: Uint8Array, message: Uint8Array, outLen = 32): Uint8Array {
  assertReady();
  if (!(key instanceof Uint8Array) || key.length < 16 || key.length > 64 || outLen < 16 || outLen > 64) {
    throw new RelaisError('invalid_argument', 'keyed BLAKE2b needs a 16..64-byte key and a 16..64-byte output', { retryable: false });
  }
  return sodium.crypto_generichash(outLen, message, key);
}

type RawModule = { _free?: (ptr: number) => void; HEAPU8?: Uint8Array };
type StreamState = ReturnType<typeof sodium.crypto_secretstream_xchacha20poly1305_init_pull>;
/** libsodium's `crypto_secretstream_xchacha20poly1305_statebytes()`. */
const SECRETSTREAM_STATE_BYTES = 52;

/**
 * libsodium.js allocates a secretstream state in the WebAssembly heap and never frees it. We wipe
 * it (it holds the stream key) and free it when a stream ends, if the loaded build exposes its
 * raw module the way 0.8.x does; otherwise this is a no-op.
 */
function releaseState(state: StreamState): void {
  const raw = (sodium as unknown as { libsodium?: RawModule }).libsodium;
  const addr = typeof state === 'number' ? state : (state as { address?: unknown }).address;
  if (!raw || typeof raw._free !== 'function' || !(raw.HEAPU8 instanceof Uint8Array) || typeof addr !== 'number' || addr <= 0) return;
  raw.HEAPU8.fill(0, addr, addr + SECRETSTREAM_STATE_BYTES);
  raw._free(addr);
}

/**
 * Encrypting side of `crypto_secretstream_xchacha20poly1305`. Holds native state: call
 * `dispose()` when done (after the final frame, or on abort). Using it after `dispose()` throws
 * `RelaisError('invalid_state')`.
 */
export class SecretStreamPush {
  /** The 24-byte stream header; store it before the first frame. */
  readonly header: Uint8Array;
  private state: StreamState | null;

  /** Starts a stream under a 32-byte key (throws `invalid_argument` otherwise). */
  constructor(key: Uint8Array) {
    assertReady();
    assertKey(key, 'secretstream key', 'invalid_argument');
    const { state, header } = sodium.crypto_secretstream_xchacha20poly1305_init_push(key);
    this.state = state;
    this.header = header;
  }

  /** Encrypts one frame; `final` marks it TAG_FINAL (the stream must not be pushed afterwards). */
  push(message: Uint8Array, ad: Uint8Array | null, final: boolean): Uint8Array {
    if (this.state === null) throw new RelaisError('invalid_state', 'secretstream used after dispose()', { retryable: false });
    const tag = final ? sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL : sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
    const frame = sodium.crypto_secretstream_xchacha20poly1305_push(this.state, message, ad, tag);
    if (final) this.dispose();
    return frame;
  }

  /** Wipes and frees the native state. Idempotent. */
  dispose(): void {
    if (this.state !== null) releaseState(this.state);
    this.state = null;
  }
}

/**
 * Decrypting side of `crypto_secretstream_xchacha20poly1305`. Holds native state: call
 * `dispose()` when done. Using it after `dispose()` throws `RelaisError('invalid_state')`.
 */
export class SecretStreamPull {
  private state: StreamState | null;

  /** Opens a stream from its 24-byte header and a 32-byte key. Throws `invalid_argument` on bad sizes. */
  constructor(header: Uint8Array, key: Uint8Array) {
    assertReady();
    assertKey(key, 'secretstream key', 'invalid_argument');
    if (!(header instanceof Uint8Array) || header.length !== SECRETSTREAM_HEADER_BYTES) {
      throw new RelaisError('invalid_argument', `secretstream header must be ${SECRETSTREAM_HEADER_BYTES} bytes`, { retryable: false });
    }
    this.state = sodium.crypto_secretstream_xchacha20poly1305_init_pull(header, key);
  }

  /**
   * Decrypts and authenticates the next frame. Returns `null` when the frame does not
   * authenticate (modified, reordered, duplicated, wrong key or AD) or carries a tag other than
   * MESSAGE/FINAL; the stream is then unusable and should be disposed.
   */
  pull(frame: Uint8Array, ad: Uint8Array | null): { message: Uint8Array; final: boolean } | null {
    if (this.state === null) throw new RelaisError('invalid_state', 'secretstream used after dispose()', { retryable: false });
    if (frame.length < SECRETSTREAM_ABYTES) return null;
    let res: { message: Uint8Array; tag: number } | false;
    try {
      res = sodium.crypto_secretstream_xchacha20poly1305_pull(this.state, frame, ad);
    } catch {
      return null;
    }
    if (res === false) return null;
    if (res.tag === sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL) return { message: res.message, final: true };
    if (res.tag === sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE) return { message: res.message, final: false };
    return null;
  }

  /** Wipes and frees the native state. Idempotent. */
  dispose(): void {
    if (this.state !== null) releaseState(this.state);
    this.state = null;
  }
}
