/**
 * Admin API bearer tokens: issued by `relais tokens create`, shown once, stored as SHA-256 only.
 *
 * Why a plain SHA-256 and not a slow password hash: a token is 32 random bytes (256 bits) from
 * the OS CSPRNG. Slow hashes (argon2, bcrypt) exist to make guessing low-entropy passwords
 * expensive; nobody can enumerate 2^256 candidates however fast the hash is, so a stolen
 * `api_tokens` table yields no usable token. A fast hash also lets us look a token up by its
 * hash through the unique index, with no per-request CPU cost.
 *
 * Why no constant-time comparison: the token is never compared with a stored secret. We hash
 * the presented token and look the hash up. Timing can at most reveal how a hash an attacker
 * chose relates to stored hashes, and learning bits of a SHA-256 output does not help find a
 * preimage, so there is nothing for a timing attack to recover.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { and, asc, eq, gt, isNull, or } from 'drizzle-orm';
import type { KeyRing } from '../archive/keyring.js';
import { RelaisError } from '../core/errors.js';
import type { Db } from '../db/client.js';
import { apiTokens } from '../db/schema/index.js';
import { appendAudit } from './audit.js';

/** What a token may do. Independent: a token holds every scope it needs (see docs/admin-api.md). */
export const API_SCOPES = ['read', 'gdpr', 'admin'] as const;
export type ApiScope = (typeof API_SCOPES)[number];

/** Visible prefix, so leaked tokens are recognisable (secret scanners, log reviews). */
export const TOKEN_PREFIX = 'rls_';
const TOKEN_PATTERN = /^rls_[A-Za-z0-9_-]{43}$/;
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** `last_used_at` is written at most this often per token. */
export const LAST_USED_GRANULARITY_MS = 60_000;
/** A use after this much silence (or the first use ever) is recorded as `api.login`. */
export const LOGIN_GAP_MS = 60 * 60_000;

export interface ApiTokenInfo {
  id: string;
  name: string;
  scopes: ApiScope[];
  createdBy: string;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
  state: 'active' | 'expired' | 'revoked';
}

/** SHA-256 hex of the token text: the only form stored. Pure. */
export function hashApiToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Parses `read,gdpr` into scopes; throws RelaisError('usage') on an unknown or empty list. */
export function parseScopes(text: string): ApiScope[] {
  const list = [...new Set(text.split(',').map((s) => s.trim()).filter(Boolean))];
  const bad = list.filter((s) => !(API_SCOPES as readonly string[]).includes(s));
  if (list.length === 0 || bad.length > 0) {
    throw new RelaisError('usage', `--scope must list one or more of ${API_SCOPES.join(', ')} separated by commas${bad.length ? ` (unknown: ${bad.join(', ')})` : ''}`, { retryable: false });
  }
  return API_SCOPES.filter((s) => list.includes(s));
}

function toInfo(row: typeof apiTokens.$inferSelect, now: Date): ApiTokenInfo {
  const state = row.revokedAt ? 'revoked' : row.expiresAt && row.expiresAt.getTime() <= now.getTime() ? 'expired' : 'active';
  return {
    id: row.id, name: row.name, scopes: row.scopes.filter((s): s is ApiScope => (API_SCOPES as readonly string[]).includes(s)),
    createdBy: row.createdBy, createdAt: row.createdAt, expiresAt: row.expiresAt, lastUsedAt: row.lastUsedAt, revokedAt: row.revokedAt, state,
  };
}

/**
 * Issues a token and records `token.create` in the same transaction. Returns the token text:
 * the only time it exists outside the caller's hands. Throws RelaisError('usage') for a bad name,
 * scope list or lifetime, or a name an active token already has (the audit actor is
 * `api:<name>`, so names must tell tokens apart).
 */
export async function createApiToken(db: Db, ring: KeyRing, input: { name: string; scopes: ApiScope[]; expiresInDays?: number; actor: string; now?: Date }): Promise<{ token: string; info: ApiTokenInfo }> {
  if (!NAME_PATTERN.test(input.name)) throw new RelaisError('usage', '--name must be 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit', { retryable: false });
  const scopes = API_SCOPES.filter((s) => input.scopes.includes(s));
  if (scopes.length === 0) throw new RelaisError('usage', 'a token needs at least one scope', { retryable: false });
  const days = input.expiresInDays;
  if (days !== undefined && (!Number.isInteger(days) || days < 1 || days > 3650)) throw new RelaisError('usage', '--expires-days must be an integer from 1 to 3650', { retryable: false });
  const now = input.now ?? new Date();
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  const id = randomUUID();
  const expiresAt = days ? new Date(now.getTime() + days * 86_400_000) : null;
  const row = await db.transaction(async (tx) => {
    const clash = await tx.select({ id: apiTokens.id }).from(apiTokens)
      .where(and(eq(apiTokens.name, input.name), isNull(apiTokens.revokedAt), or(isNull(apiTokens.expiresAt), gt(apiTokens.expiresAt, now)))).limit(1);
    if (clash.length) throw new RelaisError('usage', `an active token is already named "${input.name}"; choose another name or revoke it first`, { retryable: false });
    const [r] = await tx.insert(apiTokens).values({
      id, name: input.name, tokenHash: hashApiToken(token), scopes, createdBy: input.actor, createdAt: now, expiresAt,
    }).returning();
    await appendAudit(tx, ring, { actor: input.actor, action: 'token.create', target: id, details: { name: input.name, scopes, expiresAt: expiresAt?.toISOString() ?? null } });
    return r!;
  });
  return { token, info: toInfo(row, now) };
}

export type TokenCheck =
  | { ok: true; token: ApiTokenInfo }
  | { ok: false; reason: 'missing' | 'malformed' | 'unknown' | 'revoked' | 'expired'; tokenId?: string };

/**
 * Checks a presented token text. Read-only (one indexed lookup, none for malformed text).
 * Never throws for bad input; database errors propagate.
 */
export async function verifyApiToken(db: Db, presented: string | undefined, now = new Date()): Promise<TokenCheck> {
  if (!presented) return { ok: false, reason: 'missing' };
  if (!TOKEN_PATTERN.test(presented)) return { ok: false, reason: 'malformed' };
  const [row] = await db.select().from(apiTokens).where(eq(apiTokens.tokenHash, hashApiToken(presented))).limit(1);
  if (!row) return { ok: false, reason: 'unknown' };
  const info = toInfo(row, now);
  if (info.state !== 'active') return { ok: false, reason: info.state, tokenId: info.id };
  return { ok: true, token: info };
}

/**
 * Records a successful use: `last_used_at` at most once a minute, and `api.login` in the audit
 * log on the first use ever or after an hour of silence (one per token per quiet period, even
 * with concurrent requests or several replicas: decided under a row lock). Returns whether a
 * login was recorded. Cheap no-op when the token was used less than a minute ago.
 */
export async function recordTokenUse(db: Db, ring: KeyRing, token: ApiTokenInfo, opts: { address: string; now?: Date }): Promise<boolean> {
  const now = opts.now ?? new Date();
  if (token.lastUsedAt && now.getTime() - token.lastUsedAt.getTime() < LAST_USED_GRANULARITY_MS) return false;
  return db.transaction(async (tx) => {
    const [row] = await tx.select({ lastUsedAt: apiTokens.lastUsedAt }).from(apiTokens).where(eq(apiTokens.id, token.id)).for('update');
    if (!row) return false;
    const prev = row.lastUsedAt;
    if (prev && now.getTime() - prev.getTime() < LAST_USED_GRANULARITY_MS) return false;
    await tx.update(apiTokens).set({ lastUsedAt: now }).where(eq(apiTokens.id, token.id));
    if (prev && now.getTime() - prev.getTime() < LOGIN_GAP_MS) return false;
    await appendAudit(tx, ring, { actor: `api:${token.name}`, action: 'api.login', target: token.id, details: { scopes: token.scopes, address: opts.address, first: prev === null } });
    return true;
  });
}

/** Every token, oldest first, without hashes. Read-only. */
export async function listApiTokens(db: Db, now = new Date()): Promise<ApiTokenInfo[]> {
  const rows = await db.select().from(apiTokens).orderBy(asc(apiTokens.createdAt), asc(apiTokens.id));
  return rows.map((r) => toInfo(r, now));
}

/**
 * Revokes a token (effective on the next request, on every replica: there is no cache) and
 * records `token.revoke`. Returns false when no token has that id; revoking twice is a no-op
 * that returns true without a second audit entry.
 */
export async function revokeApiToken(db: Db, ring: KeyRing, id: string, opts: { actor: string; now?: Date }): Promise<boolean> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return false;
  const now = opts.now ?? new Date();
  return db.transaction(async (tx) => {
    const [row] = await tx.select().from(apiTokens).where(eq(apiTokens.id, id)).for('update');
    if (!row) return false;
    if (row.revokedAt) return true;
    await tx.update(apiTokens).set({ revokedAt: now }).where(eq(apiTokens.id, id));
    await appendAudit(tx, ring, { actor: opts.actor, action: 'token.revoke', target: id, details: { name: row.name } });
    return true;
  });
}
