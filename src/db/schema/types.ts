import { customType } from 'drizzle-orm/pg-core';

/**
 * `bytea` as Uint8Array on both drivers (postgres.js hands back Buffer, PGlite Uint8Array; both
 * are Uint8Array). Every personal field is stored in a column of this type, sealed.
 */
export const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
  dataType: () => 'bytea',
  toDriver: (v) => (Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength)),
  fromDriver: (v) => (v instanceof Uint8Array ? v : new Uint8Array(v as ArrayBuffer)),
});
