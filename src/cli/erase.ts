import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { createChatPlatform } from '../chat/factory.js';
import type { ChatPlatform } from '../chat/platform.js';
import { eraseCustomer, reapplyErasures } from '../compliance/erase.js';
import { findCustomersByPhone } from '../compliance/subjects.js';
import { errorCode } from '../core/errors.js';
import { runAdminCommand, usage } from './admin-command.js';
import { complianceDeps } from './compliance-deps.js';
import type { CliContext } from './context.js';

const USAGE = `relais erase --customer <phone number> [--yes]
  Erases everything Relais holds on that person (GDPR erasure request): destroys their data keys,
  deletes their rows, then deletes, archives or keeps their chat channels (ERASE_CHAT_POLICY).
  Asks for confirmation on a terminal unless --yes. Exit 3 when the chat step is pending: run the
  same command again to finish it.
relais erase --reapply
  After restoring a database backup: deletes again the rows of every erased customer, and finishes
  pending chat steps.`;

/** Exit code when the data is erased but the chat step is still to do. */
const CHAT_PENDING = 3;

/** `relais erase --customer <number> [--yes]` and `relais erase --reapply`. Exit 0 done, 1 failed (held…), 2 usage, 3 chat pending. */
export async function runErase(env: NodeJS.ProcessEnv, args: string[], io: { stdin: NodeJS.ReadStream; stdout: NodeJS.WriteStream } = process): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args, options: { customer: { type: 'string' }, yes: { type: 'boolean', default: false }, reapply: { type: 'boolean', default: false } } }));
  } catch (err) {
    console.error(`relais: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (Boolean(values.customer) === values.reapply) {
    console.error(USAGE);
    return 2;
  }
  return runAdminCommand(env, {}, async (ctx) => {
    const platform = await connectChat(ctx);
    try {
      const deps = complianceDeps(ctx, platform);
      if (values.reapply) {
        const r = await reapplyErasures(deps, { actor: ctx.actor });
        console.log(`Restored rows of ${r.customers} erased customer(s) deleted again (${r.messagesDeleted} message(s)); chat steps still pending: ${r.chatPending}.`);
        return r.chatPending > 0 ? CHAT_PENDING : 0;
      }
      const phone = values.customer!;
      if (!values.yes) {
        if (!io.stdin.isTTY) throw usage('refusing to erase without confirmation: add --yes when not running on a terminal');
        const n = (await findCustomersByPhone(ctx.database.db, ctx.ring, phone)).length;
        const rl = createInterface({ input: io.stdin, output: io.stdout });
        const answer = await rl.question(`Erase everything Relais holds on this number (${n} conversation(s)) and apply the chat policy "${ctx.config.compliance.eraseChatPolicy}"? This cannot be undone. Type "erase" to confirm: `);
        rl.close();
        if (answer.trim() !== 'erase') {
          console.log('Nothing erased.');
          return 1;
        }
      }
      const r = await eraseCustomer(deps, phone, { actor: ctx.actor });
      console.log(`Erased ${r.customers} conversation(s), ${r.messagesDeleted} message(s). Chat: ${r.chat}.`);
      if (r.chatDetail) console.log(r.chatDetail);
      if (r.chat === 'pending') console.log('The chat step is pending: run the same command again to finish it.');
      return r.chat === 'pending' ? CHAT_PENDING : 0;
    } finally {
      await platform?.close().catch(() => undefined);
    }
  });
}

/** The chat platform when configured and reachable; otherwise null and a warning (the data is erased anyway). */
async function connectChat(ctx: CliContext): Promise<ChatPlatform | null> {
  if (ctx.config.compliance.eraseChatPolicy === 'keep') return null;
  const platform = createChatPlatform(ctx.config, ctx.logger);
  if (!platform) return null;
  try {
    await platform.connect();
    return platform;
  } catch (err) {
    console.error(`relais: the chat platform is unreachable (${errorCode(err)}): the data will be erased now and the chat step left pending.`);
    await platform.close().catch(() => undefined);
    return null;
  }
}
