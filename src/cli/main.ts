#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.js';
import { createLogger, dbErrorFields } from '../log.js';
import { runAudit } from './audit.js';
import { runCheckConfig } from './check-config.js';
import { runErase } from './erase.js';
import { runExport } from './export.js';
import { runHold } from './hold.js';
import { runKeys } from './keys.js';
import { runMigrate } from './migrate.js';
import { runRetentionCommand } from './retention.js';
import { runSearch } from './search.js';
import { runServe } from './serve.js';
import { runSimulator } from './simulator.js';
import { runTokens } from './tokens.js';

const USAGE = `relais — WhatsApp Business ⇄ Mattermost bridge

Usage: relais <command> [options]

Commands:
  serve          Start the bridge (webhooks, relay workers, health, metrics)
  migrate        Apply database migrations (safe to run from several replicas) and exit
  check-config   Validate the configuration and list every problem at once
  simulator      Run the WhatsApp simulator (Graph API fake + customer web page) on its own
  audit          verify | list: check the audit log's hash chain, show recent entries
  tokens         create | list | revoke: admin API bearer tokens (docs/admin-api.md)
  keys           status | rotate: master-key versions in use; rewrap data keys to a new master key
  retention      run [--dry-run]: purge content older than the retention limit now (docs/retention.md)
  search         "<words>" | reindex: search the encrypted archive; build its index (docs/search.md)
  export         --customer <number> [--out file.zip]: everything held on a person (docs/data-subject-requests.md)
  erase          --customer <number> [--yes] | --reapply: erase a person; re-apply erasures after a restore
  hold           --customer <number> on|off [--reason ref]: legal hold (no retention, no erasure)

Every setting is an environment variable; see docs/configuration.md.
From a checkout: npm run relais -- <command>`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const env = process.env;
  switch (command) {
    case 'serve':
      return runServe(env);
    case 'migrate':
      return runMigrate(env);
    case 'check-config':
      return runCheckConfig(env);
    case 'audit':
      return runAudit(env, rest);
    case 'tokens':
      return runTokens(env, rest);
    case 'keys':
      return runKeys(env, rest);
    case 'search':
      return runSearch(env, rest);
    case 'retention':
      return runRetentionCommand(env, rest);
    case 'export':
      return runExport(env, rest);
    case 'erase':
      return runErase(env, rest);
    case 'hold':
      return runHold(env, rest);
    case 'simulator': {
      const { values } = parseArgs({
        args: rest,
        options: {
          port: { type: 'string', default: '8090' },
          'relais-url': { type: 'string', default: 'http://127.0.0.1:8080' },
          'phone-number-id': { type: 'string' },
        },
      });
      return runSimulator(env, { port: Number(values.port), relaisUrl: values['relais-url']!, phoneNumberId: values['phone-number-id'] });
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return command === undefined ? 1 : 0;
    default:
      console.error(`Unknown command "${command}".\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => { if (code !== -1) process.exitCode = code; },
  (err: unknown) => {
    const logger = createLogger({ level: 'error' });
    logger.fatal({ err: dbErrorFields(err) }, 'relais failed');
    process.exitCode = 1;
  },
);

export { loadConfig };
