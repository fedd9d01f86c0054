import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import { watchDecrypt, type DecryptWatch } from '../core/decrypt-failures.js';
import { RelaisError } from '../core/errors.js';
import type { Db } from '../db/client.js';
import { customerKeys, erasures } from '../db/schema/index.js';
import type { KeyRing } from './keyring.js';

/** Options of a `CustomerKeyStore`. */
export interface CustomerKeyStoreOptions {
  /** How long an unwrapped DEK stays cached (default 5 minutes). */
  ttlMs?: number;
  /** Cache size bound (default 10,000 keys). */
  maxEntries?: number;
  /** Where failed unwraps (`key_missing`, `decrypt_failed`, `key_destroyed`) are counted and logged. */
  watch?: DecryptWatch;
}

/**
 * Per-customer data keys (DEKs): created on first contact, stored only wrapped by the master
 * key, unwrapped on demand and cached in memory for a short time.
 *
 * Erasure deletes the rows (crypto-shredding) and must call `forget` on every replica's cache;
 * the cache TTL bounds how long a replica that missed the call can still decrypt. A key whose
 * customer id is on the erasure deny list (`erasures`) is refused even if its row is back.
 * A master-key rotation rewraps the rows but never changes a DEK, so cached keys stay valid.
 */
export class CustomerKeyStore {
  private readonly cache = new Map<string, { dek: Uint8Array; at: number }>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly watch?: DecryptWatch;

  constructor(private readonly ring: KeyRing, opts: CustomerKeyStoreOptions = {}) {
    this.ttlMs = opts.ttlMs ?? 5 * 60_000;
    this.maxEntries = opts.maxEntries ?? 10_000;
    this.watch = opts.watch;
  }

  /** Creates version 1 of a new customer's DEK inside the caller's transaction. Returns the DEK. */
  async create(tx: Db, customerId: string): Promise<{ dek: Uint8Array; version: number }> {
    const version = 1;
    const dek = this.ring.newDataKey();
    const { wrapped, kekVersion } = this.ring.wrapDataKey(dek, { customerId, dekVersion: version });
    await tx.insert(customerKeys).values({ customerId, version, wrapped, kekVersion });
    this.remember(customerId, version, dek);
    return { dek, version };
  }

  /**
   * The DEK of `customerId` at `version` (cached, else read and unwrapped). Throws
   * RelaisError('key_destroyed') when it no longer exists (erased), `key_missing` when its master
   * key is not loaded, `decrypt_failed` when the wrapped key does not authenticate; each is
   * counted and logged through `watch` first.
   */
  async get(db: Db, customerId: string, version: number): Promise<Uint8Array> {
    const hit = this.cache.get(`${customerId}:${version}`);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.dek;
    return watchDecrypt(this.watch, { table: 'customer_keys', customerId, keyVersion: version }, () => this.load(db, customerId, version));
  }

  private async load(db: Db, customerId: string, version: number): Promise<Uint8Array> {
    // The erasure deny list is checked in the same query: a key row restored from a backup taken
    // before the erasure stays unusable.
    const rows = await db.select({
      wrapped: customerKeys.wrapped,
      erased: sql<boolean>`exists (select 1 from ${erasures} where ${erasures.customerId} = ${customerId})`,
    }).from(customerKeys)
      .where(and(eq(customerKeys.customerId, customerId), eq(customerKeys.version, version))).limit(1);
    return this.unwrapRow(customerId, version, rows[0]);
  }

  private unwrapRow(customerId: string, version: number, row: { wrapped: Uint8Array; erased: boolean } | undefined): Uint8Array {
    if (!row) {
      throw new RelaisError('key_destroyed', 'The data key of this customer no longer exists (erased); the data cannot be decrypted', { retryable: false });
    }
    if (row.erased) {
      throw new RelaisError('key_destroyed', 'This customer was erased: a data key that reappeared (restored from a backup) is refused; run the erasure again to delete the restored rows', { retryable: false });
    }
    const dek = this.ring.unwrapDataKey(row.wrapped, { customerId, dekVersion: version });
    this.remember(customerId, version, dek);
    return dek;
  }

  /**
   * `get` for several (customer, version) pairs — a page of search results — with one query for
   * those not cached. Returns the DEKs by `customerId:version`; a pair whose key cannot be had
   * (erased, master key not loaded, not authentic) is absent, its failure counted and logged
   * through `watch` as `get` does. Throws only on database errors.
   */
  async getMany(db: Db, wanted: readonly { customerId: string; version: number }[]): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>();
    const misses = new Map<string, { customerId: string; version: number }>();
    for (const w of wanted) {
      const k = `${w.customerId}:${w.version}`;
      const hit = this.cache.get(k);
      if (hit && Date.now() - hit.at < this.ttlMs) out.set(k, hit.dek);
      else misses.set(k, w);
    }
    if (misses.size === 0) return out;
    const ids = [...new Set([...misses.values()].map((w) => w.customerId))];
    const rows = await db.select({
      customerId: customerKeys.customerId,
      version: customerKeys.version,
      wrapped: customerKeys.wrapped,
      // Written out: drizzle leaves columns unqualified here, which would compare erasures with itself.
      erased: sql<boolean>`exists (select 1 from erasures e where e.customer_id = customer_keys.customer_id)`,
    }).from(customerKeys).where(inArray(customerKeys.customerId, ids));
    const byKey = new Map(rows.map((r) => [`${r.customerId}:${r.version}`, r]));
    for (const [k, w] of misses) {
      try {
        out.set(k, await watchDecrypt(this.watch, { table: 'customer_keys', customerId: w.customerId, keyVersion: w.version },
          async () => this.unwrapRow(w.customerId, w.version, byKey.get(k))));
      } catch (err) {
        if (!(err instanceof RelaisError)) throw err;
      }
    }
    return out;
  }

  /** The newest DEK of a customer. Throws like `get`. */
  async current(db: Db, customerId: string): Promise<{ dek: Uint8Array; version: number }> {
    const rows = await db.select({ version: customerKeys.version }).from(customerKeys)
      .where(eq(customerKeys.customerId, customerId)).orderBy(desc(customerKeys.version)).limit(1);
    if (!rows[0]) {
      return watchDecrypt(this.watch, { table: 'customer_keys', customerId }, () => {
        throw new RelaisError('key_destroyed', 'The data key of this customer no longer exists (erased)', { retryable: false });
      });
    }
    return { dek: await this.get(db, customerId, rows[0].version), version: rows[0].version };
  }

  /** Drops cached keys of a customer (after erasure). */
  forget(customerId: string): void {
    for (const k of this.cache.keys()) if (k.startsWith(customerId + ':')) this.cache.delete(k);
  }

  private remember(customerId: string, version: number, dek: Uint8Array): void {
    if (this.cache.size >= this.maxEntries) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(`${customerId}:${version}`, { dek, at: Date.now() });
  }
}
