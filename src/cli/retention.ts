import { parseArgs } from 'node:util';
import { runRetention, type RetentionResult } from '../compliance/retention.js';
import { loadConfig } from '../config/load.js';
import { runAdminCommand, usage } from './admin-command.js';

const USAGE = `relais retention run [--dry-run] [--json] [--batch-size N]
  Purge message content older than RETENTION_DAYS (or a number's retentionDays) now, as the daily
  job does at 03:00 UTC. --dry-run only counts what would be purged and changes nothing.`;

/** `relais retention run [--dry-run]`: the daily retention run, now. Exit 0 done, 1 failed, 2 usage. */
export async function runRetentionCommand(env: NodeJS.ProcessEnv, args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'run') {
    console.error(USAGE);
    return 2;
  }
  let values;
  try {
    ({ values } = parseArgs({ args: rest, options: { 'dry-run': { type: 'boolean', default: false }, json: { type: 'boolean', default: false }, 'batch-size': { type: 'string', default: '500' } } }));
  } catch (err) {
    console.error(`relais: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const dryRun = values['dry-run'];
  // Connect to the chat platform only when posts are to be deleted (a chat outage must not stop the purge itself).
  const pruneChat = !dryRun && Boolean((await loadConfig(env)).config?.compliance.retentionPruneChat);
  return runAdminCommand(env, { platform: pruneChat }, async (ctx) => {
    const batchSize = Number(values['batch-size']);
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) throw usage('--batch-size must be an integer from 1 to 10000');
    const r = await runRetention({ db: ctx.database.db, ring: ctx.ring, keys: ctx.keys, config: ctx.config, logger: ctx.logger, platform: ctx.platform }, { dryRun, batchSize, actor: ctx.actor });
    console.log(values.json ? JSON.stringify(r) : describe(r, pruneChat && !ctx.platform));
    return 0;
  });
}

function describe(r: RetentionResult, chatMissing: boolean): string {
  const numbers = Object.entries(r.perNumber);
  if (!numbers.length) return 'No retention configured (RETENTION_DAYS or a number\'s retentionDays): nothing to purge.';
  const verb = r.dryRun ? 'would purge' : 'purged';
  const lines = numbers.map(([n, x]) => `  ${n}: ${x.days} days (before ${x.cutoff}): ${x.messages} messages, ${x.media} media, ${x.outbox} agent messages, ${x.customersRetired} customers retired${x.held ? `, ${x.held} customers on legal hold kept` : ''}`);
  const total = `${r.dryRun ? 'Dry run: ' : ''}${verb} ${r.messagesPurged} messages, ${r.mediaDeleted} media, ${r.outboxPurged} agent messages; ${r.customersRetired} customers retired; ${r.heldSkipped} customers kept by a legal hold.`;
  const chat = r.dryRun
    ? (r.chatPostsPending ? `Chat posts that would be deleted: ${r.chatPostsPending}.` : '')
    : [r.chatPostsPruned ? `Chat posts deleted: ${r.chatPostsPruned}.` : '', r.chatFailures ? `Chat deletions failed: ${r.chatFailures} (retried by the next run).` : '',
      r.chatPostsPending ? `Chat posts still to delete: ${r.chatPostsPending}${chatMissing ? ' (no chat platform configured)' : ''}.` : ''].filter(Boolean).join(' ');
  return [total, ...lines, chat].filter(Boolean).join('\n');
}
