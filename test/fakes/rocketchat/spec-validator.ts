/**
 * Checks every HTTP request the fake receives against Rocket.Chat's own OpenAPI files
 * (`../shared/specs/rocketchat/*.yaml`, each a standalone OpenAPI 3.0 document): the method and path
 * must be an operation of one of them, required query parameters must be present, a JSON body must
 * match the `application/json` requestBody schema (ajv, strict off, local `$ref`s resolved), and an
 * operation that only accepts `multipart/form-data` must get multipart with its required parts.
 * Header parameters (X-User-Id / X-Auth-Token) are not checked here: authentication is the server's
 * job and a missing header earns the real 401.
 *
 * When the directory is absent nothing is validated and `status.validated` is false, with the reason
 * in `status.detail`, so tests can say visibly that they skipped.
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
  detail: string;
}

type Schema = Record<string, unknown>;

/**
 * Paths the fake serves that no file in shared/specs/rocketchat describes, each with the reason.
 * Requests to them are listed in `unchecked`, not reported as violations.
 */
export const UNSPECIFIED_PATHS: { method: string; template: string; why: string }[] = [
  {
    method: 'GET',
    template: '/file-upload/{fileId}/{name}',
    why: 'file downloads are served by the web app (FileUpload handler), not by REST v1, so the OpenAPI files do not describe them',
  },
];

interface Operation {
  method: string;
  template: string;
  file: string;
  regex: RegExp;
  literals: number;
  requiredQuery: string[];
  jsonSchema?: Schema;
  multipartRequired?: string[];
  onlyMultipart: boolean;
  bodyRequired: boolean;
  validate?: ValidateFunction;
}

function templateRegex(template: string): RegExp {
  const pattern = template
    .split('/')
    .map((s) => (/^\{[^}]+\}$/.test(s) ? '[^/]+' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${pattern}$`);
}

function rebaseRefs(node: unknown, id: string): unknown {
  if (Array.isArray(node)) return node.map((n) => rebaseRefs(n, id));
  if (node && typeof node === 'object') {
    const out: Schema = {};
    for (const [k, v] of Object.entries(node)) out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `${id}${v}` : rebaseRefs(v, id);
    return out;
  }
  return node;
}

interface LoadedSpec {
  operations: Operation[];
  ajv: InstanceType<typeof AjvModule.default>;
  files: number;
}

/** Parsed once per process and directory: the files are large and never change during a run. */
const loaded = new Map<string, LoadedSpec>();

function loadSpec(specDir: string, files: string[]): LoadedSpec {
  const cached = loaded.get(specDir);
  if (cached) return cached;
  const Ajv = AjvModule.default;
  const ajv = new Ajv({ strict: false, allErrors: true, logger: false });
  addFormatsModule.default(ajv);
  const operations: Operation[] = [];
  for (const file of files) loadFile(ajv, operations, join(specDir, file), file);
  operations.sort((a, b) => b.literals - a.literals);
  const spec = { operations, ajv, files: files.length };
  loaded.set(specDir, spec);
  return spec;
}

function loadFile(ajv: LoadedSpec['ajv'], operations: Operation[], fullPath: string, file: string): void {
  const doc = parse(readFileSync(fullPath, 'utf8')) as { paths?: Record<string, Schema>; components?: Schema };
  const id = `rocketchat-${file}`;
  const components = (doc.components ?? {}) as Schema;
  ajv.addSchema({ $id: id, components: rebaseRefs(components, id) as Schema });
  const params = (components.parameters ?? {}) as Record<string, Schema>;
  const deref = (p: Schema): Schema => {
    const ref = p.$ref;
    if (typeof ref === 'string' && ref.startsWith('#/components/parameters/')) return params[ref.slice('#/components/parameters/'.length)] ?? {};
    return p;
  };
  for (const [template, item] of Object.entries(doc.paths ?? {})) {
    if (/\s/.test(template)) continue; // "/api/v1/login - with Facebook" and similar titles, not paths
    const pathParams = ((item.parameters as Schema[] | undefined) ?? []).map(deref);
    for (const method of ['get', 'post', 'put', 'delete', 'patch']) {
      const op = item[method] as Schema | undefined;
      if (!op) continue;
      const all = [...pathParams, ...((op.parameters as Schema[] | undefined) ?? []).map(deref)];
      const body = op.requestBody as { required?: boolean; content?: Record<string, { schema?: Schema }> } | undefined;
      const content = body?.content ?? {};
      const multipart = content['multipart/form-data']?.schema;
      operations.push({
        method: method.toUpperCase(),
        template,
        file,
        regex: templateRegex(template),
        literals: template.split('/').filter((s) => s && !s.startsWith('{')).length,
        requiredQuery: all.filter((p) => p.in === 'query' && p.required === true).map((p) => String(p.name)),
        jsonSchema: content['application/json']?.schema ? (rebaseRefs(content['application/json'].schema, id) as Schema) : undefined,
        multipartRequired: multipart ? ((multipart.required as string[] | undefined) ?? []) : undefined,
        onlyMultipart: Boolean(multipart) && Object.keys(content).length === 1,
        bodyRequired: body?.required === true,
      });
    }
  }
}

export class SpecValidator {
  readonly status: SpecStatus;
  readonly violations: SpecViolation[] = [];
  /** `METHOD path` of requests to allow-listed paths (see UNSPECIFIED_PATHS). */
  readonly unchecked: string[] = [];
  private operations: Operation[] = [];
  private ajv: LoadedSpec['ajv'] | undefined;

  constructor(specDir: string | null) {
    const files = specDir && existsSync(specDir) ? readdirSync(specDir).filter((f) => f.endsWith('.yaml')).sort() : [];
    if (!specDir || files.length === 0) {
      this.status = { validated: false, detail: `Rocket.Chat OpenAPI files not found at ${specDir ?? '(none)'}: requests are NOT validated against the spec` };
      return;
    }
    const spec = loadSpec(specDir, files);
    this.operations = spec.operations;
    this.ajv = spec.ajv;
    this.status = { validated: true, detail: `validated against ${spec.files} OpenAPI files in ${specDir} (${spec.operations.length} operations)` };
  }

  /** Is `METHOD path` an operation of the spec files? (false when validation is off) */
  hasOperation(method: string, path: string): boolean {
    return this.operations.some((o) => o.method === method && o.regex.test(path));
  }

  /** Checks one request and records what is wrong. Never throws. */
  async check(req: { method: string; path: string; query: Record<string, string>; contentType: string; body: Buffer }): Promise<void> {
    if (!this.status.validated) return;
    const { method, path } = req;
    const op = this.operations.find((o) => o.method === method && o.regex.test(path));
    if (!op) {
      if (UNSPECIFIED_PATHS.some((u) => u.method === method && templateRegex(u.template).test(path))) this.unchecked.push(`${method} ${path}`);
      else this.violations.push({ method, path, problem: 'no such operation in the Rocket.Chat OpenAPI files' });
      return;
    }
    const where = `${op.method} ${op.template} (${op.file})`;
    for (const name of op.requiredQuery) {
      if (!(name in req.query)) this.violations.push({ method, path, problem: `missing required query parameter "${name}" of ${where}` });
    }
    const media = req.contentType.split(';')[0]?.trim().toLowerCase() ?? '';
    if (op.onlyMultipart) {
      if (media !== 'multipart/form-data') {
        this.violations.push({ method, path, problem: `Content-Type "${req.contentType || '(none)'}" but ${where} only accepts multipart/form-data` });
        return;
      }
      try {
        const form = await new Request('http://fake.invalid/', { method: 'POST', headers: { 'content-type': req.contentType }, body: new Uint8Array(req.body) }).formData();
        for (const name of op.multipartRequired ?? []) {
          if (!form.has(name)) this.violations.push({ method, path, problem: `multipart part "${name}" required by ${where} is missing` });
        }
      } catch {
        this.violations.push({ method, path, problem: `multipart body of ${where} cannot be parsed` });
      }
      return;
    }
    if (!op.jsonSchema) return;
    if (req.body.length === 0 && method === 'GET') return;
    let value: unknown = {};
    if (req.body.length > 0) {
      if (media !== 'application/json') {
        this.violations.push({ method, path, problem: `Content-Type "${req.contentType || '(none)'}" but ${where} describes an application/json body` });
        return;
      }
      try {
        value = JSON.parse(req.body.toString('utf8'));
      } catch {
        this.violations.push({ method, path, problem: `body of ${where} is not JSON` });
        return;
      }
    } else if (op.bodyRequired) {
      this.violations.push({ method, path, problem: `${where} requires a request body` });
      return;
    }
    op.validate ??= this.ajv?.compile(op.jsonSchema);
    if (op.validate && !op.validate(value)) {
      const errors = (op.validate.errors ?? []).map((e) => `${e.instancePath || '(body)'} ${e.message ?? ''}`).join('; ');
      this.violations.push({ method, path, problem: `body does not match ${where}: ${errors}` });
    }
  }
}
