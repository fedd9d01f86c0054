/**
 * Field encryption with a customer's data key (DEK): every personal column is sealed on its own
 * with XChaCha20-Poly1305 and bound to where it lives (table, column, row id, key version), so a
 * ciphertext copied to another row, column, table or key version fails to open.
 *
 * Sealed field layout (see README.md):
 *   [0] 0x01 format | [1] 0x01 alg (XChaCha20-Poly1305) | [2..5] key version, uint32 BE |
 *   [6..29] random 24-byte nonce | [30..] ciphertext || 16-byte tag
 *
 * Pure computation, no I/O. Every function needs `initSodium()` to have been awaited.
 */
import { RelaisError } from '../core/errors.js';
import { AEAD_NONCE_BYTES, AEAD_TAG_BYTES, aeadOpen, aeadSeal, assertKey, memzero, randomBytes } from './sodium.js';

/** Where a sealed value lives. All three strings must be non-empty; `keyVersion` is the DEK version (uint32). */
export interface FieldContext { table: string; column: string; rowId: string; keyVersion: number }

/** First byte of every sealed field. */
export const FIELD_FORMAT_V1 = 0x01;
/** Algorithm byte: XChaCha20-Poly1305 (IETF) with a random 192-bit nonce. */
export const ALG_XCHACHA20POLY1305 = 0x01;
const HEADER_BYTES = 6;
/** Bytes a sealed field adds to its plaintext (6-byte header + nonce + tag = 46). */
export const FIELD_OVERHEAD = HEADER_BYTES + AEAD_NONCE_BYTES + AEAD_TAG_BYTES;

const encoder = new TextEncoder();
const TAG_STRING = 0x73; // 's'
const TAG_UINT32 = 0x75; // 'u'
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** Throws `RelaisError('invalid_argument')` unless `value` is an integer in 0..2^32-1. */
export function assertUint32(value: unknown, what: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RelaisError('invalid_argument', `${what} must be an integer between 0 and 4294967295`, { retryable: false });
  }
}

/** Throws `RelaisError('invalid_argument')` unless `value` is a non-empty, well-formed (no lone surrogate) string. */
export function assertContextString(value: unknown, what: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0 || LONE_SURROGATE.test(value)) {
    throw new RelaisError('invalid_argument', `${what} must be a non-empty, well-formed string`, { retryable: false });
  }
}

/**
 * Canonical, unambiguous encoding of associated data: uint32 BE count of parts, then for each
 * part a type byte ('s' = UTF-8 string, 'u' = uint32), and for strings a uint32 BE byte length
 * followed by the bytes, for numbers 4 bytes BE. Different part lists always encode differently.
 * Throws `RelaisError('invalid_argument')` on a non-uint32 number or a string with a lone surrogate.
 */
export function encodeAad(parts: ReadonlyArray<string | number>): Uint8Array {
  // Two passes over the parts and one allocation: this runs for every sealed and opened field.
  let total = 4;
  for (const [i, part] of parts.entries()) {
    if (typeof part === 'number') {
      assertUint32(part, `AAD part ${i}`);
      total += 5;
    } else if (typeof part !== 'string' || LONE_SURROGATE.test(part)) {
      throw new RelaisError('invalid_argument', `AAD part ${i} must be a well-formed string or a uint32`, { retryable: false });
    } else {
      total += 5 + Buffer.byteLength(part, 'utf8');
    }
  }
  const aad = Buffer.allocUnsafeSlow(total);
  aad.writeUInt32BE(parts.length, 0);
  let at = 4;
  for (const part of parts) {
    if (typeof part === 'number') {
      aad[at] = TAG_UINT32;
      aad.writeUInt32BE(part, at + 1);
      at += 5;
    } else {
      // Well-formed (checked above), so the UTF-8 length counted is the length written.
      const length = aad.write(part, at + 5, 'utf8');
      aad[at] = TAG_STRING;
      aad.writeUInt32BE(length, at + 1);
      at += 5 + length;
    }
  }
  return new Uint8Array(aad.buffer, aad.byteOffset, total);
}

function checkContext(ctx: FieldContext): void {
  if (ctx === null || typeof ctx !== 'object') {
    throw new RelaisError('invalid_argument', 'field context is required', { retryable: false });
  }
  assertContextString(ctx.table, 'field context table');
  assertContextString(ctx.column, 'field context column');
  assertContextString(ctx.rowId, 'field context rowId');
  assertUint32(ctx.keyVersion, 'field context keyVersion');
}

function fieldAad(ctx: FieldContext): Uint8Array {
  return encodeAad(['relais.field', FIELD_FORMAT_V1, ALG_XCHACHA20POLY1305, ctx.table, ctx.column, ctx.rowId, ctx.keyVersion]);
}

function notAField(): RelaisError {
  return new RelaisError('decrypt_failed', 'Not a sealed field: too short or unknown format/algorithm byte', { retryable: false });
}

/**
 * Seals a personal field with the customer's 32-byte DEK. Strings are UTF-8 encoded (a lone
 * surrogate becomes U+FFFD). Output: 46 bytes + plaintext length. Pure, no I/O; never modifies
 * its inputs. Throws `RelaisError('key_invalid')` on a bad DEK size and
 * `RelaisError('invalid_argument')` on a bad context or plaintext type.
 */
export function sealField(dek: Uint8Array, ctx: FieldContext, plaintext: Uint8Array | string): Uint8Array {
  assertKey(dek, 'data key');
  checkContext(ctx);
  let bytes: Uint8Array;
  let owned = false;
  if (typeof plaintext === 'string') {
    bytes = encoder.encode(plaintext);
    owned = true;
  } else if (plaintext instanceof Uint8Array) {
    bytes = plaintext;
  } else {
    throw new RelaisError('invalid_argument', 'sealField: plaintext must be a string or a Uint8Array', { retryable: false });
  }
  const nonce = randomBytes(AEAD_NONCE_BYTES);
  const ct = aeadSeal(bytes, fieldAad(ctx), nonce, dek);
  if (owned) memzero(bytes);
  const out = new Uint8Array(HEADER_BYTES + AEAD_NONCE_BYTES + ct.length);
  out[0] = FIELD_FORMAT_V1;
  out[1] = ALG_XCHACHA20POLY1305;
  new DataView(out.buffer).setUint32(2, ctx.keyVersion);
  out.set(nonce, HEADER_BYTES);
  out.set(ct, HEADER_BYTES + AEAD_NONCE_BYTES);
  return out;
}

/**
 * Opens a sealed field. Throws `RelaisError('decrypt_failed')` (not retryable) when the bytes
 * are not a sealed field, when the header's key version differs from `ctx.keyVersion`, or when
 * authentication fails (any modified byte, wrong key, or a different table/column/row/version).
 * Also throws `key_invalid` / `invalid_argument` like `sealField`. Pure, no I/O.
 */
export function openField(dek: Uint8Array, ctx: FieldContext, sealed: Uint8Array): Uint8Array {
  assertKey(dek, 'data key');
  checkContext(ctx);
  if (!(sealed instanceof Uint8Array) || sealed.length < FIELD_OVERHEAD || sealed[0] !== FIELD_FORMAT_V1 || sealed[1] !== ALG_XCHACHA20POLY1305) {
    throw notAField();
  }
  const view = new DataView(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  if (view.getUint32(2) !== ctx.keyVersion) {
    throw new RelaisError('decrypt_failed', `Cannot open ${ctx.table}.${ctx.column}: it was sealed with another key version than the one given`, { retryable: false });
  }
  const nonce = sealed.subarray(HEADER_BYTES, HEADER_BYTES + AEAD_NONCE_BYTES);
  const plain = aeadOpen(sealed.subarray(HEADER_BYTES + AEAD_NONCE_BYTES), fieldAad(ctx), nonce, dek);
  if (plain === null) {
    throw new RelaisError('decrypt_failed', `Cannot open ${ctx.table}.${ctx.column}: authentication failed (wrong key, value moved from another row/column, or modified)`, { retryable: false });
  }
  return plain;
}

const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * `openField` then strict UTF-8 decoding. Throws what `openField` throws, and
 * `RelaisError('plaintext_invalid')` if the plaintext is not UTF-8 (it was sealed as bytes).
 */
export function openFieldText(dek: Uint8Array, ctx: FieldContext, sealed: Uint8Array): string {
  const bytes = openField(dek, ctx, sealed);
  try {
    return strictDecoder.decode(bytes);
  } catch {
    throw new RelaisError('plaintext_invalid', `${ctx.table}.${ctx.column} does not hold UTF-8 text`, { retryable: false });
  } finally {
    memzero(bytes);
  }
}

/**
 * Seals `JSON.stringify(value)` like `sealField`. Throws `RelaisError('invalid_argument')` when
 * the value has no JSON form (undefined, a function, a BigInt, a cycle).
 */
export function sealJson(dek: Uint8Array, ctx: FieldContext, value: unknown): Uint8Array {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    json = undefined; // the engine's message may quote parts of the value: do not keep it
  }
  if (json === undefined) {
    throw new RelaisError('invalid_argument', `sealJson: the value for ${String(ctx?.table)}.${String(ctx?.column)} cannot be serialised to JSON`, { retryable: false });
  }
  return sealField(dek, ctx, json);
}

/**
 * Opens a field sealed by `sealJson` and parses it. The result is not validated against `T`:
 * callers that need certainty validate it. Throws what `openFieldText` throws, and
 * `RelaisError('plaintext_invalid')` when the plaintext is not JSON.
 */
export function openJson<T>(dek: Uint8Array, ctx: FieldContext, sealed: Uint8Array): T {
  const text = openFieldText(dek, ctx, sealed);
  try {
    return JSON.parse(text) as T;
  } catch {
    // JSON.parse's message quotes the input: never pass it on.
    throw new RelaisError('plaintext_invalid', `${ctx.table}.${ctx.column} does not hold JSON`, { retryable: false });
  }
}

/**
 * The DEK version recorded in a sealed field's header, without decrypting (for rotation and
 * status). The header is only authenticated when the field is opened. Throws
 * `RelaisError('decrypt_failed')` when the bytes are not a sealed field.
 */
export function sealedKeyVersion(sealed: Uint8Array): number {
  if (!(sealed instanceof Uint8Array) || sealed.length < FIELD_OVERHEAD || sealed[0] !== FIELD_FORMAT_V1 || sealed[1] !== ALG_XCHACHA20POLY1305) {
    throw notAField();
  }
  return new DataView(sealed.buffer, sealed.byteOffset, sealed.byteLength).getUint32(2);
}
