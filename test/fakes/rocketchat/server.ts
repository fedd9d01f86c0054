/**
 * The HTTP side of the fake: reads each request whole, logs it, applies injected faults, checks it
 * against the OpenAPI files, authenticates (`X-User-Id` + `X-Auth-Token`, else the pre-8.0 401 body),
 * applies the rate limiter, runs the route and writes the reply the way REST v1 does
 * (`Content-Type: application/json`). WebSocket upgrades on `/websocket` go to the DDP hub.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { restErrorReply } from './errors.js';
import type { Faults } from './faults.js';
import { parseBodyParams, type Ctx, type Reply, type Router } from './http.js';
import type { RestRateLimiter } from './rate-limit.js';
import type { SpecValidator } from './spec-validator.js';
import type { FakeState } from './state.js';

export interface RequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string;
  /** Parsed JSON body, when the request had one. */
  json?: unknown;
  /** The authenticated user's id, if the headers carried valid credentials. */
  userId?: string;
  status?: number;
  /** `'reset'` when the socket was destroyed after the work (resetAfterAccept). */
  fault?: 'fail' | 'reset';
}

export interface ServerDeps {
  state: FakeState;
  router: Router;
  faults: Faults;
  spec: SpecValidator;
  limiter: RestRateLimiter;
  requests: RequestRecord[];
  siteUrl: () => string;
  onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Is this path+method an operation of the spec (answered 501 when the fake lacks it)? */
  isSpecified: (method: string, path: string) => boolean;
}

const UNAUTHORIZED_BODY = {
  success: false,
  error: 'You must be logged in to do this.',
  status: 'error',
  message: 'You must be logged in to do this.',
};

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function write(res: ServerResponse, reply: Reply): void {
  if ('bytes' in reply) {
    res.writeHead(reply.status, reply.headers);
    res.end(reply.bytes);
    return;
  }
  const text = JSON.stringify(reply.json);
  res.writeHead(reply.status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', Pragma: 'no-cache', 'Content-Length': Buffer.byteLength(text), ...reply.headers });
  res.end(text);
}

export function createFakeHttpServer(deps: ServerDeps): Server {
  const { state, router, faults, spec, limiter, requests } = deps;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://fake.invalid');
    const method = (req.method ?? 'GET').toUpperCase();
    const path = url.pathname;
    const query = Object.fromEntries(url.searchParams);
    const contentType = String(req.headers['content-type'] ?? '');
    const record: RequestRecord = { method, path, query, contentType };
    if (contentType.startsWith('application/json') && raw.length) {
      try {
        record.json = JSON.parse(raw.toString('utf8'));
      } catch {
        /* recorded without json */
      }
    }
    const authUser = state.authenticate(req.headers['x-user-id'] as string | undefined, req.headers['x-auth-token'] as string | undefined);
    if (authUser) record.userId = authUser._id;
    requests.push(record);

    await spec.check({ method, path, query, contentType, body: raw });

    const injected = faults.take('fail', method, path);
    if (injected?.fail) {
      record.fault = 'fail';
      record.status = injected.fail.status;
      write(res, { status: injected.fail.status, json: injected.fail.body ?? { success: false, error: 'fake: injected failure' }, headers: injected.fail.headers });
      return;
    }
    const reset = faults.take('reset', method, path);

    const reply = await route(req, { method, path, query, contentType, raw, authUser });
    record.status = reply.status;
    if (reset) {
      record.fault = 'reset';
      req.socket.destroy();
      return;
    }
    write(res, reply);
  }

  async function route(
    req: IncomingMessage,
    r: { method: string; path: string; query: Record<string, string>; contentType: string; raw: Buffer; authUser: ReturnType<FakeState['authenticate']> },
  ): Promise<Reply> {
    const match = router.match(r.method, r.path);
    if (!match) {
      if (deps.isSpecified(r.method, r.path)) return { status: 501, json: { success: false, error: `fake: ${r.method} ${r.path} is not implemented by the Rocket.Chat fake` } };
      if (r.path.startsWith('/api/')) return { status: 404, json: { status: 'error', message: 'API endpoint does not exist' } };
      return { status: 404, bytes: Buffer.from('Not found'), headers: { 'Content-Type': 'text/plain' } };
    }
    const { route: rt, params } = match;
    if (rt.auth && !r.authUser) return { status: 401, json: UNAUTHORIZED_BODY };
    let rateHeaders: Record<string, string> = {};
    try {
      if (r.path.startsWith('/api/v1/')) {
        const bypass = r.authUser ? state.hasPermission(r.authUser._id, 'api-bypass-rate-limit') : false;
        rateHeaders = limiter.enforce(rt.name, r.method, req.socket.remoteAddress ?? '', bypass);
      }
      // An unreadable body leaves the body params empty (the route then reports what it misses);
      // rooms.media reads the raw request itself, so a JSON Content-Type reaches busboy's check.
      let body: Record<string, unknown> = {};
      try {
        body = parseBodyParams(r.contentType, r.raw);
      } catch {
        /* keep {} */
      }
      const ctx: Ctx = {
        method: r.method,
        path: r.path,
        query: r.query,
        params,
        headers: req.headers,
        rawBody: r.raw,
        contentType: r.contentType,
        ip: req.socket.remoteAddress ?? '',
        body,
        user: r.authUser as NonNullable<typeof r.authUser>,
        token: String(req.headers['x-auth-token'] ?? ''),
        siteUrl: deps.siteUrl(),
      };
      const reply = await rt.handler(ctx);
      return { ...reply, headers: { ...rateHeaders, ...reply.headers } } as Reply;
    } catch (e) {
      const headers = { ...rateHeaders, ...((e as { rateLimitHeaders?: Record<string, string> }).rateLimitHeaders ?? {}) };
      const { status, body } = restErrorReply(e);
      return { status, json: body, headers };
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) write(res, { status: 500, json: { success: false, error: `fake: ${e instanceof Error ? e.message : String(e)}` } });
    });
  });
  server.on('upgrade', (req, socket, head) => deps.onUpgrade(req, socket, head));
  return server;
}
