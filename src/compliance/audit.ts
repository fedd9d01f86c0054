/**
 * The audit log: who did what, append-only and hash-chained.
 *
 * Each entry's `hash` is keyed BLAKE2b-256 (key: the ring's `audit` index key, derived from the
 * index root, so it survives master-key rotation) over the canonical encoding of
 * (prev_hash, id, at, actor, action, target, details). Editing, deleting or reordering any entry
 * breaks the chain at that entry; without the master key nobody can recompute a valid chain.
 * Truncating the tail is only visible against an outside copy of the head: every append is also
 * logged (action, id, hash — never details), so the log shipper holds one.
 *
 * Appends are serialised by a transaction-scoped advisory lock, so concurrent appenders (several
 * replicas) never fork the chain. Details must never hold personal data: internal ids, keyed
 * hashes and counts only.
 */
import { asc, desc, gt, sql } from 'drizzle-orm';
import { encodeAad } from '../archive/envelope.js';
import type { KeyRing } from '../archive/keyring.js';
import { keyedHash, memzero, toHex } from '../archive/sodium.js';
import type { Db } from '../db/client.js';
import { auditLog } from '../db/schema/index.js';
import type { Logger } from '../log.js';

/** Hash of the (virtual) entry before the first one. */
export const AUDIT_GENESIS = '0'.repeat(64);
/** Advisory-lock key serialising appends ("relais.audit" as a 32-bit constant). */
const AUDIT_LOCK_KEY = 0x72_61_75_64;

/** Stable action names; dashboards and SIEM rules match on them. */
export type AuditAction =
  | 'export' | 'erase' | 'erase.chat' | 'hold.on' | 'hold.off' | 'search' | 'search.reindex'
  | 'keys.rotate.start' | 'keys.rotate.complete'
  | 'retention.run' | 'token.create' | 'token.revoke' | 'api.auth_failed' | 'api.login'
  | 'dead_letter.redrive' | 'config.changed' | 'conversations.list';

export interface AuditInput {
  /** Who: `cli:<os user>`, `api:<token name>`, `chat:<platform user id>`, `system`. */
  actor: string;
  action: AuditAction;
  /** What it applied to: a customer uuid, a keyed hash, a token id… never a phone number. */
  target?: string | null;
  /** Non-personal facts (counts, versions, outcomes). Serialised as canonical JSON. */
  details?: Record<string, unknown>;
}

export interface AuditEntry {
  id: number;
  at: Date;
  actor: string;
  action: string;
  target: string | null;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

/** JSON with object keys sorted at every level, so the hashed text is reproducible. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

/** The chain hash of one entry. Pure; needs `initSodium()`. */
export function auditHash(ring: KeyRing, e: { prevHash: string; id: number; at: Date; actor: string; action: string; target: string | null; details: string }): string {
  const key = ring.indexKey('audit');
  try {
    const msg = encodeAad(['relais.audit', 1, e.prevHash, String(e.id), e.at.toISOString(), e.actor, e.action, e.target ?? '', e.details]);
    return toHex(keyedHash(key, msg, 32));
  } finally {
    memzero(key);
  }
}

/**
 * Appends one entry. Call it inside the transaction that does the audited work when there is
 * one, so the action and its record commit together; otherwise it opens its own transaction.
 * Returns the stored entry.
 */
export async function appendAudit(db: Db, ring: KeyRing, input: AuditInput, opts: { logger?: Logger; now?: Date } = {}): Promise<AuditEntry> {
  const details = canonicalJson(input.details ?? {});
  const entry = await db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${AUDIT_LOCK_KEY})`);
    const [last] = await tx.select({ id: auditLog.id, hash: auditLog.hash }).from(auditLog).orderBy(desc(auditLog.id)).limit(1);
    const prevHash = last?.hash ?? AUDIT_GENESIS;
    const at = new Date(Math.floor((opts.now ?? new Date()).getTime()));
    const row = { id: (last?.id ?? 0) + 1, at, actor: input.actor, action: input.action, target: input.target ?? null, details, prevHash };
    const hash = auditHash(ring, row);
    await tx.insert(auditLog).values({ ...row, hash });
    return { ...row, details: input.details ?? {}, hash };
  });
  opts.logger?.info({ audit: { id: entry.id, action: entry.action, hash: entry.hash } }, 'audit entry appended');
  return entry;
}

export interface AuditVerification {
  ok: boolean;
  entries: number;
  /** Hash of the newest entry (compare with the shipped logs to detect tail truncation). */
  head: string;
  /** First entry that does not verify, and why. */
  brokenAt?: { id: number; reason: 'hash_mismatch' | 'chain_mismatch' | 'gap' };
}

/** Walks the whole chain in id order, in pages. Read-only. */
export async function verifyAuditChain(db: Db, ring: KeyRing, opts: { pageSize?: number } = {}): Promise<AuditVerification> {
  const pageSize = opts.pageSize ?? 5000;
  let prevHash = AUDIT_GENESIS;
  let prevId = 0;
  let entries = 0;
  for (;;) {
    const rows = await db.select().from(auditLog).where(gt(auditLog.id, prevId)).orderBy(asc(auditLog.id)).limit(pageSize);
    for (const r of rows) {
      // Ids are consecutive (assigned under the append lock): a missing id is a deleted entry.
      if (entries > 0 && r.id !== prevId + 1) return { ok: false, entries, head: prevHash, brokenAt: { id: r.id, reason: 'gap' } };
      if (r.prevHash !== prevHash) return { ok: false, entries, head: prevHash, brokenAt: { id: r.id, reason: 'chain_mismatch' } };
      const expect = auditHash(ring, { prevHash: r.prevHash, id: r.id, at: r.at, actor: r.actor, action: r.action, target: r.target, details: r.details });
      if (expect !== r.hash) return { ok: false, entries, head: prevHash, brokenAt: { id: r.id, reason: 'hash_mismatch' } };
      prevHash = r.hash;
      prevId = r.id;
      entries++;
    }
    if (rows.length < pageSize) break;
  }
  return { ok: true, entries, head: prevHash };
}

/** Newest entries first, for `relais audit list` and the admin API. */
export async function listAudit(db: Db, opts: { limit?: number; beforeId?: number } = {}): Promise<AuditEntry[]> {
  const limit = Math.min(Math.max(opts.limit ?? 100, 1), 1000);
  const q = db.select().from(auditLog);
  const rows = await (opts.beforeId ? q.where(sql`${auditLog.id} < ${opts.beforeId}`) : q).orderBy(desc(auditLog.id)).limit(limit);
  return rows.map((r) => ({ ...r, details: JSON.parse(r.details) as Record<string, unknown> }));
}
