import { parseArgs } from 'node:util';
import { keyStatus, type KeyStatus } from '../compliance/key-status.js';
import { DEFAULT_BATCH, rotateMasterKey, type RotationProgress, type RotationReport } from '../compliance/key-rotation.js';
import { runAdminCommand, usage } from './admin-command.js';

const USAGE = `relais keys status [--json]                  master-key versions in use, data keys per version, replicas
relais keys rotate [--batch N] [--force]     rewrap every data key (and the index root) under the first key
                                             of RELAIS_MASTER_KEY; message bodies are not re-encrypted.
                                             See docs/keys.md for the rollout order.`;

/** `relais keys status|rotate`. Exit codes: 0 done, 1 failed or rotation incomplete, 2 usage. */
export async function runKeys(env: NodeJS.ProcessEnv, args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'status' && sub !== 'rotate') {
    console.error(USAGE);
    return 2;
  }
  let values;
  try {
    values = parseArgs({
      args: rest,
      options: { json: { type: 'boolean', default: false }, batch: { type: 'string', default: String(DEFAULT_BATCH) }, force: { type: 'boolean', default: false } },
    }).values;
  } catch (err) {
    console.error(`relais: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  return runAdminCommand(env, {}, async (ctx) => {
    if (sub === 'status') {
      const status = await keyStatus(ctx.database.db, ctx.ring);
      console.log(values.json ? JSON.stringify(status, null, 2) : formatStatus(status));
      return 0;
    }
    const batchSize = Number(values.batch);
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) throw usage('--batch must be an integer from 1 to 10000');
    const abort = new AbortController();
    const onSignal = () => {
      console.error('relais: stopping after the current batch (run "relais keys rotate" again to resume)');
      abort.abort();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      console.error(`relais: rewrapping to master key version ${ctx.ring.currentKekVersion}…`);
      const report = await rotateMasterKey(
        { db: ctx.database.db, ring: ctx.ring, logger: ctx.logger },
        { actor: ctx.actor, batchSize, force: values.force, signal: abort.signal, onProgress: progressPrinter() },
      );
      console.log(formatReport(report));
      return report.outcome === 'complete' ? 0 : 1;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  });
}

/** Progress on stderr: at most one line a second per phase, and the last one. */
function progressPrinter(): (p: RotationProgress) => void {
  let lastAt = 0;
  let lastPhase = '';
  return (p) => {
    const now = Date.now();
    if (p.phase === lastPhase && now - lastAt < 1000 && p.done < p.total) return;
    lastAt = now;
    lastPhase = p.phase;
    const what = p.phase === 'data_keys' ? 'data keys' : 'quarantined payloads';
    const pct = p.total > 0 ? ` (${Math.floor((100 * p.done) / p.total)}%)` : '';
    console.error(`relais: ${what} rewrapped: ${p.done}/${p.total}${pct}`);
  };
}

function formatReport(r: RotationReport): string {
  const lines = [
    `rotation to master key version ${r.toVersion}: ${r.outcome}`,
    `  data keys rewrapped: ${r.dataKeys.rewrapped}${r.dataKeys.failed ? ` (${r.dataKeys.failed} FAILED to unwrap: see the error log lines)` : ''}`,
    `  blind-index root: ${r.indexRoot.replace('_', ' ')}`,
    `  quarantined payloads re-sealed: ${r.quarantine.resealed}${r.quarantine.failed ? ` (${r.quarantine.failed} FAILED)` : ''}`,
    `  still under an older version: ${r.remaining.dataKeys} data key(s)${r.remaining.indexRoot ? ', the index root' : ''}, ${r.remaining.quarantine} quarantined payload(s)`,
  ];
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  if (r.outcome === 'interrupted') lines.push('Interrupted: run "relais keys rotate" again to finish (it resumes where it stopped).');
  else if (r.outcome === 'incomplete') lines.push('Not complete: check the warnings and "relais keys status", then run "relais keys rotate" again.');
  else lines.push('Done. Keep the old key listed until backups older than now have expired (docs/keys.md, "Trimming old keys").');
  return lines.join('\n');
}

function formatStatus(s: KeyStatus): string {
  const lines = [
    `current master key version: ${s.currentVersion}`,
    `versions loaded here: ${s.loadedVersions.join(', ')}`,
    '',
    'version      current  loaded here  data keys  index root  quarantined',
  ];
  for (const v of s.versions) {
    lines.push(`${String(v.version).padEnd(12)} ${(v.current ? 'yes' : '').padEnd(8)} ${(v.loadedHere ? 'yes' : 'NO').padEnd(12)} ${String(v.dataKeys).padStart(9)}  ${(v.indexRoot ? 'yes' : '').padEnd(10)}  ${String(v.quarantine).padStart(11)}`);
  }
  lines.push('', s.replicas.length ? 'replicas (heartbeat every 30 s):' : 'replicas: none has reported (no "relais serve" running against this database?)');
  for (const r of s.replicas) {
    lines.push(`  ${r.instanceId}  current ${r.currentKekVersion}  loaded ${r.kekVersions.join(', ')}  seen ${r.seenAt.toISOString()}${r.live ? '' : '  (not running: no heartbeat for 2 minutes)'}`);
  }
  if (s.warnings.length) lines.push('');
  for (const w of s.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}
