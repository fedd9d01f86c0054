/**
 * Finding a data subject (a person, by phone number) for access, erasure and legal-hold requests.
 *
 * A person is found through the blind index of their E.164 number (`customers.phone_bidx`,
 * `blindIndex(ring, 'phone', number)`): an index lookup, never a scan of sealed columns. One person
 * has one `customers` row per business number they wrote to. Customers without a phone index (a
 * BSUID-only identity, or one retired by retention) cannot be found by number.
 */
import { and, asc, eq, inArray, notInArray, sql } from 'drizzle-orm';
import { blindIndex } from '../archive/blind-index.js';
import type { CustomerKeyStore } from '../archive/customer-keys.js';
import { openFieldText } from '../archive/envelope.js';
import type { KeyRing } from '../archive/keyring.js';
import type { Db } from '../db/client.js';
import { customers, erasures } from '../db/schema/index.js';

export type CustomerRow = typeof customers.$inferSelect;

/**
 * The blind index of a phone number. Pure. Throws `RelaisError('invalid_phone')` (without echoing
 * the input) for anything that is not an international number with its country code.
 */
export function phoneIndex(ring: KeyRing, phone: string): string {
  return blindIndex(ring, 'phone', phone);
}

/**
 * The customer rows of the person with this phone number, oldest first (one per business number).
 * Rows whose id is on the erasure deny list (restored from a backup after an erasure) are left out
 * unless `includeErased`: they hold nothing readable and belong to nobody any more. Read-only; one
 * indexed query. Throws `RelaisError('invalid_phone')` for a malformed number.
 */
export async function findCustomersByPhone(db: Db, ring: KeyRing, phone: string, opts: { includeErased?: boolean } = {}): Promise<CustomerRow[]> {
  const bidx = phoneIndex(ring, phone);
  const byPhone = eq(customers.phoneBidx, bidx);
  const where = opts.includeErased
    ? byPhone
    : and(byPhone, notInArray(customers.id, db.select({ id: erasures.customerId }).from(erasures)));
  return db.select().from(customers).where(where).orderBy(asc(customers.createdAt), asc(customers.id));
}

/** The ids among `customerIds` that are on the erasure deny list. Read-only. */
export async function erasedIds(db: Db, customerIds: string[]): Promise<Set<string>> {
  if (customerIds.length === 0) return new Set();
  const rows = await db.select({ id: erasures.customerId }).from(erasures).where(inArray(erasures.customerId, customerIds));
  return new Set(rows.map((r) => r.id));
}

/** What Relais knows of a customer's identity, opened with their data key. */
export interface CustomerIdentity {
  waId?: string;
  bsuid?: string;
  profileName?: string;
}

/**
 * Opens the sealed identity columns of a customer row with its data key. Database I/O (the key);
 * throws what `CustomerKeyStore.get` throws (`key_destroyed` after an erasure) and
 * `decrypt_failed` for a tampered value.
 */
export async function openCustomerIdentity(db: Db, keys: CustomerKeyStore, c: CustomerRow): Promise<CustomerIdentity> {
  if (!c.waIdEnc && !c.bsuidEnc && !c.profileNameEnc) return {};
  const dek = await keys.get(db, c.id, c.keyVersion);
  const ctx = { table: 'customers', rowId: c.id, keyVersion: c.keyVersion };
  return {
    ...(c.waIdEnc && { waId: openFieldText(dek, { ...ctx, column: 'wa_id_enc' }, c.waIdEnc) }),
    ...(c.bsuidEnc && { bsuid: openFieldText(dek, { ...ctx, column: 'bsuid_enc' }, c.bsuidEnc) }),
    ...(c.profileNameEnc && { profileName: openFieldText(dek, { ...ctx, column: 'profile_name_enc' }, c.profileNameEnc) }),
  };
}

/** `phone_bidx` values present on the erasure list for this index (resume lookups). Read-only. */
export async function erasuresByPhone(db: Db, bidx: string): Promise<(typeof erasures.$inferSelect)[]> {
  return db.select().from(erasures).where(eq(erasures.phoneBidx, bidx)).orderBy(asc(erasures.requestedAt), sql`${erasures.customerId}`);
}
