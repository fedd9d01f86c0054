/**
 * A small router for the fake: path templates in the OpenAPI spelling (`/api/v4/posts/{post_id}`), literal
 * segments winning over parameters (so `/users/usernames` is not `/users/{user_id}`), and the reply shapes
 * the real server writes (JSON with exactly `Content-Type: application/json`, which Client4 compares
 * literally, or raw bytes for file downloads).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { UserProfile } from '@mattermost/types/users';
import { invalidBody } from './errors.js';

export interface Ctx {
  method: string;
  path: string;
  query: URLSearchParams;
  params: Record<string, string>;
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
  /** The session user; set for every route registered with `auth: true`. */
  user: UserProfile;
}

export type Reply =
  | { status: number; json: unknown }
  | { status: number; bytes: Uint8Array; headers: Record<string, string> };

export type Handler = (ctx: Ctx) => Reply | Promise<Reply>;

interface Route {
  method: string;
  template: string;
  segments: string[];
  literals: number;
  auth: boolean;
  handler: Handler;
}

export const json = (status: number, body: unknown): Reply => ({ status, json: body });
export const statusOk = (): Reply => json(200, { status: 'OK' });

/** Parses the JSON body or answers 400 like the real handlers do for unreadable input. */
export function bodyJson(ctx: Ctx, name: string): unknown {
  try {
    return JSON.parse(ctx.rawBody.toString('utf8'));
  } catch {
    throw invalidBody(name);
  }
}

export function bodyObject(ctx: Ctx, name: string): Record<string, unknown> {
  const v = bodyJson(ctx, name);
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw invalidBody(name);
  return v as Record<string, unknown>;
}

export class Router {
  private routes: Route[] = [];

  add(method: string, template: string, handler: Handler, opts: { auth?: boolean } = {}): void {
    const segments = template.split('/').filter(Boolean);
    const literals = segments.filter((s) => !s.startsWith('{')).length;
    this.routes.push({ method, template, segments, literals, auth: opts.auth ?? true, handler });
    this.routes.sort((a, b) => b.literals - a.literals);
  }

  /** The route for this request, `'method'` if the path exists under another method, or undefined. */
  match(method: string, path: string):
    | { route: Route; params: Record<string, string> }
    | 'method'
    | undefined {
    const parts = path.split('/').filter(Boolean);
    let pathExists = false;
    for (const r of this.routes) {
      if (r.segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < parts.length; i++) {
        const seg = r.segments[i] as string;
        const part = parts[i] as string;
        if (seg.startsWith('{')) params[seg.slice(1, -1)] = decodeURIComponent(part);
        else if (seg !== part) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      pathExists = true;
      if (r.method === method) return { route: r, params };
    }
    return pathExists ? 'method' : undefined;
  }
}
