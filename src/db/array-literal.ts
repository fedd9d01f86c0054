/**
 * PostgreSQL array literals, passed as ONE text parameter and cast in SQL (`$1::uuid[]`), so a
 * multi-row statement has the same text and the same parameters whatever the row count: the
 * driver prepares it once per connection and sends a handful of parameters instead of one per
 * cell. Used on the hot insert paths with `unnest(...)`. Works the same on PostgreSQL and PGlite.
 *
 * Every element is double-quoted with `\` and `"` escaped, so any text (including text that came
 * from a webhook) is data, never syntax; `null` elements are written as the unquoted NULL.
 */
export function textArray(values: readonly (string | null)[]): string {
  return `{${values.map((v) => (v === null ? 'NULL' : `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`)).join(',')}}`;
}

/** Byte strings in bytea hex form (`\x…`), for a `$n::bytea[]` cast. */
export function byteaArray(values: readonly (Uint8Array | null)[]): string {
  return `{${values.map((v) => (v === null ? 'NULL' : `"\\\\x${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}"`)).join(',')}}`;
}

/** Integers (truncated to int32; values are numbers Relais computed, never user text). */
export function intArray(values: readonly number[]): string {
  return `{${values.map((v) => String(v | 0)).join(',')}}`;
}
