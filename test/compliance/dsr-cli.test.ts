/**
 * `relais export`, `relais hold` and `relais erase` as an operator runs them: the real CLI in its own
 * process (tsx), against a migrated database seeded with a person's messages.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { strFromU8, unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustomerKeyStore } from '../../src/archive/customer-keys.js';
import { loadKeyRing } from '../../src/archive/load-key-ring.js';
import { initSodium } from '../../src/archive/sodium.js';
import { listAudit } from '../../src/compliance/audit.js';
import { openDatabase, type Database } from '../../src/db/client.js';
import { freshDatabase } from '../helpers/database.js';
import { captureLogger } from '../helpers/logger.js';
import { keyList, newMasterKey } from './keys-seed.js';
import { seedMessage, type RetentionArchive } from './retention-seed.js';
import { runRelaisCli } from '../helpers/cli.js';

const NUMBER = '+33 6 12 12 12 12';

let dir: string;
let databaseUrl: string | undefined;
let drop: () => Promise<void>;
let masterKey: string;

async function relais(args: string[]) {
  return runRelaisCli(args, { RELAIS_DATA_DIR: dir, RELAIS_MASTER_KEY: masterKey, RELAIS_ACTOR: 'dpo', ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) }, { cwd: dir });
}

async function withDb<T>(fn: (db: Database) => Promise<T>): Promise<T> {
  const db = await openDatabase({ databaseUrl, dataDir: dir });
  try { return await fn(db); } finally { await db.close(); }
}

beforeAll(async () => {
  await initSodium();
  dir = await mkdtemp(path.join(tmpdir(), 'relais-dsr-cli-'));
  const fresh = await freshDatabase();
  databaseUrl = fresh.databaseUrl;
  drop = fresh.drop;
  const k = newMasterKey();
  masterKey = keyList(k);
  const migrated = await relais(['migrate']);
  expect(migrated.code, migrated.err).toBe(0);
  await withDb(async (database) => {
    const ring = await loadKeyRing(database, [k]);
    const a = { database, ring, keys: new CustomerKeyStore(ring), logs: captureLogger() } as unknown as RetentionArchive;
    await seedMessage(a, { waId: '33612121212', name: 'Zoé', at: new Date(Date.now() - 60_000), text: 'première question' });
    await seedMessage(a, { waId: '33612121212', at: new Date(), text: 'seconde question' });
  });
});
afterAll(async () => { await drop(); await rm(dir, { recursive: true, force: true }); });

describe('relais export | hold | erase', () => {
  it('exports to a 0600 ZIP named after the keyed hash, without printing the number', async () => {
    const r = await relais(['export', '--customer', NUMBER]);
    expect(r.code, r.err).toBe(0);
    const file = /^Wrote (relais-export-[0-9a-f]{8}-\d{4}-\d\d-\d\d\.zip): 1 conversation\(s\), 2 message\(s\), 0 media file\(s\)/.exec(r.out)?.[1];
    expect(file, r.out).toBeDefined();
    expect(r.out + r.err).not.toMatch(/12\s?12\s?12/);
    expect((await stat(path.join(dir, file!))).mode & 0o777).toBe(0o600);
    const zip = unzipSync(new Uint8Array(await readFile(path.join(dir, file!))));
    const doc = JSON.parse(strFromU8(zip['export.json']!)) as { customers: { messages: { text?: string }[] }[] };
    expect(doc.customers[0]!.messages.map((m) => m.text)).toEqual(['première question', 'seconde question']);

    const again = await relais(['export', '--customer', NUMBER, '--out', file!]);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/already exists/);
    const unknown = await relais(['export', '--customer', '+1 202 555 0100']);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/holds no data/);
    expect(unknown.err).not.toContain('2025550100');
  });

  it('holds, refuses to erase while held, lifts, then erases with --yes (and never without a confirmation)', async () => {
    const held = await relais(['hold', '--customer', NUMBER, 'on', '--reason', 'case 2026-17']);
    expect(held.code, held.err).toBe(0);
    expect(held.out).toMatch(/Legal hold set on 1 conversation/);
    const refused = await relais(['erase', '--customer', NUMBER, '--yes']);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/legal hold.*relais hold --customer <number> off/);
    expect((await relais(['hold', '--customer', NUMBER, 'off'])).code).toBe(0);

    const unconfirmed = await relais(['erase', '--customer', NUMBER]);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.err).toMatch(/--yes/);

    const erased = await relais(['erase', '--customer', NUMBER, '--yes']);
    expect(erased.code, erased.err).toBe(0);
    expect(erased.out).toMatch(/Erased 1 conversation\(s\), 2 message\(s\)\. Chat: deleted\./);
    expect((await relais(['export', '--customer', NUMBER, '--out', 'after.zip'])).code).toBe(1);
    await expect(stat(path.join(dir, 'after.zip'))).rejects.toMatchObject({ code: 'ENOENT' }); // no empty file left
    expect(await relais(['erase', '--reapply'])).toMatchObject({ code: 0 });

    const actions = await withDb(async (db) => (await listAudit(db.db, { limit: 50 })).map((e) => `${e.actor} ${e.action}`).reverse());
    expect(actions).toEqual(['cli:dpo export', 'cli:dpo hold.on', 'cli:dpo hold.off', 'cli:dpo erase', 'cli:dpo erase.chat']);
  });

  it('explains its usage', async () => {
    for (const args of [['export'], ['hold', '--customer', NUMBER, 'maybe'], ['hold', '--customer', NUMBER, 'off', '--reason', 'x'], ['erase'], ['erase', '--customer', NUMBER, '--reapply']]) {
      const r = await relais(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toMatch(/relais (export|hold|erase) /);
    }
    expect((await relais(['hold', '--customer', 'not a number', 'on'])).err).toMatch(/Not a valid international phone number/);
  });
});
