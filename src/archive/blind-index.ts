/**
 * Blind indexes: keyed hashes that let the database find a row by an exact value (a wamid, a
 * phone number, a chat post id…) without storing the value. Only equality leaks, which the
 * dedupe UNIQUE constraints need. Never index free text or names (see README.md).
 * Pure computation, no I/O; needs `initSodium()`.
 */
import { RelaisError } from '../core/errors.js';
import { assertContextString } from './envelope.js';
import type { IndexPurpose, KeyRing } from './keyring.js';
import { keyedHash, memzero, toHex } from './sodium.js';

const encoder = new TextEncoder();

/**
 * Keyed BLAKE2b-256 of the normalised value, as 64 lowercase hex characters. Deterministic for a
 * given ring index key and purpose; different purposes give unrelated values; the value cannot be
 * recovered. Normalisation: `'phone'` goes through `normalizePhone`; every other purpose is used
 * exactly (case-sensitive: wamids are base64), only Unicode-NFC-normalised.
 * Throws `RelaisError('invalid_phone')` for a bad phone number and
 * `RelaisError('invalid_argument')` for an empty or malformed value or an unknown purpose.
 */
export function blindIndex(ring: KeyRing, purpose: IndexPurpose, value: string): string {
  assertContextString(value, `the ${String(purpose)} value to index`);
  const normalised = purpose === 'phone' ? normalizePhone(value) : value.normalize('NFC');
  const key = ring.indexKey(purpose);
  const bytes = encoder.encode(normalised);
  try {
    return toHex(keyedHash(key, bytes, 32));
  } finally {
    memzero(key);
    memzero(bytes);
  }
}

/**
 * E.164 normalisation before indexing phone numbers: removes whitespace, dashes, dots and
 * parentheses, then one leading "+" or "00" (and, in an international number, the "(0)" trunk
 * prefix convention, as in "+49 (0)170…"); returns digits only, e.g. "+49 170 123-4567" →
 * "491701234567". Pure. Throws `RelaisError('invalid_phone')` — without echoing the input — if
 * anything but digits remains, if the result is not 6–15 digits, or if it starts with 0 (a
 * national number without country code cannot be E.164).
 */
export function normalizePhone(input: string): string {
  if (typeof input !== 'string') throw invalidPhone('it is not a string');
  let s = input.trim();
  const international = s.startsWith('+') || s.startsWith('00');
  if (international) s = s.replace(/\(\s*0\s*\)/g, '');
  s = s.replace(/[\s\-.()]/g, '');
  if (s.startsWith('+')) s = s.slice(1);
  else if (s.startsWith('00')) s = s.slice(2);
  if (!/^[0-9]*$/.test(s)) throw invalidPhone('it contains characters other than digits, spaces, dashes, dots, parentheses and a leading +');
  if (s.length < 6 || s.length > 15) throw invalidPhone(`it has ${s.length} digits; E.164 numbers have 6 to 15 including the country code`);
  if (s.startsWith('0')) throw invalidPhone('it has no country code (starts with 0 after the international prefix)');
  return s;
}

function invalidPhone(why: string): RelaisError {
  return new RelaisError('invalid_phone', `Not a valid international phone number: ${why}`, { retryable: false });
}
