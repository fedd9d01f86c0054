import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initSodium } from '../../src/archive/sodium.js';
import { appendAudit } from '../../src/compliance/audit.js';
import { freshDatabase } from '../helpers/database.js';
import { runRelaisCli, withCliArchive } from '../helpers/cli.js';


let dir: string;
let env: Record<string, string>;
let drop: () => Promise<void>;
let databaseUrl: string | undefined;

async function relais(args: string[]) {
  const r = await runRelaisCli(args, env);
  return { code: r.code, out: r.all };
}

/** Works on the same database as the CLI (PGlite: only while no CLI process holds it). */
const withDb = <T>(body: Parameters<typeof withCliArchive<T>>[1]) => withCliArchive(env, body);

beforeAll(async () => {
  await initSodium();
  dir = await mkdtemp(path.join(tmpdir(), 'relais-audit-cli-'));
  const fresh = await freshDatabase();
  drop = fresh.drop;
  databaseUrl = fresh.databaseUrl;
  env = { RELAIS_DATA_DIR: dir, RELAIS_MASTER_KEY: randomBytes(32).toString('base64'), RELAIS_ACTOR: 'dpo', ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) };
});
afterAll(async () => { await rm(dir, { recursive: true, force: true }); await drop(); });

describe('relais audit', () => {
  it('refuses to run on a database that was never migrated', async () => {
    const r = await relais(['audit', 'verify']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/relais migrate/);
  });

  it('verify passes on an intact chain, lists entries, and fails (exit 1) once an entry is edited', async () => {
    expect((await relais(['migrate'])).code).toBe(0);
    await withDb(async (database, ring) => {
      for (let i = 0; i < 3; i++) await appendAudit(database.db, ring, { actor: 'cli:dpo', action: 'export', target: `customer-${i}`, details: { messages: i } });
    });
    const ok = await relais(['audit', 'verify']);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/audit chain intact: 3 entries/);
    const listed = await relais(['audit', 'list', '--json', '--limit', '2']);
    expect(JSON.parse(listed.out).map((e: { target: string }) => e.target)).toEqual(['customer-2', 'customer-1']);

    await withDb(async (database) => {
      await database.db.transaction(async (tx) => {
        await tx.execute(sql`alter table audit_log disable trigger audit_log_append_only`);
        await tx.execute(sql`update audit_log set details = '{"messages":0}' where id = 2`);
        await tx.execute(sql`alter table audit_log enable trigger audit_log_append_only`);
      });
    });
    const broken = await relais(['audit', 'verify', '--json']);
    expect(broken.code).toBe(1);
    expect(JSON.parse(broken.out)).toMatchObject({ ok: false, brokenAt: { id: 2, reason: 'hash_mismatch' } });
  });

  it('a wrong master key is refused with what to do, never a stack of key bytes', async () => {
    const r = await relais(['audit', 'verify']).then(async () => {
      const saved = env.RELAIS_MASTER_KEY!;
      env.RELAIS_MASTER_KEY = randomBytes(32).toString('base64');
      try { return await relais(['audit', 'verify']); } finally { env.RELAIS_MASTER_KEY = saved; }
    });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/master key version \d+, which is not loaded/);
    expect(r.out).not.toContain(env.RELAIS_MASTER_KEY);
  });

  it('usage errors exit 2', async () => {
    expect((await relais(['audit'])).code).toBe(2);
    expect((await relais(['audit', 'list', '--limit', '0'])).code).toBe(2);
  });
});
