import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyRing } from '../../src/archive/keyring.js';
import { randomBytes } from '../../src/archive/sodium.js';
import {
  createApiToken, hashApiToken, listApiTokens, parseScopes, recordTokenUse, revokeApiToken, verifyApiToken,
} from '../../src/compliance/api-tokens.js';
import { listAudit, verifyAuditChain } from '../../src/compliance/audit.js';
import { openDatabase, type Database } from '../../src/db/client.js';
import { runMigrations } from '../../src/db/migrate.js';
import { freshDatabase, openTestArchive } from '../helpers/database.js';

let database: Database;
let drop: () => Promise<void>; // closes and drops the database
let ring: ReturnType<typeof createKeyRing>;

beforeAll(async () => {
  const archive = await openTestArchive();
  ({ database, ring } = archive);
  drop = archive.close;
});
afterAll(async () => { await drop(); });

async function rows(q: string): Promise<Record<string, unknown>[]> {
  const r = await database.db.execute(sql.raw(q));
  return (Array.isArray(r) ? r : (r as { rows: unknown[] }).rows) as Record<string, unknown>[];
}

describe('admin API tokens', () => {
  it('stores only the SHA-256 of a 256-bit token, and audits the creation', async () => {
    const { token, info } = await createApiToken(database.db, ring, { name: 'dpo', scopes: ['gdpr', 'read'], actor: 'cli:alice' });
    expect(token).toMatch(/^rls_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(token.slice(4), 'base64url')).toHaveLength(32);
    expect(info).toMatchObject({ name: 'dpo', scopes: ['read', 'gdpr'], state: 'active', createdBy: 'cli:alice', expiresAt: null });
    const dump = JSON.stringify(await rows('select * from api_tokens'));
    expect(dump).not.toContain(token);
    expect(dump).not.toContain(token.slice(4));
    expect(dump).toContain(hashApiToken(token));
    const [entry] = await listAudit(database.db, { limit: 1 });
    expect(entry).toMatchObject({ actor: 'cli:alice', action: 'token.create', target: info.id, details: { name: 'dpo', scopes: ['read', 'gdpr'] } });
    expect(JSON.stringify(entry)).not.toContain(token);
    expect(await verifyApiToken(database.db, token)).toMatchObject({ ok: true, token: { id: info.id } });
  });

  it('tells missing, malformed, unknown, revoked and expired tokens apart', async () => {
    expect(await verifyApiToken(database.db, undefined)).toEqual({ ok: false, reason: 'missing' });
    expect(await verifyApiToken(database.db, 'rls_short')).toEqual({ ok: false, reason: 'malformed' });
    expect(await verifyApiToken(database.db, `rls_${Buffer.from(randomBytes(32)).toString('base64url')}`)).toEqual({ ok: false, reason: 'unknown' });
    const t0 = new Date('2030-01-01T00:00:00Z');
    const soon = await createApiToken(database.db, ring, { name: 'short-lived', scopes: ['read'], expiresInDays: 1, actor: 'cli:alice', now: t0 });
    expect(await verifyApiToken(database.db, soon.token, new Date(t0.getTime() + 86_399_000))).toMatchObject({ ok: true });
    expect(await verifyApiToken(database.db, soon.token, new Date(t0.getTime() + 86_400_000))).toEqual({ ok: false, reason: 'expired', tokenId: soon.info.id });
    const gone = await createApiToken(database.db, ring, { name: 'gone', scopes: ['admin'], actor: 'cli:alice' });
    expect(await revokeApiToken(database.db, ring, gone.info.id, { actor: 'cli:bob' })).toBe(true);
    expect(await revokeApiToken(database.db, ring, gone.info.id, { actor: 'cli:bob' })).toBe(true);
    expect(await verifyApiToken(database.db, gone.token)).toEqual({ ok: false, reason: 'revoked', tokenId: gone.info.id });
    const revokes = (await listAudit(database.db, { limit: 100 })).filter((e) => e.action === 'token.revoke');
    expect(revokes).toHaveLength(1);
    expect(revokes[0]).toMatchObject({ actor: 'cli:bob', target: gone.info.id });
    expect(await revokeApiToken(database.db, ring, '00000000-0000-4000-8000-000000000000', { actor: 'cli:bob' })).toBe(false);
    expect(await revokeApiToken(database.db, ring, 'not-a-uuid', { actor: 'cli:bob' })).toBe(false);
  });

  it('refuses bad names, scopes, lifetimes and a name an active token holds', async () => {
    await expect(createApiToken(database.db, ring, { name: 'with space', scopes: ['read'], actor: 'x' })).rejects.toMatchObject({ code: 'usage' });
    await expect(createApiToken(database.db, ring, { name: 'ok', scopes: ['read'], expiresInDays: 0, actor: 'x' })).rejects.toMatchObject({ code: 'usage' });
    await expect(createApiToken(database.db, ring, { name: 'dpo', scopes: ['read'], actor: 'x' })).rejects.toMatchObject({ code: 'usage', message: expect.stringMatching(/already named "dpo"/) });
    expect(() => parseScopes('read,root')).toThrow(/unknown: root/);
    expect(() => parseScopes('')).toThrow(/one or more/);
    expect(parseScopes('admin, read,admin')).toEqual(['read', 'admin']);
    // A revoked token's name is free again.
    expect((await createApiToken(database.db, ring, { name: 'gone', scopes: ['read'], actor: 'x' })).info.state).toBe('active');
  });

  it('writes last_used_at at most once a minute and audits api.login on first use and after an hour of silence', async () => {
    const { info } = await createApiToken(database.db, ring, { name: 'ops', scopes: ['admin'], actor: 'cli:alice' });
    const logins = async () => (await listAudit(database.db, { limit: 1000 })).filter((e) => e.action === 'api.login' && e.target === info.id);
    const t0 = new Date('2030-02-01T10:00:00Z');
    const at = (ms: number) => new Date(t0.getTime() + ms);
    const current = async () => (await listApiTokens(database.db)).find((t) => t.id === info.id)!;
    // Concurrent first requests: one login.
    const first = await Promise.all([1, 2, 3].map(() => recordTokenUse(database.db, ring, info, { address: '10.0.0.1', now: t0 })));
    expect(first.filter(Boolean)).toHaveLength(1);
    expect((await current()).lastUsedAt).toEqual(t0);
    expect(await recordTokenUse(database.db, ring, await current(), { address: '10.0.0.1', now: at(30_000) })).toBe(false);
    expect((await current()).lastUsedAt).toEqual(t0);
    expect(await recordTokenUse(database.db, ring, await current(), { address: '10.0.0.1', now: at(61_000) })).toBe(false);
    expect((await current()).lastUsedAt).toEqual(at(61_000));
    expect(await recordTokenUse(database.db, ring, await current(), { address: '10.0.0.2', now: at(61_000 + 3_600_000) })).toBe(true);
    const l = await logins();
    expect(l).toHaveLength(2);
    expect(l.map((e) => e.details)).toEqual([{ scopes: ['admin'], address: '10.0.0.2', first: false }, { scopes: ['admin'], address: '10.0.0.1', first: true }]);
    expect(l[0]!.actor).toBe('api:ops');
    expect((await verifyAuditChain(database.db, ring)).ok).toBe(true);
  });
});

const run = promisify(execFile);
const CLI = path.resolve(import.meta.dirname, '../../src/cli/main.ts');
const TSX = path.resolve(import.meta.dirname, '../../node_modules/.bin/tsx');

describe('relais tokens (CLI)', () => {
  let dir: string;
  let fresh: Awaited<ReturnType<typeof freshDatabase>>;
  let env: Record<string, string>;
  let token = '';
  let id = '';
  const relais = async (args: string[]) => {
    try {
      const r = await run(TSX, [CLI, ...args], { env });
      return { code: 0, out: r.stdout, err: r.stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, out: e.stdout, err: e.stderr };
    }
  };
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'relais-tokens-'));
    fresh = await freshDatabase();
    env = {
      PATH: process.env.PATH!, HOME: process.env.HOME!, RELAIS_DATA_DIR: dir, RELAIS_MASTER_KEY: Buffer.from(randomBytes(32)).toString('base64'), RELAIS_ACTOR: 'carol',
      ...(fresh.databaseUrl ? { DATABASE_URL: fresh.databaseUrl } : {}),
    };
    // Migrated in-process (what `relais migrate` does), then closed so the CLI can open it.
    const db = await openDatabase({ databaseUrl: fresh.databaseUrl, dataDir: dir });
    await runMigrations(db);
    await db.close();
  });
  afterAll(async () => {
    await fresh.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates a token (printed once, on stdout) and lists it without the token', async () => {
    const created = await relais(['tokens', 'create', '--name', 'siem', '--scope', 'admin,read', '--expires-days', '30']);
    expect(created.code, created.err).toBe(0);
    token = created.out.trim();
    expect(token).toMatch(/^rls_[A-Za-z0-9_-]{43}$/);
    expect(created.err).toMatch(/only time it is shown/);
    const listed = await relais(['tokens', 'list', '--json']);
    expect(listed.code, listed.err).toBe(0);
    const [t] = JSON.parse(listed.out) as { id: string; name: string; scopes: string[]; state: string; createdBy: string }[];
    expect(t).toMatchObject({ name: 'siem', scopes: ['read', 'admin'], state: 'active', createdBy: 'cli:carol' });
    expect(listed.out + listed.err).not.toContain(token);
    id = t!.id;
    expect((await relais(['tokens', 'list'])).out).toMatch(new RegExp(`${id}\\tsiem\\tread,admin\\tactive`));
    const bad = await relais(['tokens', 'create', '--name', 'x', '--scope', 'root']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/unknown: root/);
  });

  it('revokes it, refuses an unknown id, and the audit log and database hold no token', async () => {
    expect(id).not.toBe('');
    const revoked = await relais(['tokens', 'revoke', id]);
    expect(revoked.code, revoked.err).toBe(0);
    expect((await relais(['tokens', 'revoke', '00000000-0000-4000-8000-000000000000'])).code).toBe(1);
    const audit = JSON.parse((await relais(['audit', 'list', '--json'])).out) as { action: string; actor: string }[];
    expect(audit.map((e) => [e.action, e.actor])).toEqual([['token.revoke', 'cli:carol'], ['token.create', 'cli:carol']]);
    // Read the database directly once the CLI processes are gone.
    const db = await openDatabase({ databaseUrl: fresh.databaseUrl, dataDir: dir });
    try {
      const r = await db.db.execute(sql`select * from api_tokens`);
      const dump = JSON.stringify(Array.isArray(r) ? r : (r as { rows: unknown[] }).rows);
      expect(dump).toContain(hashApiToken(token));
      expect(dump).not.toContain(token.slice(4));
      expect(dump).toContain('"revoked_at":"2');
    } finally { await db.close(); }
  });
});
