import { parseArgs } from 'node:util';
import { listAudit, verifyAuditChain } from '../compliance/audit.js';
import { runAdminCommand, usage } from './admin-command.js';

const USAGE = `relais audit verify            check the hash chain; exit 1 if any entry was edited or deleted
relais audit list [--limit N] [--json]   newest entries first`;

/** `relais audit verify|list`. */
export async function runAudit(env: NodeJS.ProcessEnv, args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'verify' && sub !== 'list') {
    console.error(USAGE);
    return 2;
  }
  const { values } = parseArgs({ args: rest, options: { limit: { type: 'string', default: '50' }, json: { type: 'boolean', default: false } } });
  return runAdminCommand(env, {}, async (ctx) => {
    if (sub === 'verify') {
      const v = await verifyAuditChain(ctx.database.db, ctx.ring);
      if (values.json) console.log(JSON.stringify(v));
      else if (v.ok) console.log(`audit chain intact: ${v.entries} entries, head ${v.head}`);
      else console.log(`AUDIT CHAIN BROKEN at entry ${v.brokenAt!.id} (${v.brokenAt!.reason}); ${v.entries} entries verify before it, last good hash ${v.head}`);
      return v.ok ? 0 : 1;
    }
    const limit = Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw usage('--limit must be an integer from 1 to 1000');
    const entries = await listAudit(ctx.database.db, { limit });
    if (values.json) console.log(JSON.stringify(entries));
    else for (const e of entries) console.log(`${e.id}\t${e.at.toISOString()}\t${e.actor}\t${e.action}\t${e.target ?? '-'}\t${JSON.stringify(e.details)}`);
    return 0;
  });
}
