/**
 * Validates every request the fake receives against Mattermost's own OpenAPI description
 * (`../shared/specs/mattermost`, next to the repository): the method and path must be an operation of the
 * spec, and a JSON body must match the operation's `requestBody` schema. The fragments are concatenated as
 * `shared/specs/README.md` explains: introduction.yaml, every path file, definitions.yaml.
 *
 * When the directory is absent nothing is validated and `status` says so, so tests can print it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import AjvModule, { type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { parse } from 'yaml';

export interface SpecViolation {
  method: string;
  path: string;
  problem: string;
}

export interface SpecStatus {
  validated: boolean;
  /** Why validation was skipped, or which directory was used. */
  detail: string;
}

type Schema = Record<string, unknown>;

interface Operation {
  method: string;
  template: string;
  regex: RegExp;
  literals: number;
  body?: ValidateFunction;
}

/**
 * Endpoints the fake serves whose spec fragment is not among the shared files (`system.yaml` and
 * `groups.yaml` were not copied into shared/specs). They exist upstream; they are listed in
 * `unchecked` instead of being reported as violations.
 */
const OUTSIDE_SHARED_FRAGMENTS = [
  'GET /api/v4/system/ping',
  'GET /api/v4/groups',
  'GET /api/v4/groups/{group_id}/members',
];

/**
 * Known differences between the April 2024 spec and the server (and Client4), each with its reason.
 * The fix replaces the operation's body schema before compiling.
 */
const SCHEMA_EXCEPTIONS: Record<string, (schema: Schema) => Schema> = {
  // The spec types `props` as a string, but the server decodes `model.PostPatch.Props` as
  // `*StringInterface` (a JSON object) and Client4.patchPost sends an object.
  'PUT /api/v4/posts/{post_id}/patch': (s) => withProperty(s, 'props', { type: 'object' }),
  // The spec requires `user_id`; api4 addChannelMember also accepts `user_ids` (an array, sent by
  // Client4.addToChannels), with `user_id` then absent.
  'POST /api/v4/channels/{channel_id}/members': (s) => ({
    ...withProperty(s, 'user_ids', { type: 'array', items: { type: 'string' } }),
    required: [],
    anyOf: [{ required: ['user_id'] }, { required: ['user_ids'] }],
  }),
};

function withProperty(schema: Schema, name: string, prop: Schema): Schema {
  const props = { ...((schema.properties as Schema | undefined) ?? {}), [name]: prop };
  return { ...schema, properties: props };
}

/** Rewrites local `#/components/...` refs so they resolve against the registered components schema. */
function rebaseRefs(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rebaseRefs);
  if (node && typeof node === 'object') {
    const out: Schema = {};
    for (const [k, v] of Object.entries(node)) {
      out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `mattermost-openapi${v}` : rebaseRefs(v);
    }
    return out;
  }
  return node;
}

/** Parsing and compiling the spec takes a few hundred ms: done once per directory and process. */
const compiled = new Map<string, { operations: Operation[]; detail: string }>();

function compile(specDir: string): { operations: Operation[]; detail: string } {
  const cached = compiled.get(specDir);
  if (cached) return cached;
  const operations: Operation[] = [];
  const pathFiles = readdirSync(specDir)
    .filter((f) => f.endsWith('.yaml') && f !== 'introduction.yaml' && f !== 'definitions.yaml')
    .sort();
  const text = ['introduction.yaml', ...pathFiles, 'definitions.yaml']
    .map((f) => readFileSync(join(specDir, f), 'utf8'))
    .join('\n');
  const doc = parse(text) as { paths: Record<string, Record<string, Schema>>; components: Schema };
  const Ajv = AjvModule.default;
  const ajv = new Ajv({ strict: false, allErrors: true, logger: false });
  addFormatsModule.default(ajv);
  ajv.addSchema({ $id: 'mattermost-openapi', components: rebaseRefs(doc.components) as Schema });
  for (const [template, item] of Object.entries(doc.paths)) {
    const segments = template.split('/').filter(Boolean);
    const pattern = segments.map((s) => (s.startsWith('{') ? '[^/]+' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/');
    for (const method of ['get', 'post', 'put', 'delete', 'patch']) {
      const op = item[method] as Schema | undefined;
      if (!op) continue;
      const key = `${method.toUpperCase()} ${template}`;
      const content = (op.requestBody as { content?: Record<string, { schema?: Schema }> } | undefined)?.content;
      let schema = content?.['application/json']?.schema;
      if (schema && SCHEMA_EXCEPTIONS[key]) schema = SCHEMA_EXCEPTIONS[key](schema);
      operations.push({
        method: method.toUpperCase(),
        template,
        regex: new RegExp(`^/${pattern}$`),
        literals: segments.filter((s) => !s.startsWith('{')).length,
        body: schema ? ajv.compile(rebaseRefs(schema) as Schema) : undefined,
      });
    }
  }
  operations.sort((a, b) => b.literals - a.literals);
  const result = { operations, detail: `validated against ${pathFiles.length} path fragments in ${specDir} (${operations.length} operations)` };
  compiled.set(specDir, result);
  return result;
}

export class SpecValidator {
  readonly status: SpecStatus;
  readonly violations: SpecViolation[] = [];
  /** Requests to endpoints whose spec fragment is not in the shared directory (see above). */
  readonly unchecked: string[] = [];
  private operations: Operation[] = [];

  constructor(specDir: string | null) {
    if (!specDir || !existsSync(join(specDir, 'introduction.yaml')) || !existsSync(join(specDir, 'definitions.yaml'))) {
      this.status = { validated: false, detail: `Mattermost OpenAPI fragments not found at ${specDir ?? '(none)'}: requests are NOT validated against the spec` };
      return;
    }
    const { operations, detail } = compile(specDir);
    this.operations = operations;
    this.status = { validated: true, detail };
  }

  /** Checks one request; records a violation or an unchecked endpoint. Never throws. */
  check(method: string, path: string, contentType: string, body: Buffer): void {
    if (!this.status.validated) return;
    const op = this.operations.find((o) => o.method === method && o.regex.test(path));
    if (!op) {
      const template = OUTSIDE_SHARED_FRAGMENTS.find((t) => {
        const [m, p] = t.split(' ') as [string, string];
        return m === method && new RegExp(`^${p.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path);
      });
      if (template) this.unchecked.push(`${method} ${path}`);
      else this.violations.push({ method, path, problem: 'no such operation in the Mattermost OpenAPI spec' });
      return;
    }
    if (!op.body || !contentType.startsWith('application/json') || body.length === 0) return;
    let value: unknown;
    try {
      value = JSON.parse(body.toString('utf8'));
    } catch {
      this.violations.push({ method, path, problem: 'request body is not JSON' });
      return;
    }
    if (!op.body(value)) {
      const errors = (op.body.errors ?? []).map((e) => `${e.instancePath || '(body)'} ${e.message ?? ''}`).join('; ');
      this.violations.push({ method, path, problem: `body does not match ${op.method} ${op.template}: ${errors}` });
    }
  }
}
