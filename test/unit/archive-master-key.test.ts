import fc from 'fast-check';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RelaisError } from '../../src/core/errors.js';
import { loadMasterKeys, masterKeyVersion, parseMasterKeys } from '../../src/archive/master-key.js';
import { initSodium, randomBytes } from '../../src/archive/sodium.js';

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const ORDINALS = ['1st', '2nd', '3rd', '4th', '5th', '6th'];

function errorOf(fn: () => unknown): RelaisError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RelaisError);
    return err as RelaisError;
  }
  throw new Error('expected a RelaisError');
}

async function rejectionOf(p: Promise<unknown>): Promise<RelaisError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(RelaisError);
    return err as RelaisError;
  }
  throw new Error('expected a RelaisError');
}

let dir: string;
beforeAll(async () => {
  await initSodium();
  dir = await mkdtemp(join(tmpdir(), 'relais-master-key-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('parseMasterKeys', () => {
  it('parses one or more keys, current first, with derived versions', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 5 }), fc.constantFrom(',', ', ', ' ,\n'), (n, sep) => {
      const raw = Array.from({ length: n }, () => randomBytes(32));
      const keys = parseMasterKeys(`  ${raw.map(b64).join(sep)}\n`);
      expect(keys.map((k) => hex(k.key))).toEqual(raw.map(hex));
      for (const k of keys) {
        expect(k.version).toBe(masterKeyVersion(k.key));
        expect(Number.isInteger(k.version) && k.version >= 1 && k.version <= 0x7fffffff).toBe(true);
      }
    }), { numRuns: 200 });
  });

  it('derives the same version everywhere, from the key alone', () => {
    const key = randomBytes(32);
    const [one] = parseMasterKeys(b64(key));
    const [two] = parseMasterKeys(`${b64(key)},${b64(randomBytes(32))}`);
    expect(one!.version).toBe(two!.version);
    // Known answers (computed with Python's hashlib.blake2b): keyed BLAKE2b-256(key, "relais-kek-id"),
    // first 4 bytes big-endian, top bit cleared. Changing the derivation orphans every stored wrapped key.
    expect(masterKeyVersion(new Uint8Array(32).fill(1))).toBe(104513878);
    expect(masterKeyVersion(new Uint8Array(32).fill(2))).toBe(327585916);
  });

  it('accepts URL-safe and unpadded base64', () => {
    const key = randomBytes(32);
    const std = b64(key);
    const url = Buffer.from(key).toString('base64url');
    expect(hex(parseMasterKeys(url)[0]!.key)).toBe(hex(key));
    expect(hex(parseMasterKeys(std.replace(/=+$/, ''))[0]!.key)).toBe(hex(key));
  });

  it('names the bad entry and never echoes any key text', () => {
    const badEntry = fc.oneof(
      fc.uint8Array({ minLength: 9, maxLength: 64 }).filter((b) => b.length !== 32).map((b) => ({ text: b64(b), why: 'bytes instead of 32' })),
      fc.tuple(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.constantFrom('!', '$', '*', ' ', '#')).map(([b, c]) => {
        const s = b64(b);
        return { text: `${s.slice(0, 20)}${c}${s.slice(20)}`, why: 'not valid base64' };
      }),
    );
    fc.assert(fc.property(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), badEntry, (before, after, bad) => {
      const good = Array.from({ length: before + after }, () => b64(randomBytes(32)));
      const entries = [...good.slice(0, before), bad.text, ...good.slice(before)];
      const err = errorOf(() => parseMasterKeys(entries.join(',')));
      expect(err.code).toBe('key_invalid');
      expect(err.retryable).toBe(false);
      expect(err.message).toContain(`${ORDINALS[before]} master key`);
      expect(err.message).toContain(bad.why);
      for (const e of entries) {
        expect(err.message).not.toContain(e.trim());
        expect(err.message).not.toContain(e.trim().slice(0, 12));
      }
    }), { numRuns: 300 });
  });

  it('rejects empty lists, empty entries, all-zero and repeated keys', () => {
    const k = b64(randomBytes(32));
    expect(errorOf(() => parseMasterKeys('')).code).toBe('key_invalid');
    expect(errorOf(() => parseMasterKeys('   \n')).code).toBe('key_invalid');
    expect(errorOf(() => parseMasterKeys(`${k},`)).message).toContain('2nd master key is empty');
    expect(errorOf(() => parseMasterKeys(`,${k}`)).message).toContain('1st master key is empty');
    expect(errorOf(() => parseMasterKeys(b64(new Uint8Array(32)))).message).toContain('all zeros');
    const dup = errorOf(() => parseMasterKeys(`${k},${b64(randomBytes(32))},${k}`));
    expect(dup.code).toBe('key_invalid');
    expect(dup.message).toContain('3rd master key has the same version as the 1st');
    expect(dup.message).not.toContain(k);
  });
});

describe('loadMasterKeys', () => {
  it('prefers the inline value over the file', async () => {
    const inline = b64(randomBytes(32));
    const file = join(dir, 'inline-wins.key');
    await writeFile(file, b64(randomBytes(32)));
    const res = await loadMasterKeys({ inline, file, dataDir: join(dir, 'unused'), production: true });
    expect(res.source).toBe('env');
    expect(b64(res.keys[0]!.key)).toBe(inline);
    expect(res.path).toBeUndefined();
  });

  it('reads a key file, trimmed', async () => {
    const keys = [b64(randomBytes(32)), b64(randomBytes(32))];
    const file = join(dir, 'file.key');
    await writeFile(file, `\n ${keys.join(',')}\n\n`);
    const res = await loadMasterKeys({ inline: '  ', file, dataDir: join(dir, 'unused'), production: true });
    expect(res.source).toBe('file');
    expect(res.path).toBe(file);
    expect(res.keys.map((k) => b64(k.key))).toEqual(keys);
  });

  it('reports a missing key file as key_missing, and a bad one as key_invalid naming the file', async () => {
    const missing = join(dir, 'nope.key');
    const err = await rejectionOf(loadMasterKeys({ file: missing, dataDir: dir, production: false }));
    expect(err.code).toBe('key_missing');
    expect(err.message).toContain(missing);

    const bad = join(dir, 'bad.key');
    const text = 'c2hvcnQta2V5LXRleHQtaGVyZQ==';
    await writeFile(bad, text);
    const invalid = await rejectionOf(loadMasterKeys({ file: bad, dataDir: dir, production: true }));
    expect(invalid.code).toBe('key_invalid');
    expect(invalid.message).toContain(bad);
    expect(invalid.message).toContain('1st master key');
    expect(invalid.message).not.toContain(text);
  });

  it('refuses to start in production without a key', async () => {
    const dataDir = join(dir, 'prod');
    const err = await rejectionOf(loadMasterKeys({ dataDir, production: true }));
    expect(err.code).toBe('key_missing');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('RELAIS_MASTER_KEY');
    expect(err.message).toContain('RELAIS_MASTER_KEY_FILE');
    expect(err.message).toContain('openssl rand -base64 32');
    await expect(stat(dataDir)).rejects.toThrow();
  });

  it('generates a development key (dir 0700, file 0600) and reuses it', async () => {
    const dataDir = join(dir, 'dev', 'data');
    const first = await loadMasterKeys({ dataDir, production: false });
    expect(first.source).toBe('generated');
    expect(first.path).toBe(join(dataDir, 'master.key'));
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    expect((await stat(first.path!)).mode & 0o777).toBe(0o600);
    expect((await readFile(first.path!, 'utf8')).trim()).toBe(b64(first.keys[0]!.key));

    const second = await loadMasterKeys({ dataDir, production: false });
    expect(second.source).toBe('dev-file');
    expect(second.path).toBe(first.path);
    expect(hex(second.keys[0]!.key)).toBe(hex(first.keys[0]!.key));
    expect(second.keys[0]!.version).toBe(first.keys[0]!.version);
  });

  it('agrees on one development key when several processes start at once', async () => {
    const dataDir = join(dir, 'race');
    const results = await Promise.all(Array.from({ length: 8 }, () => loadMasterKeys({ dataDir, production: false })));
    expect(new Set(results.map((r) => hex(r.keys[0]!.key))).size).toBe(1);
    expect(results.filter((r) => r.source === 'generated').length).toBe(1);
  });
});
