/**
 * Developer tool: CPU profile of `relais serve` (compiled, from dist/) under the inbound load.
 * Usage: npm run build && tsx bench/profile-inbound.ts <out-dir> [seconds] [postgres-url]
 * Writes a .cpuprofile (open in Chrome DevTools) and prints the top self-time functions.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startMattermostFake } from '../test/fakes/mattermost/index.js';
import { webhookBody } from './inbound.js';
import { drive, freePort } from './load.js';

const [outDir = '/tmp/prof', seconds = '10', pgUrl] = process.argv.slice(2);
const mm = await startMattermostFake({ specDir: null });
mm.addTeam('support');
const bot = mm.addUser({ username: 'relais', isBot: true });
mm.addToTeam('support', 'relais', { admin: true });
const dir = await mkdtemp(path.join(tmpdir(), 'relais-prof-'));
const port = await freePort();
const child = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${outDir}`, 'dist/cli/main.js', 'serve'], {
  cwd: path.resolve(import.meta.dirname, '..'), stdio: ['ignore', 'ignore', 'inherit'],
  env: { PATH: process.env.PATH!, RELAIS_MASTER_KEY: randomBytes(32).toString('base64'), RELAIS_DATA_DIR: dir, PORT: String(port), HOST: '127.0.0.1',
    WHATSAPP_APP_SECRET: 'bench-app-secret', WHATSAPP_VERIFY_TOKEN: 'v', WHATSAPP_ACCESS_TOKEN: 't', WHATSAPP_PHONE_NUMBER_ID: '106540352242922',
    MATTERMOST_URL: mm.url, MATTERMOST_TOKEN: bot.token, MATTERMOST_TEAM: 'support', LOG_LEVEL: 'error', RELAY_CONCURRENCY: '16',
    ...(pgUrl ? { DATABASE_URL: pgUrl } : {}) },
});
const url = `http://127.0.0.1:${port}`;
for (let i = 0; i < 300; i++) { try { if ((await fetch(url + '/readyz/webhooks')).status === 200) break; } catch { /* starting */ } await new Promise((r) => setTimeout(r, 200)); }
const r = await drive({ url: `${url}/webhooks/whatsapp`, seconds: Number(seconds), concurrency: 32, body: (i) => webhookBody(i) });
console.log(`accepted ${r.perSec.toFixed(0)}/s`);
await new Promise((res) => setTimeout(res, 3000));
const exited = new Promise((res) => child.once('exit', res));
child.kill('SIGINT');
setTimeout(() => { process.exitCode = 1; child.kill('SIGKILL'); }, 30_000).unref();
await exited;
await mm.close();
const files = (await readdir(outDir)).filter((f) => f.endsWith('.cpuprofile')).sort();
const prof = JSON.parse(await readFile(path.join(outDir, files.at(-1)!), 'utf8')) as { nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[]; samples: number[]; timeDeltas: number[] };
const self = new Map<number, number>();
prof.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)));
const byFn = new Map<string, number>();
for (const n of prof.nodes) {
  const key = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/main\//, '')}:${n.callFrame.lineNumber}`;
  byFn.set(key, (byFn.get(key) ?? 0) + (self.get(n.id) ?? 0));
}
const total = [...byFn.values()].reduce((a, b) => a + b, 0);
for (const [k, v] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, 40)) console.log(`${(100 * v / total).toFixed(1).padStart(5)}%  ${k}`);
process.exit(0);
