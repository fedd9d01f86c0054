import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyRing } from '../../src/archive/keyring.js';
import { randomBytes } from '../../src/archive/sodium.js';
import { appendAudit, canonicalJson, listAudit, verifyAuditChain } from '../../src/compliance/audit.js';
import { openDatabase, type Database } from '../../src/db/client.js';
import { runMigrations } from '../../src/db/migrate.js';
import { openTestArchive } from '../helpers/database.js';

let database: Database;
let drop: () => Promise<void>; // closes and drops the database
let ring: ReturnType<typeof createKeyRing>;

beforeAll(async () => {
  const archive = await openTestArchive();
  ({ database, ring } = archive);
  drop = archive.close;
});
afterAll(async () => { await drop(); });

/** Edits the table the way an attacker with database access would: with the trigger disabled. */
async function tamper(statement: ReturnType<typeof sql>): Promise<void> {
  await database.db.transaction(async (tx) => {
    await tx.execute(sql`alter table audit_log disable trigger audit_log_append_only`);
    await tx.execute(statement);
    await tx.execute(sql`alter table audit_log enable trigger audit_log_append_only`);
  });
}

describe('audit log', () => {
  it('canonical JSON sorts keys at every level', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":1}');
  });

  it('chains concurrent appends without forks, and verifies', async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => appendAudit(database.db, ring, { actor: 'cli:test', action: 'search', details: { i, results: i * 2 } })));
    const v = await verifyAuditChain(database.db, ring, { pageSize: 7 });
    expect(v).toMatchObject({ ok: true, entries: 20 });
    const listed = await listAudit(database.db, { limit: 5 });
    expect(listed.map((e) => e.id)).toEqual([20, 19, 18, 17, 16]);
    expect(listed[0]!.hash).toBe(v.head);
  });

  it('refuses UPDATE, DELETE and TRUNCATE', async () => {
    await expect(database.db.execute(sql`update audit_log set actor = 'x' where id = 1`)).rejects.toMatchObject({ cause: { message: expect.stringMatching(/append-only/) } });
    await expect(database.db.execute(sql`delete from audit_log where id = 1`)).rejects.toMatchObject({ cause: { message: expect.stringMatching(/append-only/) } });
    await expect(database.db.execute(sql`truncate audit_log`)).rejects.toMatchObject({ cause: { message: expect.stringMatching(/append-only/) } });
  });

  it('a rolled-back append leaves no trace and no gap', async () => {
    await expect(database.db.transaction(async (tx) => {
      await appendAudit(tx, ring, { actor: 'cli:test', action: 'export', target: 'x' });
      throw new Error('rollback');
    })).rejects.toThrow('rollback');
    await appendAudit(database.db, ring, { actor: 'cli:test', action: 'export', target: 'y' });
    expect(await verifyAuditChain(database.db, ring)).toMatchObject({ ok: true, entries: 21 });
  });

  it('detects an edited entry', async () => {
    const original = (await listAudit(database.db, { beforeId: 5, limit: 1 }))[0]!;
    await tamper(sql`update audit_log set details = '{"i":3,"results":0}' where id = 4`);
    expect(await verifyAuditChain(database.db, ring)).toMatchObject({ ok: false, brokenAt: { id: 4, reason: 'hash_mismatch' } });
    await tamper(sql`update audit_log set details = ${canonicalJson(original.details)} where id = 4`);
    expect((await verifyAuditChain(database.db, ring)).ok).toBe(true);
  });

  it('detects a deleted entry, even with the ids renumbered', async () => {
    await tamper(sql`delete from audit_log where id = 10`);
    expect(await verifyAuditChain(database.db, ring)).toMatchObject({ ok: false, brokenAt: { id: 11, reason: 'gap' } });
    await tamper(sql`update audit_log set id = id - 1 where id > 10`);
    expect(await verifyAuditChain(database.db, ring)).toMatchObject({ ok: false, brokenAt: { id: 10, reason: 'chain_mismatch' } });
  });

  it('a chain recomputed without the key does not verify', async () => {
    const other = createKeyRing([{ version: 1, key: randomBytes(32) }], { indexRoot: randomBytes(32) });
    const fresh = await openDatabase({ dataDir: '', inMemory: true });
    await runMigrations(fresh);
    await appendAudit(fresh.db, other, { actor: 'attacker', action: 'erase' });
    expect(await verifyAuditChain(fresh.db, ring)).toMatchObject({ ok: false, brokenAt: { id: 1, reason: 'hash_mismatch' } });
    await fresh.close();
  });
});
