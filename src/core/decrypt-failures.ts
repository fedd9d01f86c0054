/**
 * Decryption failures are loud: every place that opens a ciphertext or unwraps a key reports a
 * failure here (a counter `relais_decrypt_failures_total{table}` and one error log line with ids
 * only), then lets the error propagate. Nothing ever turns a failure into empty text.
 */
import { openFieldText, openJson, type FieldContext } from '../archive/envelope.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { RelaisError } from './errors.js';

/** Error codes that mean "this ciphertext or key could not be used". */
export const DECRYPT_FAILURE_CODES: ReadonlySet<string> = new Set(['decrypt_failed', 'key_missing', 'key_destroyed', 'plaintext_invalid']);

/** Where failures are reported. Both parts are optional: CLI commands have no metrics. */
export interface DecryptWatch {
  metrics?: Pick<Metrics, 'decryptFailures'>;
  logger?: Logger;
}

/** What failed to open: the table (the metric label), and internal ids for the log line. */
export interface DecryptSite {
  table: string;
  column?: string;
  rowId?: string;
  customerId?: string;
  /** For media: the message the media belongs to. */
  messageId?: string;
  keyVersion?: number;
}

/** True for a RelaisError whose code is one of `DECRYPT_FAILURE_CODES`. */
export function isDecryptFailure(err: unknown): err is RelaisError {
  return err instanceof RelaisError && DECRYPT_FAILURE_CODES.has(err.code);
}

/** Errors already counted, so a failure wrapped at two levels is counted once. */
const reported = new WeakSet<object>();

/**
 * Counts and logs `err` when it is a decryption failure (see `isDecryptFailure`); does nothing
 * for other errors or for an error already reported. Logs the code and the ids of `site`, never
 * plaintext, ciphertext or keys. Never throws.
 */
export function reportDecryptFailure(watch: DecryptWatch | undefined, site: DecryptSite, err: unknown): void {
  if (!isDecryptFailure(err) || reported.has(err)) return;
  reported.add(err);
  try {
    watch?.metrics?.decryptFailures.inc({ table: site.table });
    watch?.logger?.error({ code: err.code, ...site }, 'decryption failed: the data stays unreadable until the cause is fixed (tampering, a missing master key, or an erased customer)');
  } catch {
    // Reporting must never hide the original failure.
  }
}

/**
 * Runs `open` and returns its result; when it throws (synchronously or by rejecting), reports a
 * decryption failure for `site` and rethrows the same error unchanged.
 */
export function watchDecrypt<T>(watch: DecryptWatch | undefined, site: DecryptSite, open: () => T): T {
  let result: T;
  try {
    result = open();
  } catch (err) {
    reportDecryptFailure(watch, site, err);
    throw err;
  }
  if (result instanceof Promise) {
    return result.catch((err: unknown) => {
      reportDecryptFailure(watch, site, err);
      throw err;
    }) as T;
  }
  return result;
}

const siteOf = (ctx: FieldContext): DecryptSite => ({ table: ctx.table, column: ctx.column, rowId: ctx.rowId, keyVersion: ctx.keyVersion });

/** `openFieldText` whose failures are counted and logged through `watch` (then thrown). */
export function openTextWatched(watch: DecryptWatch | undefined, dek: Uint8Array, ctx: FieldContext, sealed: Uint8Array): string {
  return watchDecrypt(watch, siteOf(ctx), () => openFieldText(dek, ctx, sealed));
}

/** `openJson` whose failures are counted and logged through `watch` (then thrown). */
export function openJsonWatched<T>(watch: DecryptWatch | undefined, dek: Uint8Array, ctx: FieldContext, sealed: Uint8Array): T {
  return watchDecrypt(watch, siteOf(ctx), () => openJson<T>(dek, ctx, sealed));
}
