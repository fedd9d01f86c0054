import { open, unlink } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { exportCustomer } from '../compliance/export.js';
import { phoneIndex } from '../compliance/subjects.js';
import { RelaisError } from '../core/errors.js';
import { runAdminCommand, usage } from './admin-command.js';
import { complianceDeps } from './compliance-deps.js';

const USAGE = `relais export --customer <phone number> [--out file.zip]
  Everything Relais holds on that person (GDPR access / portability request), as a ZIP:
  export.json (+ its JSON Schema), transcript.html and the media files. Written with mode 0600,
  by default to relais-export-<8 hex of the number's keyed hash>-<date>.zip. Audited.`;

/** `relais export --customer <number> [--out file]`. Exit 0 written, 1 failed (nothing found…), 2 usage. */
export async function runExport(env: NodeJS.ProcessEnv, args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args, options: { customer: { type: 'string' }, out: { type: 'string' } } }));
  } catch (err) {
    console.error(`relais: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const phone = values.customer;
  if (!phone) {
    console.error(USAGE);
    return 2;
  }
  return runAdminCommand(env, {}, async (ctx) => {
    const deps = complianceDeps(ctx);
    const out = values.out ?? `relais-export-${phoneIndex(ctx.ring, phone).slice(0, 8)}-${new Date().toISOString().slice(0, 10)}.zip`;
    // Created first (0600: it will hold personal data in clear; never over an earlier export), so
    // an export that cannot be written is not built, nor audited.
    let file;
    try {
      file = await open(out, 'wx', 0o600);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw usage(`${out} already exists: choose another --out (an earlier export is never overwritten)`);
      throw new RelaisError('export_write_failed', `Could not create ${out} (${code ?? 'error'}): check the directory and permissions`, { retryable: false, cause: err });
    }
    let r;
    try {
      r = await exportCustomer(deps, phone, { actor: ctx.actor });
      await file.writeFile(r.zip);
      await file.close();
    } catch (err) {
      await file.close().catch(() => undefined);
      await unlink(out).catch(() => undefined);
      throw err;
    }
    console.log(`Wrote ${out}: ${r.customers} conversation(s), ${r.messages} message(s), ${r.media} media file(s), ${r.zip.byteLength} bytes.`);
    return 0;
  });
}
