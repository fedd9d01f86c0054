import { parseArgs } from 'node:util';
import { setLegalHold } from '../compliance/hold.js';
import { runAdminCommand } from './admin-command.js';
import { complianceDeps } from './compliance-deps.js';

const USAGE = `relais hold --customer <phone number> on|off [--reason "<case reference>"]
  Puts that person on legal hold (exempt from retention and erasure) or lifts it. The reason is a
  case or ticket reference, never personal data. Audited (hold.on / hold.off).`;

/** `relais hold --customer <number> on|off [--reason …]`. Exit 0 done, 1 failed, 2 usage. */
export async function runHold(env: NodeJS.ProcessEnv, args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: { customer: { type: 'string' }, reason: { type: 'string' } } });
  } catch (err) {
    console.error(`relais: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [state, ...extra] = positionals;
  if (!values.customer || (state !== 'on' && state !== 'off') || extra.length > 0 || (state === 'off' && values.reason !== undefined)) {
    console.error(USAGE);
    return 2;
  }
  return runAdminCommand(env, {}, async (ctx) => {
    const on = state === 'on';
    const r = await setLegalHold(complianceDeps(ctx), values.customer!, on, { actor: ctx.actor, reason: values.reason });
    console.log(on
      ? `Legal hold set on ${r.customers} conversation(s): retention and erasure skip them until "relais hold --customer <number> off".`
      : `Legal hold lifted on ${r.customers} conversation(s).`);
    return 0;
  });
}
