/**
 * deploy/: files we cannot run here (no Docker), checked by reading them. docker-compose.yml wiring, the
 * Dockerfile's contract with the chart and the CLI, the example relais.config.yaml against the real config schema,
 * and the Grafana dashboard against the metric names Relais exports.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import { fileConfigSchema } from '../../src/config/schema.js';
import { createMetrics } from '../../src/metrics.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const DEPLOY = path.join(ROOT, 'deploy');
const read = (p: string) => readFileSync(path.join(ROOT, p), 'utf8');

/** The metric names dashboards and alerts may use (public contract), besides Node's default relais_process_* ones. */
const CONTRACT_METRICS = [
  'relais_webhooks_received_total', 'relais_webhooks_rejected_total', 'relais_webhooks_quarantined_total',
  'relais_inbound_messages_total', 'relais_messages_relayed_total', 'relais_relay_latency_seconds',
  'relais_relay_failures_total', 'relais_job_retries_total', 'relais_dead_letters_total', 'relais_queue_depth',
  'relais_decrypt_failures_total',
];
const HISTOGRAMS = ['relais_relay_latency_seconds'];

type Obj = Record<string, unknown>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

/** Compose interpolation for the forms the file uses: ${VAR}, ${VAR:-default} and ${VAR:+replacement}. */
function interpolate(value: string, vars: Record<string, string> = {}): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?::([-+])([^}]*))?\}/g, (_m, name: string, op?: string, arg?: string) => {
    const v = vars[name] ?? '';
    if (op === '-') return v || (arg ?? '');
    if (op === '+') return v ? (arg ?? '') : '';
    return v;
  });
}

describe('deploy/docker-compose.yml', () => {
  const text = read('deploy/docker-compose.yml');
  const compose = parseYaml(text) as Any;
  const services = compose.services as Record<string, Any>;
  /** A service's environment as compose would pass it, given the variables of deploy/.env. */
  const env = (service: string, vars: Record<string, string> = {}): Record<string, string> =>
    Object.fromEntries(Object.entries(services[service].environment as Obj).map(([k, v]) => [k, interpolate(String(v), vars)]));
  const configured = { MATTERMOST_TOKEN: 'bot-token', MATTERMOST_TEAM: 'support' };

  it('says it is for trying Relais, not for production', () => {
    expect(text).toMatch(/NOT FOR PRODUCTION/i);
  });

  it('runs PostgreSQL 16, Mattermost with its own PostgreSQL, and Relais built from deploy/Dockerfile', () => {
    expect(Object.keys(services).sort()).toEqual(['mattermost', 'mattermost-db', 'postgres', 'relais']);
    expect(services.postgres.image).toMatch(/^postgres:16\b/);
    expect(services['mattermost-db'].image).toMatch(/^postgres:16\b/);
    expect(services.mattermost.image).toMatch(/^mattermost\/mattermost-team-edition:/);
    const build = services.relais.build;
    expect(path.resolve(DEPLOY, build.context)).toBe(ROOT);
    expect(existsSync(path.join(ROOT, build.dockerfile))).toBe(true);
    expect(services.relais.depends_on.postgres.condition).toBe('service_healthy');
    expect(services['mattermost'].depends_on['mattermost-db'].condition).toBe('service_healthy');
    for (const name of ['postgres', 'mattermost-db', 'mattermost']) expect(services[name].healthcheck?.test, name).toBeDefined();
  });

  it('wires Relais to its database and to Mattermost with matching credentials', () => {
    const relais = env('relais', configured);
    const pg = env('postgres');
    const db = new URL(relais.DATABASE_URL!);
    expect(db.protocol).toBe('postgres:');
    expect(db.hostname).toBe('postgres');
    expect(decodeURIComponent(db.username)).toBe(pg.POSTGRES_USER);
    expect(decodeURIComponent(db.password)).toBe(pg.POSTGRES_PASSWORD);
    expect(db.pathname).toBe(`/${pg.POSTGRES_DB}`);
    expect(relais.CHAT_PLATFORM).toBe('mattermost');
    const mm = new URL(relais.MATTERMOST_URL!);
    expect(mm.hostname).toBe('mattermost');
    expect(services.mattermost.ports).toContain(`${mm.port}:${mm.port}`);

    const mmEnv = env('mattermost');
    const mmDb = env('mattermost-db');
    const source = new URL(mmEnv.MM_SQLSETTINGS_DATASOURCE!);
    expect(mmEnv.MM_SQLSETTINGS_DRIVERNAME).toBe('postgres');
    expect(source.hostname).toBe('mattermost-db');
    expect(decodeURIComponent(source.username)).toBe(mmDb.POSTGRES_USER);
    expect(decodeURIComponent(source.password)).toBe(mmDb.POSTGRES_PASSWORD);
    expect(source.pathname).toBe(`/${mmDb.POSTGRES_DB}`);
    expect(mmEnv.MM_SERVICESETTINGS_ENABLEBOTACCOUNTCREATION).toBe('true');
    expect(mmEnv.MM_SERVICESETTINGS_ENABLEUSERACCESSTOKENS).toBe('true');
  });

  it('gives Relais an environment its config loader accepts, before and after the Mattermost bot is set up', async () => {
    const noFile = () => Promise.reject(new Error('no config file in this test'));
    const first = await loadConfig(env('relais'), noFile);
    expect(first.problems).toEqual([]);
    expect(first.missing.some((m) => m.startsWith('MATTERMOST_TOKEN'))).toBe(true);
    const ready = await loadConfig(env('relais', configured), noFile);
    expect(ready.problems).toEqual([]);
    expect(ready.config?.chat.mattermost?.url).toBe('http://mattermost:8065');
    expect(ready.config?.simulator).toBe(true);
  });

  it('confines Relais as the chart does and declares every named volume it uses', () => {
    const relais = services.relais;
    expect(relais.read_only).toBe(true);
    expect(relais.tmpfs).toContain('/tmp');
    expect(relais.cap_drop).toEqual(['ALL']);
    expect(relais.security_opt).toContain('no-new-privileges:true');
    expect(relais.ports).toContain('8080:8080');
    const declared = Object.keys(compose.volumes as Obj);
    for (const [name, svc] of Object.entries(services)) {
      for (const v of (svc.volumes ?? []) as string[]) {
        const source = v.split(':')[0]!;
        if (!source.startsWith('.') && !source.startsWith('/')) expect(declared, `${name}: ${v}`).toContain(source);
      }
    }
    expect(relais.volumes).toContain('relais-data:/app/data');
  });
});

describe('deploy/Dockerfile and .dockerignore', () => {
  const lines = read('deploy/Dockerfile')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const instr = (name: string) => lines.filter((l) => l.toUpperCase().startsWith(`${name} `));
  const froms = instr('FROM');
  const finalStageStart = lines.indexOf(froms[froms.length - 1]!);
  const finalStage = lines.slice(finalStageStart);
  const buildStage = lines.slice(0, finalStageStart);

  it('builds in one stage and runs node:20-bookworm-slim in another', () => {
    expect(froms.length).toBeGreaterThanOrEqual(2);
    const nodeImage = /^ARG NODE_IMAGE=(\S+)/.exec(lines.find((l) => l.startsWith('ARG NODE_IMAGE=')) ?? '')?.[1];
    expect(nodeImage).toBe('node:20-bookworm-slim');
    expect(froms[froms.length - 1]).toMatch(/^FROM \$\{NODE_IMAGE\} AS runtime$/);
    const run = buildStage.filter((l) => l.startsWith('RUN ')).join('\n');
    expect(run).toContain('npm ci');
    expect(run).toContain('npm run build');
    expect(run).toContain('npm prune --omit=dev');
  });

  it('runs the relais CLI as UID/GID 10001 with a Node health check', () => {
    const pkg = JSON.parse(read('package.json')) as { bin: Record<string, string> };
    expect(finalStage.filter((l) => l.startsWith('USER '))).toEqual(['USER 10001:10001']);
    expect(finalStage.find((l) => l.startsWith('ENTRYPOINT '))).toBe('ENTRYPOINT ["node", "dist/cli/main.js"]');
    // Administrative commands by name inside the container (kubectl exec … -- relais keys status).
    expect(finalStage.filter((l) => l.startsWith('RUN ')).join('\n')).toContain('ln -s /app/dist/cli/main.js /usr/local/bin/relais');
    expect(pkg.bin.relais).toBe('dist/cli/main.js');
    expect(existsSync(path.join(ROOT, 'src/cli/main.ts'))).toBe(true);
    expect(finalStage.find((l) => l.startsWith('CMD '))).toBe('CMD ["serve"]');
    const health = finalStage.find((l) => l.startsWith('HEALTHCHECK ')) ?? '';
    expect(health).toContain('CMD ["node", "-e"');
    expect(health).toContain('/healthz');
    expect(finalStage.some((l) => /^RUN .*useradd .*--uid 10001/.test(l))).toBe(true);
  });

  it('ships dist, production node_modules, package.json and the migrations the CLI applies', () => {
    const copied = finalStage.filter((l) => l.startsWith('COPY --from=build')).map((l) => l.split(/\s+/).slice(2, -1)).flat();
    for (const p of ['/app/package.json', '/app/node_modules', '/app/dist', '/app/migrations']) expect(copied).toContain(p);
  });

  it('sends only what the build needs in the context (allowlist .dockerignore)', () => {
    const ignore = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    expect(ignore[0]).toBe('*');
    const allowed = ignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, ''));
    const fromContext = buildStage
      .filter((l) => l.startsWith('COPY ') && !l.includes('--from='))
      .flatMap((l) => l.split(/\s+/).slice(1, -1));
    for (const p of fromContext) {
      expect(allowed, `COPY ${p} needs an allowlist entry`).toContain(p);
      expect(existsSync(path.join(ROOT, p)), p).toBe(true);
    }
    expect(allowed.some((a) => /env|data|\.tools|node_modules|\.git/.test(a))).toBe(false);
  });
});

describe('deploy/examples/relais.config.yaml', () => {
  it('is accepted by the config file schema and maps two numbers to two teams', () => {
    const parsed = fileConfigSchema.parse(parseYaml(read('deploy/examples/relais.config.yaml')));
    const numbers = parsed.whatsapp?.numbers ?? [];
    expect(numbers).toHaveLength(2);
    expect(new Set(numbers.map((n) => n.team)).size).toBe(2);
    expect(new Set(numbers.map((n) => n.phoneNumberId)).size).toBe(2);
    expect(numbers.every((n) => n.accessToken === undefined)).toBe(true);
  });
});

describe('deploy/grafana/relais-dashboard.json', () => {
  const dashboard = JSON.parse(read('deploy/grafana/relais-dashboard.json')) as Any;
  const panels: Any[] = [];
  const collect = (list: Any[]) => {
    for (const p of list ?? []) {
      panels.push(p);
      collect(p.panels);
    }
  };
  collect(dashboard.panels);
  const queryPanels = panels.filter((p) => p.type !== 'row');
  const exprs: string[] = [
    ...queryPanels.flatMap((p) => (p.targets ?? []).map((t: Any) => String(t.expr))),
    ...(dashboard.templating?.list ?? []).map((v: Any) => (typeof v.query === 'string' ? v.query : v.query?.query ?? '')),
  ];
  const used = [...new Set(exprs.flatMap((e) => e.match(/\brelais_[a-z0-9_]+/g) ?? []))].sort();
  const base = (name: string) => {
    const h = HISTOGRAMS.find((m) => name === `${m}_bucket` || name === `${m}_sum` || name === `${m}_count`);
    return h ?? name;
  };

  it('is a Grafana dashboard with a stable uid, a Prometheus data source variable and unique panel ids', () => {
    expect(dashboard.uid).toBe('relais-overview');
    expect(typeof dashboard.schemaVersion).toBe('number');
    expect(dashboard.templating.list.find((v: Any) => v.type === 'datasource')?.query).toBe('prometheus');
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of queryPanels) {
      expect(p.gridPos, p.title).toMatchObject({ h: expect.any(Number), w: expect.any(Number), x: expect.any(Number), y: expect.any(Number) });
      expect(p.targets.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets) expect(t.refId, p.title).toBeTruthy();
    }
  });

  it('references only the metric names of the public list (plus relais_process_*)', () => {
    expect(used.length).toBeGreaterThan(0);
    const unknown = used.filter((n) => !n.startsWith('relais_process_') && !CONTRACT_METRICS.includes(base(n)));
    expect(unknown).toEqual([]);
  });

  it('has a panel for every metric of the list', () => {
    const covered = new Set(used.map(base));
    expect(CONTRACT_METRICS.filter((m) => !covered.has(m))).toEqual([]);
  });

  it('only uses names the metrics registry really exports', async () => {
    const registry = new Registry();
    createMetrics(registry);
    const exported = new Set<string>();
    for (const m of await registry.getMetricsAsJSON()) {
      exported.add(m.name);
      if (['histogram', 'summary'].includes(String(m.type))) for (const s of ['_bucket', '_sum', '_count']) exported.add(m.name + s);
    }
    expect(used.filter((n) => !exported.has(n))).toEqual([]);
  });
});
