/**
 * The bot's realtime connection: `@mattermost/client`'s WebSocketClient over `ws`, turned into the port's
 * `listen()` contract.
 *
 * - Authentication: the token goes in the `Authorization: Bearer` header of every upgrade, so the server
 *   knows the session at upgrade time and can resume a dropped connection (`connection_id` +
 *   `sequence_number`, replaying what was missed). The client also sends the `authentication_challenge`,
 *   which the server ignores on a socket the header already authenticated; it authenticates through
 *   proxies that strip the header (then every reconnection is a new connection, and catch-up covers it).
 * - Reconnection: the client's own loop, tuned: `minRetryMs` (default 1 s) after the first failure,
 *   then `minRetryMs × failures²` capped at `maxRetryMs` (default 30 s), plus up to `jitterMs` (default
 *   1 s) of random jitter; a connection that answers nothing to an application ping within
 *   `pingIntervalMs` (30 s) is dropped and retried. In 11.9 `maxWebSocketFails` only decides when the
 *   backoff starts (we set 0: from the first failure); the client retries without end. A watchdog
 *   re-initialises the client should it ever be left without a socket and without a retry timer.
 * - A connection counts as established at its first frame that is an event (`hello` or a replayed one)
 *   or an `OK` reply (the challenge's or the first ping's): an unauthenticated socket never is.
 * - Event timing: one queue, drained one task at a time. On every established connection the task
 *   `onConnected({reconnect})` is queued before any event of that connection, so that connection's
 *   live events wait (buffered, in order) until it has resolved; each `onEvent` is awaited before the
 *   next event is mapped. Rejections are logged and the queue goes on.
 * - Stopping closes the socket, cancels any retry, drops queued events and waits for the handler under
 *   way (unless called from inside a handler); nothing is delivered afterwards.
 *
 * Message text is never logged; the socket's error events reach the client's console output reduced to
 * their message (no request headers, so no token).
 */
import mm from '@mattermost/client';
import type { WebSocketMessage } from '@mattermost/client';
import WebSocket from 'ws';
import type { AgentEvent, ChatListenHandlers } from '../platform.js';
import { EventDelivery } from '../event-delivery.js';
import type { Logger } from '../../log.js';
import { ensureWebSocketGlobals } from './ws-globals.js';

export interface ListenerSettings {
  minRetryMs: number;
  maxRetryMs: number;
  jitterMs: number;
  pingIntervalMs: number;
  handshakeTimeoutMs: number;
}

export const DEFAULT_LISTENER_SETTINGS: ListenerSettings = {
  minRetryMs: 1000,
  maxRetryMs: 30_000,
  jitterMs: 1000,
  pingIntervalMs: 30_000,
  handshakeTimeoutMs: 30_000,
};

export interface ListenerDeps {
  /** Server base URL (`https://chat.example.com`). */
  url: string;
  token: string;
  logger: Logger;
  settings: ListenerSettings;
  /** The port's event for a WebSocket event, or null to ignore it. May do REST I/O; throws RelaisError. */
  toEvent(msg: WebSocketMessage): Promise<AgentEvent | null>;
}

/** `http(s)://host/base` → `ws(s)://host/base/api/v4/websocket`. */
export function webSocketUrl(base: string): string {
  const u = new URL(base.replace(/\/+$/, '') + '/api/v4/websocket');
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.toString();
}

interface SocketHooks {
  established(): void;
  closed(wasEstablished: boolean, code: number): void;
}

/**
 * What WebSocketClient sees as its `WebSocket`: a `ws` socket with the bot's header, whose events are
 * forwarded in the DOM shape the client expects. It notices the first meaningful frame (see above),
 * never throws from its constructor (a bad URL becomes an asynchronous close, so the client retries),
 * stops forwarding frames once the client has closed it (the client has moved on to a new socket by
 * then), and can be detached: silenced and terminated without the client hearing about it.
 */
class BotSocket {
  onopen: (() => void) | null = null;
  onclose: ((ev: { code: number; reason: string; wasClean: boolean }) => void) | null = null;
  onerror: ((ev: { type: string; message: string }) => void) | null = null;
  onmessage: ((ev: { data: string }) => void) | null = null;
  private readonly ws: WebSocket | null = null;
  private established = false;
  /** The client closed it (ping timeout, sequence gap, stop): it no longer wants its frames. */
  private closing = false;
  private detached = false;

  constructor(url: string, token: string, handshakeTimeout: number, private readonly hooks: SocketHooks) {
    try {
      this.ws = new WebSocket(url, { headers: { Authorization: `Bearer ${token}`, 'User-Agent': 'relais' }, handshakeTimeout });
    } catch {
      setImmediate(() => this.closed(1006, 'invalid WebSocket URL'));
      return;
    }
    const ws = this.ws;
    ws.on('open', () => {
      if (!this.detached && !this.closing) this.onopen?.();
    });
    ws.on('message', (raw: WebSocket.RawData) => {
      if (this.detached || this.closing) return;
      const data = Buffer.isBuffer(raw) ? raw.toString('utf8') : Array.isArray(raw) ? Buffer.concat(raw).toString('utf8') : Buffer.from(raw).toString('utf8');
      if (!this.established && meaningful(data)) {
        this.established = true;
        this.hooks.established();
      }
      this.onmessage?.({ data });
    });
    ws.on('error', (err: Error) => {
      if (!this.detached && !this.closing) this.onerror?.({ type: 'error', message: err.message });
    });
    ws.on('close', (code: number, reason: Buffer) => this.closed(code, reason.toString('utf8')));
  }

  get readyState(): number {
    return this.ws?.readyState ?? WebSocket.CLOSED;
  }

  send(data: string): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(data);
  }

  close(): void {
    this.closing = true;
    this.ws?.close();
  }

  /** Stops forwarding anything and drops the connection (used when listening stops). */
  detach(): void {
    this.detached = true;
    this.ws?.terminate();
  }

  private closed(code: number, reason: string): void {
    if (this.detached) return;
    this.detached = true;
    this.hooks.closed(this.established, code);
    this.onclose?.({ code, reason, wasClean: code === 1000 });
  }
}

function meaningful(data: string): boolean {
  try {
    const msg = JSON.parse(data) as { event?: unknown; status?: unknown };
    return typeof msg.event === 'string' || msg.status === 'OK';
  } catch {
    return false;
  }
}

const RELEVANT = new Set(['posted', 'reaction_added', 'reaction_removed']);

/** See `ChatAgentSide.listen`. Resolves once the first connection is established or has failed once. */
export function listen(deps: ListenerDeps, handlers: ChatListenHandlers): Promise<() => Promise<void>> {
  ensureWebSocketGlobals();
  const { logger, settings } = deps;
  const url = webSocketUrl(deps.url);
  const sockets = new Set<BotSocket>();
  const delivery = new EventDelivery<WebSocketMessage>(handlers, async (msg) => {
    const event = await deps.toEvent(msg);
    return event ? [event] : [];
  }, logger, 'mattermost');
  let stopped = false;
  let everEstablished = false;
  let failures = 0;
  let settleFirst: () => void = () => undefined;
  const first = new Promise<void>((resolve) => {
    settleFirst = resolve;
  });

  const hooks: SocketHooks = {
    established() {
      if (stopped) return;
      const reconnect = everEstablished;
      everEstablished = true;
      failures = 0;
      logger.info({ reconnect }, 'mattermost websocket connected');
      delivery.connected(reconnect);
      settleFirst();
    },
    closed(wasEstablished, code) {
      if (stopped) return;
      if (wasEstablished) {
        logger.warn({ code }, 'mattermost websocket closed; reconnecting');
      } else {
        failures++;
        if (failures === 1 || failures % 10 === 0) {
          logger.warn({ code, attempts: failures }, 'mattermost websocket connection failed; retrying with backoff');
        }
      }
      settleFirst();
    },
  };

  const client = new mm.WebSocketClient({
    maxWebSocketFails: 0,
    minWebSocketRetryTime: settings.minRetryMs,
    maxWebSocketRetryTime: settings.maxRetryMs,
    reconnectJitterRange: settings.jitterMs,
    clientPingInterval: settings.pingIntervalMs,
    newWebSocketFn: (socketUrl: string) => {
      const socket: BotSocket = new BotSocket(socketUrl, deps.token, settings.handshakeTimeoutMs, {
        established: hooks.established,
        closed: (wasEstablished, code) => {
          sockets.delete(socket);
          hooks.closed(wasEstablished, code);
        },
      });
      sockets.add(socket);
      return socket as unknown as globalThis.WebSocket;
    },
  });
  client.addMessageListener((msg) => {
    if (RELEVANT.has(msg.event)) delivery.event(msg);
  });
  // Also what makes the client adopt a new connection id (and reset its sequence) after a restart.
  client.addMissedMessageListener(() => logger.info('mattermost websocket events were missed; catching up through REST'));
  client.initialize(url, deps.token);
  // The client retries on its own; this only restarts it if it were ever left idle. `initialize` does
  // nothing while a socket exists or a retry is scheduled.
  const watchdog = setInterval(() => {
    if (!stopped) client.initialize(url, deps.token);
  }, Math.max(settings.maxRetryMs + settings.jitterMs, 1000) * 2);
  watchdog.unref();

  const stop = async (): Promise<void> => {
    if (!stopped) {
      stopped = true;
      clearInterval(watchdog);
      client.close();
      for (const s of sockets) s.detach();
      sockets.clear();
      settleFirst();
    }
    // Waits for the handler under way, unless this is that handler stopping its own listener.
    await delivery.stop();
  };

  return first.then(() => stop);
}
