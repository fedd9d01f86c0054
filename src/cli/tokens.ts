import { parseArgs } from 'node:util';
import { createApiToken, listApiTokens, parseScopes, revokeApiToken } from '../compliance/api-tokens.js';
import { runAdminCommand, usage } from './admin-command.js';

const USAGE = `relais tokens create --name <name> --scope read[,gdpr,admin] [--expires-days N]
                                  issue an admin API token (printed once, on stdout)
relais tokens list [--json]       every token: id, name, scopes, state, last use (never the token)
relais tokens revoke <id>         revoke a token at once`;

/** `relais tokens create|list|revoke`. Exit 0 done, 1 failed (e.g. unknown id), 2 usage. */
export async function runTokens(env: NodeJS.ProcessEnv, args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'create' && sub !== 'list' && sub !== 'revoke') {
    console.error(USAGE);
    return 2;
  }
  let values: { name?: string; scope?: string; 'expires-days'?: string; json?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: rest, allowPositionals: true,
      options: { name: { type: 'string' }, scope: { type: 'string' }, 'expires-days': { type: 'string' }, json: { type: 'boolean', default: false } },
    }));
  } catch (err) {
    console.error(`relais: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  return runAdminCommand(env, {}, async (ctx) => {
    const db = ctx.database.db;
    if (sub === 'create') {
      if (!values.name) throw usage('--name is required (e.g. --name dpo-laptop)');
      if (!values.scope) throw usage('--scope is required: read, gdpr and/or admin, separated by commas');
      const days = values['expires-days'] === undefined ? undefined : Number(values['expires-days']);
      const { token, info } = await createApiToken(db, ctx.ring, { name: values.name, scopes: parseScopes(values.scope), expiresInDays: days, actor: ctx.actor });
      // The token alone on stdout (TOKEN=$(relais tokens create …)); the explanation on stderr.
      console.log(token);
      console.error(`token "${info.name}" created (id ${info.id}, scopes ${info.scopes.join(',')}, ${info.expiresAt ? `expires ${info.expiresAt.toISOString()}` : 'no expiry'}).\nThis is the only time it is shown: store it in your secret manager now.`);
      return 0;
    }
    if (sub === 'list') {
      const tokens = await listApiTokens(db);
      if (values.json) console.log(JSON.stringify(tokens));
      else if (tokens.length === 0) console.log('no tokens; create one with: relais tokens create --name <name> --scope read');
      else for (const t of tokens) {
        console.log([t.id, t.name, t.scopes.join(','), t.state, `created ${t.createdAt.toISOString()} by ${t.createdBy}`,
          t.expiresAt ? `expires ${t.expiresAt.toISOString()}` : 'no expiry', t.lastUsedAt ? `last used ${t.lastUsedAt.toISOString()}` : 'never used'].join('\t'));
      }
      return 0;
    }
    const id = positionals[0];
    if (!id) throw usage('relais tokens revoke <id>: give the token id shown by "relais tokens list"');
    if (!(await revokeApiToken(db, ctx.ring, id, { actor: ctx.actor }))) {
      console.error(`relais: no token has id ${id}; "relais tokens list" shows the ids`);
      return 1;
    }
    console.log(`token ${id} revoked`);
    return 0;
  });
}
