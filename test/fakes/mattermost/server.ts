/**
 * The HTTP side of the fake: reads each request whole, logs it, validates it against the spec, applies
 * injected faults, authenticates (`Authorization: Bearer|Token <token>`, or `access_token`), routes, and
 * answers like the real server (AppError bodies, `X-Request-Id`, `X-Version-Id`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { FakeAppError, sessionExpired } from './errors.js';
import type { Faults } from './faults.js';
import type { Reply, Router } from './http.js';
import type { SpecValidator } from './spec-validator.js';
import { type FakeState, newId } from './state.js';
import type { WebSocketHub } from './websocket.js';

export interface RequestRecord {
  method: string;
  path: string;
  query: string;
  /** Status answered, or `'reset'` / `'hang'` when the fake answered nothing. */
  status: number | 'reset' | 'hang';
  userId?: string;
  at: number;
}

export interface ServerDeps {
  state: FakeState;
  router: Router;
  faults: Faults;
  spec: SpecValidator;
  hub: WebSocketHub;
  serverVersion: string;
  requests: RequestRecord[];
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function tokenOf(req: IncomingMessage, query: URLSearchParams): string | undefined {
  const header = String(req.headers.authorization ?? '');
  const m = /^(Bearer|Token)\s+(.+)$/i.exec(header);
  if (m) return m[2];
  return query.get('access_token') ?? undefined;
}

export function createFakeServer(deps: ServerDeps): { server: Server; hanging: Set<ServerResponse> } {
  const { state, router, faults, spec, requests, serverVersion } = deps;
  const hanging = new Set<ServerResponse>();

  const write = (res: ServerResponse, requestId: string, reply: Reply): void => {
    const base = { 'X-Request-Id': requestId, 'X-Version-Id': `${serverVersion}.${serverVersion}.fake.false` };
    if ('json' in reply) {
      const body = JSON.stringify(reply.json);
      res.writeHead(reply.status, { ...base, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    } else {
      res.writeHead(reply.status, { ...base, ...reply.headers, 'Content-Length': reply.bytes.byteLength });
      res.end(Buffer.from(reply.bytes.buffer, reply.bytes.byteOffset, reply.bytes.byteLength));
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = (req.method ?? 'GET').toUpperCase();
    const path = url.pathname;
    const requestId = newId();
    const record: RequestRecord = { method, path, query: url.search, status: 0, at: Date.now() };
    requests.push(record);
    const rawBody = await readBody(req);
    spec.check(method, path, String(req.headers['content-type'] ?? ''), rawBody);

    if (faults.take('hang', method, path)) {
      record.status = 'hang';
      hanging.add(res);
      res.on('close', () => hanging.delete(res));
      return;
    }
    const fail = faults.take('fail', method, path)?.fail;
    if (fail) {
      record.status = fail.status;
      const body = fail.body ?? new FakeAppError(fail.status, 'fake.injected_failure', 'Failure injected by the test.').toBody(requestId);
      const text = JSON.stringify(body);
      res.writeHead(fail.status, { 'Content-Type': 'application/json', 'X-Request-Id': requestId, ...(fail.headers ?? {}) });
      res.end(text);
      return;
    }

    let reply: Reply;
    try {
      const found = router.match(method, path);
      if (found === undefined || found === 'method') {
        throw found === 'method'
          ? new FakeAppError(501, 'fake.not_implemented', `The Mattermost fake does not implement ${method} ${path}.`)
          : new FakeAppError(404, 'api.context.404.app_error', 'Sorry, we could not find the page.');
      }
      let user = undefined;
      if (found.route.auth) {
        const token = tokenOf(req, url.searchParams);
        const userId = token ? state.tokens.get(token) : undefined;
        user = userId ? state.users.get(userId) : undefined;
        if (!user || user.delete_at !== 0) throw sessionExpired();
        record.userId = user.id;
      }
      reply = await found.route.handler({
        method, path, query: url.searchParams, params: found.params, headers: req.headers, rawBody,
        user: user as NonNullable<typeof user>,
      });
    } catch (err) {
      const appErr = err instanceof FakeAppError
        ? err
        : new FakeAppError(500, 'fake.internal_error', `The Mattermost fake failed: ${(err as Error).message}`);
      reply = { status: appErr.status, json: appErr.toBody(requestId) };
    }

    if (faults.take('reset', method, path)) {
      // The request was processed (e.g. the post exists now) but the client never learns it.
      record.status = 'reset';
      req.socket.destroy();
      return;
    }
    record.status = reply.status;
    write(res, requestId, reply);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(new FakeAppError(500, 'fake.internal_error', String(err)).toBody('')));
      }
    });
  });
  server.on('upgrade', (req, socket, head) => deps.hub.handleUpgrade(req, socket, head));
  return { server, hanging };
}
