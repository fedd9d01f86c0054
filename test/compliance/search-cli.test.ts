import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustomerKeyStore } from '../../src/archive/customer-keys.js';
import { initSodium } from '../../src/archive/sodium.js';
import { listAudit } from '../../src/compliance/audit.js';
import { persistWebhook } from '../../src/core/inbox.js';
import { freshDatabase } from '../helpers/database.js';
import { runRelaisCli, withCliArchive } from '../helpers/cli.js';


let dir: string;
let env: Record<string, string>;
let drop: () => Promise<void>;
let databaseUrl: string | undefined;

async function relais(args: string[]) {
  return runRelaisCli(args, env);
}

/** Works on the same database as the CLI (PGlite: only while no CLI process holds it). */
const withDb = <T>(body: Parameters<typeof withCliArchive<T>>[1]) => withCliArchive(env, body);

beforeAll(async () => {
  await initSodium();
  dir = await mkdtemp(path.join(tmpdir(), 'relais-search-cli-'));
  const fresh = await freshDatabase();
  drop = fresh.drop;
  databaseUrl = fresh.databaseUrl;
  env = {
    RELAIS_DATA_DIR: dir, RELAIS_MASTER_KEY: randomBytes(32).toString('base64'), RELAIS_ACTOR: 'dpo',
    MATTERMOST_URL: 'https://chat.example.com', MATTERMOST_TOKEN: 't', MATTERMOST_TEAM: 'support', WHATSAPP_PHONE_NUMBER_ID: '106540352242922',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  };
  expect((await relais(['migrate'])).code).toBe(0);
  await withDb(async (database, ring) => {
    const keys = new CustomerKeyStore(ring);
    const texts = ['Commande Nº 12345 — déjà livrée', 'Toujours rien pour la commande 12345', 'Merci !'];
    for (const [i, text] of texts.entries()) {
      await database.db.transaction((tx) => persistWebhook(tx, { ring, keys, enqueueRelays: async () => {}, isKnownNumber: () => true }, {
        messages: [{ phoneNumberId: '106540352242922', wamid: `wamid.cli.${i}`, customer: { waId: i < 2 ? '33612345678' : '33699999999' }, timestamp: 1_700_000_000 + i, content: { kind: 'text', text }, markers: {} }],
        statuses: [], errors: [], otherFields: [], phoneNumberIds: ['106540352242922'],
      }));
    }
    await database.db.execute(sql`update customers set chat_channel_id = 'ch4nnel'`);
  });
});
afterAll(async () => { await rm(dir, { recursive: true, force: true }); await drop(); });

describe('relais search', () => {
  it('prints matches newest first with a link, or JSON, and audits as the CLI user', async () => {
    const text = await relais(['search', 'COMMANDE', '12345']);
    expect(text.code).toBe(0);
    const lines = text.out.trim().split('\n');
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT.* {2}customer {2}[0-9a-f-]{36} {2}Toujours rien pour la commande 12345$/);
    expect(lines[1]).toMatch(/^ {2}https:\/\/chat\.example\.com\/support\/channels\/wa-[a-z0-9]+$/);
    expect(lines[2]).toMatch(/Commande Nº 12345 — déjà livrée$/);
    expect(text.err).toMatch(/2 message\(s\)/);
    const json = await relais(['search', 'deja livree', '--json']);
    expect(JSON.parse(json.out)).toEqual([expect.objectContaining({ direction: 'inbound', text: 'Commande Nº 12345 — déjà livrée' })]);
    const byPhone = await relais(['search', 'commande', '--customer', '+33 6 99 99 99 99', '--json']);
    expect(JSON.parse(byPhone.out)).toEqual([]);
    const audit = await withDb((database) => listAudit(database.db, { limit: 3 }));
    expect(audit.map((e) => [e.actor, e.action])).toEqual([['cli:dpo', 'search'], ['cli:dpo', 'search'], ['cli:dpo', 'search']]);
  });

  it('reindex rebuilds the index of existing messages and says when there is nothing to do', async () => {
    await withDb(async (database) => { await database.db.execute(sql`delete from message_tokens`); });
    expect(JSON.parse((await relais(['search', 'commande', '--json'])).out)).toEqual([]);
    const r = await relais(['search', 'reindex', '--batch', '2']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/search index built: 3 rows, \d+ postings, 0 rows skipped/);
    expect(JSON.parse((await relais(['search', 'commande', '--json'])).out)).toHaveLength(2);
    expect((await relais(['search', 'reindex'])).out).toMatch(/already built/);
    expect(JSON.parse((await relais(['search', 'reindex', '--status'])).out)).toMatchObject({ done: true, rows: 3 });
  });

  it('usage errors exit 2 and say why', async () => {
    expect((await relais(['search'])).code).toBe(2);
    const short = await relais(['search', 'a', '!']);
    expect(short.code).toBe(2);
    expect(short.err).toMatch(/at least 2 letters or digits/);
    expect((await relais(['search', 'commande', '--limit', '0'])).code).toBe(2);
  });
});
