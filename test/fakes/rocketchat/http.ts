/**
 * Routing and request helpers for the REST v1 side: OpenAPI-style templates
 * (`/api/v1/rooms.media/{rid}`), the request context handed to routes, reply constructors, and the
 * multipart reader with busboy's own errors (the server parses uploads with busboy, so a JSON
 * Content-Type on `rooms.media` fails with `Unsupported content type: application/json`).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { MeteorError } from './errors.js';
import type { UserDoc } from './state.js';

export interface Ctx {
  method: string;
  path: string;
  query: Record<string, string>;
  params: Record<string, string>;
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
  contentType: string;
  ip: string;
  /** JSON (or urlencoded) body parameters; `{}` for other bodies. */
  body: Record<string, unknown>;
  /** Set for every route registered with `auth: true` (the default). */
  user: UserDoc;
  token: string;
  siteUrl: string;
}

export type Reply =
  | { status: number; json: unknown; headers?: Record<string, string> }
  | { status: number; bytes: Buffer; headers: Record<string, string> };

export type Handler = (ctx: Ctx) => Reply | Promise<Reply>;

/** `API.v1.success(result)`: 200 with `success: true` added. */
export function ok(body: Record<string, unknown> = {}): Reply {
  return { status: 200, json: { ...body, success: true } };
}

export interface Route {
  method: string;
  template: string;
  /** The route name as the server registers it (`rooms.media/:rid`), used by the rate limiter. */
  name: string;
  auth: boolean;
  handler: Handler;
  regex: RegExp;
  keys: string[];
}

export class Router {
  private routes: Route[] = [];

  add(method: string, template: string, handler: Handler, opts: { auth?: boolean } = {}): void {
    const keys: string[] = [];
    const pattern = template
      .split('/')
      .map((seg) => {
        const m = /^\{(.+)\}$/.exec(seg);
        if (!m) return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        keys.push(m[1] as string);
        return '([^/]+)';
      })
      .join('/');
    const name = template.replace(/^\/api\/v1\//, '').replace(/\{([^}]+)\}/g, ':$1');
    this.routes.push({ method, template, name, auth: opts.auth ?? true, handler, regex: new RegExp(`^${pattern}$`), keys });
  }

  match(method: string, path: string): { route: Route; params: Record<string, string> } | undefined {
    for (const r of this.routes) {
      if (r.method !== method) continue;
      const m = r.regex.exec(path);
      if (!m) continue;
      const params: Record<string, string> = {};
      r.keys.forEach((k, i) => (params[k] = decodeURIComponent(m[i + 1] as string)));
      return { route: r, params };
    }
    return undefined;
  }
}

/** Body parameters as the server reads them (JSON, or urlencoded forms). */
export function parseBodyParams(contentType: string, raw: Buffer): Record<string, unknown> {
  if (raw.length === 0) return {};
  if (contentType.startsWith('application/json')) {
    const v: unknown = JSON.parse(raw.toString('utf8'));
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  }
  if (contentType.startsWith('application/x-www-form-urlencoded')) {
    return Object.fromEntries(new URLSearchParams(raw.toString('utf8')));
  }
  return {};
}

export interface FormUpload {
  file: { name: string; type: string; data: Buffer; field: string };
  fields: Record<string, string>;
}

/**
 * `getUploadFormData({request}, {field})`: exactly one file in `field`. Errors are busboy's
 * (`Malformed content type`, `Unsupported content type: <header>`, `Multipart: Boundary not found`)
 * or the server's (`invalid-field`, `No file uploaded`, `Just 1 file is allowed`).
 */
export async function readUploadForm(contentTypeHeader: string | undefined, raw: Buffer, field = 'file'): Promise<FormUpload> {
  const ct = (contentTypeHeader ?? '').trim();
  const mediaType = ct.split(';')[0]?.trim().toLowerCase() ?? '';
  if (!ct || !/^[\w!#$%&'*+.^`|~-]+\/[\w!#$%&'*+.^`|~-]+$/.test(mediaType)) throw new Error('Malformed content type');
  if (mediaType === 'application/x-www-form-urlencoded') throw new MeteorError('No file uploaded');
  if (mediaType !== 'multipart/form-data') throw new Error(`Unsupported content type: ${ct}`);
  if (!/;\s*boundary=/i.test(ct)) throw new Error('Multipart: Boundary not found');
  let form: FormData;
  try {
    form = await new Request('http://fake.invalid/', { method: 'POST', headers: { 'content-type': ct }, body: new Uint8Array(raw) }).formData();
  } catch {
    throw new Error('Unexpected end of form');
  }
  const fields: Record<string, string> = {};
  let file: FormUpload['file'] | undefined;
  const entries: [string, FormDataEntryValue][] = [];
  form.forEach((value, name) => entries.push([name, value]));
  for (const [name, value] of entries) {
    if (typeof value === 'string') {
      fields[name] = value;
      continue;
    }
    if (name !== field) throw new MeteorError('invalid-field');
    if (file) throw new Error('Just 1 file is allowed');
    file = { name: value.name, type: value.type, data: Buffer.from(await value.arrayBuffer()), field: name };
  }
  if (!file) throw new MeteorError('No file uploaded');
  return { file, fields };
}

/** Reads `name=value` pairs from a Cookie header. */
export function cookie(headers: IncomingHttpHeaders, name: string): string | undefined {
  for (const part of (headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}
