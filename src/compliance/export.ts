/**
 * Data-subject access and portability (GDPR Art. 15 and 20): everything Relais holds on one person,
 * found by phone number through the blind index, as one ZIP:
 *
 *   export.json         the data, machine-readable (shape: export-schema.ts, version 1)
 *   export.schema.json  the JSON Schema of export.json
 *   transcript.html     the conversations as a person reads them (config.language)
 *   media/<message id>-<file name>   every stored media file, decrypted
 *
 * Called by `relais export` and the admin API. The ZIP is built in memory (the caller decides where
 * it goes); the audit entry records who exported which customer ids and the counts, never content.
 */
import { strToU8, zipSync, type Zippable } from 'fflate';
import { normalizePhone } from '../archive/blind-index.js';
import { RelaisError } from '../core/errors.js';
import { appendAudit } from './audit.js';
import type { ComplianceDeps } from './deps.js';
import { collectCustomer } from './export-data.js';
import { renderTranscript } from './export-html.js';
import { EXPORT_FORMAT, EXPORT_VERSION, exportDocumentSchema, exportJsonSchema, type ExportDocument } from './export-schema.js';
import { findCustomersByPhone } from './subjects.js';

export interface ExportResult {
  zip: Uint8Array;
  /** Customer rows (conversations, one per business number) exported. */
  customers: number;
  /** Messages in both directions. */
  messages: number;
  /** Media files in the ZIP. */
  media: number;
}

/**
 * Builds the export of the person with phone number `phone` and records it in the audit log
 * (action `export`, target the customer ids, details the counts). Read-only apart from the audit
 * entry. Throws `RelaisError('invalid_phone')` for a malformed number and
 * `RelaisError('not_found')` when Relais holds nothing for it (never seen, or erased).
 */
export async function exportCustomer(deps: ComplianceDeps, phone: string, opts: { actor: string }): Promise<ExportResult> {
  const found = await findCustomersByPhone(deps.db, deps.ring, phone);
  if (found.length === 0) {
    throw new RelaisError('not_found', 'Relais holds no data for this phone number (never seen, erased, or only known by its WhatsApp username): check that the number has its country code', { retryable: false });
  }
  const now = deps.now?.() ?? new Date();
  const lang = deps.config.language;
  const collected = [];
  for (const c of found) collected.push(await collectCustomer(deps, c, lang));
  const files = new Map(collected.flatMap((c) => [...c.files]));
  const messages = collected.reduce((n, c) => n + c.customer.messages.length, 0);
  const doc: ExportDocument = exportDocumentSchema.parse({
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    generatedAt: now.toISOString(),
    language: lang,
    subject: { phone: `+${normalizePhone(phone)}` },
    counts: { customers: found.length, messages, media: files.size },
    customers: collected.map((c) => c.customer),
  } satisfies ExportDocument);

  const entries: Zippable = {
    'export.json': [strToU8(JSON.stringify(doc, null, 2)), { level: 6 }],
    'export.schema.json': [strToU8(JSON.stringify(exportJsonSchema(), null, 2)), { level: 6 }],
    'transcript.html': [strToU8(renderTranscript(doc)), { level: 6 }],
  };
  // Media is already compressed (JPEG, MP4, Opus…): stored as is.
  for (const [path, bytes] of files) entries[path] = [bytes, { level: 0 }];
  const zip = zipSync(entries, { mtime: now });

  const unreadable = collected.reduce((n, c) => n + c.unreadable, 0);
  const details = { customers: found.length, messages, media: files.size, bytes: zip.byteLength, ...(unreadable > 0 && { unreadable }) };
  await appendAudit(deps.db, deps.ring, { actor: opts.actor, action: 'export', target: found.map((c) => c.id).join(','), details }, { logger: deps.logger, now });
  deps.logger.info(details, 'data-subject export built');
  return { zip, customers: found.length, messages, media: files.size };
}
