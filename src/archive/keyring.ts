/**
 * The key ring: the loaded master keys (KEKs) and everything derived from them — wrapping and
 * unwrapping customers' data keys (DEKs) and the blind-index root, blind-index keys and system
 * keys. Pure computation, no I/O; every function needs `initSodium()` to have been awaited.
 *
 * Wrapped key layout (77 bytes, see README.md):
 *   [0] 0x01 format | [1..4] KEK version, uint32 BE | [5..28] random 24-byte nonce |
 *   [29..76] XChaCha20-Poly1305 ciphertext of the 32-byte key || 16-byte tag
 * The AEAD key is not the KEK itself but crypto_kdf(KEK, context "relaiskw", id 1), so the KEK is
 * only ever used as a KDF/PRF key.
 */
import { RelaisError } from '../core/errors.js';
import { assertContextString, assertUint32, encodeAad } from './envelope.js';
import type { MasterKey } from './master-key.js';
import { AEAD_NONCE_BYTES, AEAD_TAG_BYTES, KEY_BYTES, aeadOpen, aeadSeal, assertKey, kdfDerive, randomBytes } from './sodium.js';

/** What a blind index is computed over; each purpose has its own key. */
export type IndexPurpose = 'wamid' | 'customer' | 'phone' | 'post' | 'token' | 'channel' | 'audit';
/** Deployment-wide data not tied to one customer. */
export type SystemKeyPurpose = 'quarantine';

/** crypto_kdf subkey ids. Never renumber: stored blind indexes and ciphertexts depend on them. */
const INDEX_SUBKEY_IDS: Record<IndexPurpose, number> = { wamid: 1, customer: 2, phone: 3, post: 4, token: 5, channel: 6, audit: 7 };
const SYSTEM_SUBKEY_IDS: Record<SystemKeyPurpose, number> = { quarantine: 1 };
const CTX_INDEX = 'relaisbx';
const CTX_SYSTEM = 'relaisys';
const CTX_WRAP = 'relaiskw';

/** First byte of a wrapped key. */
export const WRAP_FORMAT_V1 = 0x01;
const WRAP_HEADER_BYTES = 5;
/** Size of every wrapped 32-byte key (DEK or index root). */
export const WRAPPED_KEY_BYTES = WRAP_HEADER_BYTES + AEAD_NONCE_BYTES + KEY_BYTES + AEAD_TAG_BYTES;

/** All index purposes, in subkey-id order. */
export const INDEX_PURPOSES: readonly IndexPurpose[] = Object.keys(INDEX_SUBKEY_IDS) as IndexPurpose[];

export interface KeyRing {
  /** Version of the first (current) master key; new wraps and system keys use it. */
  readonly currentKekVersion: number;
  /** Versions of every loaded master key, current first (as listed in RELAIS_MASTER_KEY). */
  readonly kekVersions: readonly number[];
  /** New random 32-byte data key (DEK). */
  newDataKey(): Uint8Array;
  /**
   * Wraps a 32-byte DEK with the current KEK (XChaCha20-Poly1305, AAD = canonical encoding of
   * ("relais.dek", format, customerId, dekVersion, kekVersion)). Returns the 77-byte
   * self-describing blob and the KEK version used. Throws `key_invalid` on a bad DEK size,
   * `invalid_argument` on an empty customer id or a non-uint32 version.
   */
  wrapDataKey(dek: Uint8Array, ctx: { customerId: string; dekVersion: number }): { wrapped: Uint8Array; kekVersion: number };
  /**
   * Inverse of `wrapDataKey`; picks the KEK by the version in the blob. Throws
   * `RelaisError('key_missing')` if that KEK is not loaded, `RelaisError('decrypt_failed')` if the
   * blob is malformed or does not authenticate for this customer and DEK version.
   */
  unwrapDataKey(wrapped: Uint8Array, ctx: { customerId: string; dekVersion: number }): Uint8Array;
  /**
   * 32-byte blind-index key for `purpose`: crypto_kdf(root, "relaisbx", id per purpose) where root
   * is the index root given to `createKeyRing`, or the current KEK when none was given (then index
   * values change when the KEK rotates — see README.md). Returns a fresh copy.
   * Throws `invalid_argument` on an unknown purpose.
   */
  indexKey(purpose: IndexPurpose): Uint8Array;
  /** 32-byte system key crypto_kdf(current KEK, "relaisys", id per purpose) and the KEK version to store with the data. */
  systemKey(purpose: SystemKeyPurpose): { key: Uint8Array; kekVersion: number };
  /** The system key for data stored under `kekVersion`. Throws `RelaisError('key_missing')` if that KEK is not loaded. */
  systemKeyForVersion(purpose: SystemKeyPurpose, kekVersion: number): Uint8Array;
}

function missingKek(version: number, what: string): RelaisError {
  return new RelaisError(
    'key_missing',
    `${what} uses master key version ${version}, which is not loaded: add that key after the current one in RELAIS_MASTER_KEY / RELAIS_MASTER_KEY_FILE`,
    { retryable: false },
  );
}

class KekKeyRing implements KeyRing {
  readonly currentKekVersion: number;
  readonly kekVersions: readonly number[];
  readonly #keks = new Map<number, Uint8Array>();
  readonly #wrapKeys = new Map<number, Uint8Array>();
  readonly #indexKeys = new Map<IndexPurpose, Uint8Array>();

  constructor(keys: MasterKey[], indexRoot: Uint8Array | undefined) {
    if (!Array.isArray(keys) || keys.length === 0) {
      throw new RelaisError('key_missing', 'The key ring needs at least one master key', { retryable: false });
    }
    for (const [i, k] of keys.entries()) {
      assertKey(k?.key, `master key #${i + 1}`);
      if (!Number.isInteger(k.version) || k.version < 0 || k.version > 0xffffffff) {
        throw new RelaisError('key_invalid', `master key #${i + 1} has an invalid version`, { retryable: false });
      }
      if (this.#keks.has(k.version)) {
        throw new RelaisError('key_invalid', `master key #${i + 1} repeats version ${k.version}`, { retryable: false });
      }
      const kek = k.key.slice();
      this.#keks.set(k.version, kek);
      this.#wrapKeys.set(k.version, kdfDerive(kek, CTX_WRAP, 1));
    }
    this.currentKekVersion = keys[0]!.version;
    this.kekVersions = Object.freeze(keys.map((k) => k.version));
    if (indexRoot !== undefined) assertKey(indexRoot, 'index root key');
    const root = indexRoot ?? this.#keks.get(this.currentKekVersion)!;
    for (const purpose of INDEX_PURPOSES) this.#indexKeys.set(purpose, kdfDerive(root, CTX_INDEX, INDEX_SUBKEY_IDS[purpose]));
  }

  newDataKey(): Uint8Array {
    return randomBytes(KEY_BYTES);
  }

  wrapDataKey(dek: Uint8Array, ctx: { customerId: string; dekVersion: number }): { wrapped: Uint8Array; kekVersion: number } {
    assertKey(dek, 'data key');
    const parts = dekAadParts(ctx);
    return { wrapped: this.#wrap(dek, (v) => [...parts, v]), kekVersion: this.currentKekVersion };
  }

  unwrapDataKey(wrapped: Uint8Array, ctx: { customerId: string; dekVersion: number }): Uint8Array {
    const parts = dekAadParts(ctx);
    return this.#unwrap(wrapped, (v) => [...parts, v], 'This data key');
  }

  indexKey(purpose: IndexPurpose): Uint8Array {
    const key = this.#indexKeys.get(purpose);
    if (!key) throw new RelaisError('invalid_argument', 'unknown blind-index purpose', { retryable: false });
    return key.slice();
  }

  systemKey(purpose: SystemKeyPurpose): { key: Uint8Array; kekVersion: number } {
    return { key: this.systemKeyForVersion(purpose, this.currentKekVersion), kekVersion: this.currentKekVersion };
  }

  systemKeyForVersion(purpose: SystemKeyPurpose, kekVersion: number): Uint8Array {
    const id = Object.hasOwn(SYSTEM_SUBKEY_IDS, purpose) ? SYSTEM_SUBKEY_IDS[purpose] : undefined;
    if (id === undefined) throw new RelaisError('invalid_argument', 'unknown system key purpose', { retryable: false });
    const kek = this.#keks.get(kekVersion);
    if (!kek) throw missingKek(kekVersion, 'This system-key data');
    return kdfDerive(kek, CTX_SYSTEM, id);
  }

  /** Wraps a 32-byte secret under the current KEK; `aad` gets the KEK version. */
  #wrap(secret: Uint8Array, aad: (kekVersion: number) => (string | number)[]): Uint8Array {
    const version = this.currentKekVersion;
    const nonce = randomBytes(AEAD_NONCE_BYTES);
    const ct = aeadSeal(secret, encodeAad(aad(version)), nonce, this.#wrapKeys.get(version)!);
    const out = new Uint8Array(WRAPPED_KEY_BYTES);
    out[0] = WRAP_FORMAT_V1;
    new DataView(out.buffer).setUint32(1, version);
    out.set(nonce, WRAP_HEADER_BYTES);
    out.set(ct, WRAP_HEADER_BYTES + AEAD_NONCE_BYTES);
    return out;
  }

  #unwrap(wrapped: Uint8Array, aad: (kekVersion: number) => (string | number)[], what: string): Uint8Array {
    const version = wrappedKekVersion(wrapped);
    const wrapKey = this.#wrapKeys.get(version);
    if (!wrapKey) throw missingKek(version, what);
    const nonce = wrapped.subarray(WRAP_HEADER_BYTES, WRAP_HEADER_BYTES + AEAD_NONCE_BYTES);
    const key = aeadOpen(wrapped.subarray(WRAP_HEADER_BYTES + AEAD_NONCE_BYTES), encodeAad(aad(version)), nonce, wrapKey);
    if (key === null || key.length !== KEY_BYTES) {
      throw new RelaisError('decrypt_failed', `${what} does not authenticate under its master key (modified, or stored for another customer or version)`, { retryable: false });
    }
    return key;
  }

  /** Wrap/unwrap of the index root for the module functions below; throws `invalid_argument` for foreign rings. */
  static indexRoot(ring: KeyRing, op: 'wrap', secret: Uint8Array): Uint8Array;
  static indexRoot(ring: KeyRing, op: 'unwrap', wrapped: Uint8Array): Uint8Array;
  static indexRoot(ring: KeyRing, op: 'wrap' | 'unwrap', bytes: Uint8Array): Uint8Array {
    if (!(ring instanceof KekKeyRing)) {
      throw new RelaisError('invalid_argument', 'the index root can only be wrapped by a key ring made with createKeyRing', { retryable: false });
    }
    const aad = (v: number) => ['relais.index-root', WRAP_FORMAT_V1, v];
    if (op === 'wrap') {
      assertKey(bytes, 'index root key');
      return ring.#wrap(bytes, aad);
    }
    return ring.#unwrap(bytes, aad, 'The wrapped index root');
  }
}

function dekAadParts(ctx: { customerId: string; dekVersion: number }): (string | number)[] {
  if (ctx === null || typeof ctx !== 'object') throw new RelaisError('invalid_argument', 'data key context is required', { retryable: false });
  assertContextString(ctx.customerId, 'data key customerId');
  assertUint32(ctx.dekVersion, 'data key dekVersion');
  return ['relais.dek', WRAP_FORMAT_V1, ctx.customerId, ctx.dekVersion];
}

/**
 * Builds a key ring from parsed master keys (first = current). When `opts.indexRoot` (32 bytes)
 * is given, blind-index keys derive from it and survive KEK rotation; otherwise they derive from
 * the current KEK. Copies every key it is given. Pure; needs `initSodium()`.
 * Throws `RelaisError('key_missing')` on an empty list, `RelaisError('key_invalid')` on a key of
 * the wrong size or repeated version, or a bad index root.
 */
export function createKeyRing(keys: MasterKey[], opts?: { indexRoot?: Uint8Array }): KeyRing {
  return new KekKeyRing(keys, opts?.indexRoot);
}

/**
 * Wraps the 32-byte blind-index root with the ring's current KEK (AAD = ("relais.index-root",
 * format, kekVersion)); same 77-byte layout as a wrapped DEK. Store the result with its
 * `wrappedKekVersion` and rewrap it after a KEK rotation. Throws `key_invalid` on a bad root size,
 * `invalid_argument` if `ring` was not made by `createKeyRing`.
 */
export function wrapIndexRoot(ring: KeyRing, root: Uint8Array): Uint8Array {
  return KekKeyRing.indexRoot(ring, 'wrap', root);
}

/**
 * Inverse of `wrapIndexRoot`. Throws `RelaisError('key_missing')` if the wrapping KEK is not in
 * the ring, `RelaisError('decrypt_failed')` if the blob is malformed or does not authenticate.
 */
export function unwrapIndexRoot(ring: KeyRing, wrapped: Uint8Array): Uint8Array {
  return KekKeyRing.indexRoot(ring, 'unwrap', wrapped);
}

/**
 * The KEK version recorded in a wrapped key (DEK or index root), without decrypting — to find
 * what still needs rewrapping after a rotation. Throws `RelaisError('decrypt_failed')` when the
 * bytes are not a wrapped key of this format.
 */
export function wrappedKekVersion(wrapped: Uint8Array): number {
  if (!(wrapped instanceof Uint8Array) || wrapped.length !== WRAPPED_KEY_BYTES || wrapped[0] !== WRAP_FORMAT_V1) {
    throw new RelaisError('decrypt_failed', 'Not a wrapped key: wrong length or unknown format byte', { retryable: false });
  }
  return new DataView(wrapped.buffer, wrapped.byteOffset, wrapped.byteLength).getUint32(1);
}
