/**
 * Configuration changes in the audit log. At `serve` start the effective configuration is
 * reduced to one keyed hash per setting (secrets included: a hash, never the value) and compared
 * with the fingerprint stored in `settings`; when anything differs, `config.changed` is appended
 * with the names of the settings that changed, and the new fingerprint is stored.
 *
 * Hashes are keyed BLAKE2b-256 under the audit index key (domain-separated), so a database reader
 * cannot test guesses of a short secret (a verify token, a password in DATABASE_URL) against them.
 */
import { eq, sql } from 'drizzle-orm';
import { encodeAad } from '../archive/envelope.js';
import type { KeyRing } from '../archive/keyring.js';
import { keyedHash, memzero, toHex } from '../archive/sodium.js';
import type { RelaisConfig } from '../config/load.js';
import type { Db } from '../db/client.js';
import { settings } from '../db/schema/index.js';
import type { Logger } from '../log.js';
import { appendAudit, canonicalJson } from './audit.js';

const SETTINGS_KEY = 'config_fingerprint';
/** Serialises the compare-and-store of replicas starting together ("relais.cfg"). */
const LOCK_KEY = 0x72_63_66_67;

/** Leaf names whose values are secrets: recorded as "changed", never compared in clear. */
const SECRET_LEAVES = new Set(['appSecret', 'verifyToken', 'accessToken', 'token', 'inline', 'databaseUrl']);

/**
 * The configuration as a flat map of setting name → value, with secrets marked. Business numbers
 * are keyed by their phone_number_id (`whatsapp.numbers.<id>.team`); plugin settings are one
 * secret-like entry per plugin (they may hold credentials). Pure.
 */
export function flattenConfig(config: RelaisConfig): Map<string, { value: unknown; secret: boolean }> {
  const out = new Map<string, { value: unknown; secret: boolean }>();
  const walk = (prefix: string, value: unknown, leaf: string) => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date)) {
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) walk(prefix ? `${prefix}.${k}` : k, v, k);
      return;
    }
    out.set(prefix, { value: value ?? null, secret: SECRET_LEAVES.has(leaf) });
  };
  const { whatsapp, plugins, ...rest } = config;
  const { numbers, ...wa } = whatsapp;
  walk('', rest, '');
  walk('whatsapp', wa, 'whatsapp');
  for (const n of numbers) walk(`whatsapp.numbers.${n.phoneNumberId}`, n, '');
  for (const [name, value] of Object.entries(plugins)) out.set(`plugins.${name}`, { value, secret: true });
  return out;
}

/** Keyed hash of one setting. Pure; needs `initSodium()`. */
function settingHash(ring: KeyRing, name: string, value: unknown): string {
  const key = ring.indexKey('audit');
  try {
    return toHex(keyedHash(key, encodeAad(['relais.config', 1, name, canonicalJson(value)]), 32));
  } finally {
    memzero(key);
  }
}

/** Per-setting keyed hashes (name → hex). Pure. */
export function configFingerprint(ring: KeyRing, config: RelaisConfig): Record<string, string> {
  const fp: Record<string, string> = {};
  for (const [name, { value }] of [...flattenConfig(config)].sort(([a], [b]) => a.localeCompare(b))) fp[name] = settingHash(ring, name, value);
  return fp;
}

/**
 * Compares the configuration with the last recorded fingerprint and, if anything differs (or
 * nothing was recorded yet), appends `config.changed` (actor `system`, details: `settings` and
 * `secrets` that were added, removed or changed, by name; `initial` on the first record) and
 * stores the new fingerprint, in one transaction. Returns the names that changed (empty when
 * none). Safe with several replicas starting at once.
 */
export async function recordConfigChanges(db: Db, ring: KeyRing, config: RelaisConfig, opts: { logger?: Logger } = {}): Promise<string[]> {
  const fp = configFingerprint(ring, config);
  const secret = new Map([...flattenConfig(config)].map(([k, v]) => [k, v.secret]));
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${LOCK_KEY})`);
    const [row] = await tx.select({ value: settings.value }).from(settings).where(eq(settings.key, SETTINGS_KEY)).limit(1);
    const previous = row ? (JSON.parse(Buffer.from(row.value).toString('utf8')) as Record<string, string>) : undefined;
    const names = [...new Set([...Object.keys(fp), ...Object.keys(previous ?? {})])].sort();
    const changed = names.filter((n) => fp[n] !== previous?.[n]);
    if (changed.length === 0) return [];
    // Settings that disappeared are classified like the ones present (a removed token is still a secret).
    const isSecret = (n: string) => secret.get(n) ?? (SECRET_LEAVES.has(n.split('.').pop()!) || n.startsWith('plugins.'));
    await appendAudit(tx, ring, {
      actor: 'system', action: 'config.changed', target: null,
      details: { ...(previous ? {} : { initial: true }), settings: changed.filter((n) => !isSecret(n)), secrets: changed.filter(isSecret) },
    }, { logger: opts.logger });
    const value = Buffer.from(JSON.stringify(fp), 'utf8');
    await tx.insert(settings).values({ key: SETTINGS_KEY, value, updatedAt: new Date() })
      .onConflictDoUpdate({ target: settings.key, set: { value, updatedAt: new Date() } });
    opts.logger?.info({ changed: changed.length, initial: !previous }, 'configuration change recorded in the audit log');
    return changed;
  });
}
