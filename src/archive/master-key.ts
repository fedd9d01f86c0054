/**
 * Master keys (key-encryption keys, KEKs): parsing `RELAIS_MASTER_KEY`-style lists and finding
 * the keys at startup (inline value, key file, or a generated development key).
 *
 * A KEK's version is derived from the key itself, so every replica agrees on it without any
 * coordination: the first 4 bytes (big-endian) of keyed BLAKE2b-256(key = KEK, "relais-kek-id"),
 * with the top bit cleared so it fits a PostgreSQL `integer` column; 0 is mapped to 1.
 */
import { chmod, link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RelaisError } from '../core/errors.js';
import { KEY_BYTES, decodeBase64, initSodium, isAllZero, keyedHash, randomBytes, toBase64, toHex } from './sodium.js';

/** One key-encryption key and its derived version (1..2^31-1). */
export interface MasterKey { version: number; key: Uint8Array /* 32 bytes */ }

/** Where `loadMasterKeys` found the keys. */
export type MasterKeySource = 'env' | 'file' | 'generated' | 'dev-file';

const KEK_ID_LABEL = new TextEncoder().encode('relais-kek-id');
const HOW_TO_GENERATE = 'generate one with `openssl rand -base64 32`';

/**
 * The version of a 32-byte KEK, derived as described at the top of this module. Pure.
 * Throws `RelaisError('key_invalid')` on a wrong size, `crypto_not_ready` before `initSodium()`.
 */
export function masterKeyVersion(key: Uint8Array): number {
  if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES) {
    throw new RelaisError('key_invalid', `a master key must be ${KEY_BYTES} bytes`, { retryable: false });
  }
  const id = keyedHash(key, KEK_ID_LABEL, 32);
  const v = new DataView(id.buffer, id.byteOffset, id.byteLength).getUint32(0) & 0x7fffffff;
  return v === 0 ? 1 : v;
}

/** "1st", "2nd", "3rd", "4th", … "11th", "21st". */
function ordinal(n: number): string {
  const tens = n % 100;
  if (tens >= 11 && tens <= 13) return `${n}th`;
  const suffix = ({ 1: 'st', 2: 'nd', 3: 'rd' } as Record<number, string>)[n % 10] ?? 'th';
  return `${n}${suffix}`;
}

/**
 * Parses "base64[,base64…]": the first key is the current (encrypting) key, the others are older
 * keys that stay readable. Whitespace around entries is ignored; standard or URL-safe base64,
 * padded or not. Pure (no I/O); needs `initSodium()`.
 *
 * Throws `RelaisError('key_invalid')` naming the entry (1st, 2nd…) and the reason — empty, not
 * base64, not 32 bytes, all zeros, or the same key/version as an earlier entry — and never
 * echoing any key text.
 */
export function parseMasterKeys(text: string): MasterKey[] {
  if (typeof text !== 'string' || text.trim() === '') {
    throw new RelaisError('key_invalid', `The master key list is empty; ${HOW_TO_GENERATE}`, { retryable: false });
  }
  const entries = text.split(',').map((e) => e.trim());
  const keys: MasterKey[] = [];
  for (const [i, entry] of entries.entries()) {
    const bad = (why: string) => new RelaisError('key_invalid', `The ${ordinal(i + 1)} master key ${why}`, { retryable: false });
    if (entry === '') throw bad(`is empty (keys are separated by commas; ${HOW_TO_GENERATE})`);
    const key = decodeBase64(entry);
    if (key === null) throw bad(`is not valid base64 (${HOW_TO_GENERATE})`);
    if (key.length !== KEY_BYTES) throw bad(`decodes to ${key.length} bytes instead of ${KEY_BYTES} (${HOW_TO_GENERATE})`);
    if (isAllZero(key)) throw bad('is all zeros, which is a placeholder, not a key');
    const version = masterKeyVersion(key);
    const dup = keys.findIndex((k) => k.version === version);
    if (dup >= 0) throw bad(`has the same version as the ${ordinal(dup + 1)} (the same key listed twice?)`);
    keys.push({ version, key });
  }
  return keys;
}

/** Re-throws a `key_invalid` with a prefix saying where the bad list came from. */
function parseFrom(text: string, where: string): MasterKey[] {
  try {
    return parseMasterKeys(text);
  } catch (err) {
    if (err instanceof RelaisError) throw new RelaisError(err.code, `${where}: ${err.message}`, { retryable: false });
    throw err;
  }
}

function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

/**
 * Resolves the master keys. Order: `inline` text (non-blank) wins, else `file` (contents
 * trimmed), else in development `<dataDir>/master.key` — reused if present, otherwise created
 * (directory mode 0700, file mode 0600, created atomically so concurrent starts agree on one
 * key). Returns the keys and where they came from (`path` for file sources).
 * `allowGenerate: false` (administrative commands) reuses a development key but never creates one.
 *
 * I/O: reads the key file; in development may create `dataDir` and `master.key`.
 * Throws `RelaisError('key_missing')` in production when neither `inline` nor `file` is set, or
 * when the key file cannot be read; `RelaisError('key_invalid')` when the text does not parse
 * (the message names the source and the entry, never the key).
 */
export async function loadMasterKeys(opts: { inline?: string; file?: string; dataDir: string; production: boolean; allowGenerate?: boolean }): Promise<{ keys: MasterKey[]; source: MasterKeySource; path?: string }> {
  await initSodium();
  if (opts.inline !== undefined && opts.inline.trim() !== '') {
    return { keys: parseFrom(opts.inline, 'RELAIS_MASTER_KEY'), source: 'env' };
  }
  if (opts.file !== undefined && opts.file.trim() !== '') {
    const path = opts.file;
    const text = await readKeyFile(path, 'RELAIS_MASTER_KEY_FILE');
    return { keys: parseFrom(text, `RELAIS_MASTER_KEY_FILE (${path})`), source: 'file', path };
  }
  if (opts.production) {
    throw new RelaisError(
      'key_missing',
      `No master key: set RELAIS_MASTER_KEY (base64 of 32 random bytes) or RELAIS_MASTER_KEY_FILE (a file holding it); ${HOW_TO_GENERATE}. Production never generates a key`,
      { retryable: false },
    );
  }
  if (opts.allowGenerate === false) {
    const path = join(opts.dataDir, 'master.key');
    const existing = await readExisting(path);
    if (existing === undefined) {
      throw new RelaisError('key_missing', `No master key: RELAIS_MASTER_KEY and RELAIS_MASTER_KEY_FILE are unset and there is no development key at ${path}. Set the same key as the running bridge`, { retryable: false });
    }
    return { keys: parseFrom(existing, `development key file ${path}`), source: 'dev-file', path };
  }
  return loadDevKey(opts.dataDir);
}

async function readKeyFile(path: string, what: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (err) {
    const code = errnoCode(err);
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable by this process' : `cannot be read (${code ?? 'unknown error'})`;
    throw new RelaisError('key_missing', `${what} points to ${path}, which ${why}`, { retryable: false });
  }
}

async function loadDevKey(dataDir: string): Promise<{ keys: MasterKey[]; source: MasterKeySource; path: string }> {
  const path = join(dataDir, 'master.key');
  const existing = await readExisting(path);
  if (existing !== undefined) return { keys: parseFrom(existing, `development key file ${path}`), source: 'dev-file', path };

  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(KEY_BYTES);
  const text = `${toBase64(key)}\n`;
  // Write a private temp file, then hard-link it into place: link() never overwrites, so two
  // processes starting at once end up sharing whichever key landed first.
  const tmp = join(dataDir, `.master.key.${toHex(randomBytes(6))}.tmp`);
  let created: boolean;
  try {
    await writeFile(tmp, text, { mode: 0o600, flag: 'wx' });
    await chmod(tmp, 0o600); // in case the umask removed owner bits
    try {
      await link(tmp, path);
      created = true;
    } catch (err) {
      if (errnoCode(err) === 'EEXIST') created = false;
      else created = await createExclusive(path, text); // file systems without hard links
    }
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  if (!created) {
    const raced = await readKeyFile(path, 'the development key file');
    return { keys: parseFrom(raced, `development key file ${path}`), source: 'dev-file', path };
  }
  return { keys: parseFrom(text, `development key file ${path}`), source: 'generated', path };
}

async function readExisting(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw new RelaisError('key_missing', `The development key file ${path} cannot be read (${errnoCode(err) ?? 'unknown error'})`, { retryable: false });
  }
}

async function createExclusive(path: string, text: string): Promise<boolean> {
  try {
    await writeFile(path, text, { mode: 0o600, flag: 'wx' });
    await chmod(path, 0o600);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') return false;
    throw new RelaisError('key_missing', `Cannot create the development key file ${path} (${errnoCode(err) ?? 'unknown error'})`, { retryable: false });
  }
}
