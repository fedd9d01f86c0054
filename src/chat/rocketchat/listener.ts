/**
 * The bot's realtime connection: `@rocket.chat/sdk`'s DDP driver (a plain WebSocket at `/websocket`),
 * subscribed to `stream-room-messages` / `__my_messages__` (every room the bot is in), turned into the
 * port's `listen()` contract.
 *
 * - Login: the SDK logs in again on every (re)connection when its socket holds a login result, so
 *   the personal access token is put there before the first connection (`{resume: token}` is what
 *   goes on the wire). The SDK's own `login()` is never called: it logs the credentials. Every SDK log
 *   line goes through `sdk-logger.ts`, which never lets a secret through. A refused login is logged
 *   (code only) and retried after `reconnectMs`.
 * - Reconnection is the SDK's: after a drop it waits `reconnectMs` (its default 10 s), reconnects,
 *   logs in and re-subscribes. It keeps the records of the dead connection's subscriptions and
 *   re-creates them too, so from the second reconnection on every message would arrive twice, then
 *   four times…: after each login the records of the previous connection are dropped and duplicate
 *   live subscriptions unsubscribed (`pruneSubscriptions`, on by default). Messages are also
 *   de-duplicated by `_id` downstream (agent-side.ts), whatever happens.
 * - Event timing: one queue, drained one task at a time. A connection counts as established when its
 *   login and subscription are done; messages that arrive before (between the socket opening and the
 *   login completing) are buffered. On every established connection the task
 *   `onConnected({reconnect})` is queued before that connection's buffered and live messages, so they
 *   wait until it has resolved; each `onEvent` is awaited before the next event. Rejections are logged
 *   (code only) and the queue goes on.
 * - Stopping disables the SDK's reconnection, drops the socket and queued events, and waits for the
 *   handler under way (unless called from inside a handler); nothing is delivered afterwards.
 *
 * Message text and credentials are never logged.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Rocketchat } from '@rocket.chat/sdk';
import type { AgentEvent, ChatListenHandlers } from '../platform.js';
import { errorCode, isRetryable } from '../../core/errors.js';
import type { Logger } from '../../log.js';
import { sdkLogger } from './sdk-logger.js';
import type { RcMessage } from './wire.js';

export interface RealtimeSettings {
  /** Delay before the SDK reconnects after a drop (its default: 10 000 ms). */
  reconnectMs: number;
  /** Drop the SDK's stale and duplicate subscription records after each reconnection (see above). */
  pruneSubscriptions: boolean;
}

export const DEFAULT_REALTIME_SETTINGS: RealtimeSettings = { reconnectMs: 10_000, pruneSubscriptions: true };

export interface ListenerDeps {
  url: string;
  userId: string;
  token: string;
  logger: Logger;
  settings: RealtimeSettings;
  /** The port's events for one streamed message (none for a re-delivery). May do REST I/O; throws RelaisError. */
  toEvents(message: RcMessage): Promise<AgentEvent[]>;
}

/** What this module uses of the SDK's DDP socket (`lib/drivers/ddp.js`, class Socket). */
interface SdkSocket {
  resume: { id: string; token: string } | null;
  subscriptions: Record<string, { id: string; name: string; params: unknown[] }>;
  connection?: { terminate?: () => void; close: (code?: number, reason?: string) => void };
  openTimeout?: ReturnType<typeof setTimeout>;
  reopenInterval?: ReturnType<typeof setInterval>;
  pingTimeout?: ReturnType<typeof setTimeout>;
  on(event: string, cb: (data: never) => void): void;
  login(credentials: unknown): Promise<unknown>;
  reopen(): Promise<void>;
  open(ms?: number): Promise<unknown>;
  subscribe(name: string, params: unknown[]): Promise<{ id: string }>;
  unsubscribe(id: string): Promise<unknown>;
}

/** What this module uses of the SDK's DDP driver. */
interface SdkDriver {
  ddp: SdkSocket;
  connect(options?: Record<string, unknown>): Promise<unknown>;
}

type Task = { kind: 'connected'; reconnect: boolean } | { kind: 'message'; message: RcMessage };

const STREAM = 'stream-room-messages';
const MY_MESSAGES = '__my_messages__';
/** How often and how long mapping a message is retried when its REST look-ups fail transiently. */
const MAP_RETRY_DELAYS_MS = [250, 1000];

/** See `ChatAgentSide.listen`. Resolves once the first connection is established or has failed once. */
export async function listen(deps: ListenerDeps, handlers: ChatListenHandlers): Promise<() => Promise<void>> {
  const { logger, settings } = deps;
  const base = new URL(deps.url.replace(/\/+$/, ''));
  const client = new Rocketchat({
    host: `${base.host}${base.pathname === '/' ? '' : base.pathname}`,
    useSsl: base.protocol === 'https:',
    protocol: 'ddp',
    logger: sdkLogger(logger, [deps.token]),
    reopen: settings.reconnectMs,
  });
  const driver = (await (client as unknown as { socket: Promise<SdkDriver> }).socket);
  const ddp = driver.ddp;

  const queue: Task[] = [];
  const insideHandler = new AsyncLocalStorage<boolean>();
  let stopped = false;
  let up = false;
  let everUp = false;
  let buffer: RcMessage[] = [];
  let previousSubs = new Set<string>();
  let loginFailures = 0;
  let draining = false;
  let idle: Promise<void> = Promise.resolve();
  let settleFirst: () => void = () => undefined;
  const first = new Promise<void>((resolve) => {
    settleFirst = resolve;
  });

  const enqueue = (task: Task): void => {
    if (stopped) return;
    queue.push(task);
    if (!draining) {
      draining = true;
      idle = drain();
    }
  };

  const drain = async (): Promise<void> => {
    try {
      while (!stopped && queue.length > 0) {
        const task = queue.shift() as Task;
        await insideHandler.run(true, () => run(task));
      }
    } finally {
      draining = false;
    }
  };

  const run = async (task: Task): Promise<void> => {
    if (task.kind === 'connected') {
      try {
        await handlers.onConnected({ reconnect: task.reconnect });
      } catch (err) {
        logger.warn({ code: errorCode(err) }, 'rocketchat onConnected handler failed');
      }
      return;
    }
    for (const event of await mapMessage(task.message)) {
      if (stopped) return;
      try {
        await handlers.onEvent(event);
      } catch (err) {
        logger.warn({ code: errorCode(err), kind: event.kind }, 'agent event handler failed; the event is caught up later');
      }
    }
  };

  const mapMessage = async (message: RcMessage): Promise<AgentEvent[]> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await deps.toEvents(message);
      } catch (err) {
        const delay = MAP_RETRY_DELAYS_MS[attempt];
        if (delay === undefined || !isRetryable(err) || stopped) {
          logger.warn({ code: errorCode(err) }, 'rocketchat message could not be read; it is caught up at the next connection');
          return [];
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  };

  // The SDK logs in with this on every (re)connection; `{resume: token}` goes on the wire.
  ddp.resume = { id: deps.userId, token: deps.token };
  const sdkLogin = ddp.login;
  ddp.login = async (credentials: unknown) => {
    try {
      const result = await sdkLogin(credentials);
      loginFailures = 0;
      return result;
    } catch (err) {
      loginFailures++;
      if (loginFailures === 1 || loginFailures % 10 === 0) {
        const code = (err as { error?: unknown })?.error;
        logger.warn({ code: typeof code === 'string' || typeof code === 'number' ? code : undefined, attempts: loginFailures }, 'rocketchat realtime login refused; check ROCKETCHAT_USER_ID and ROCKETCHAT_TOKEN; retrying');
      }
      settleFirst();
      if (!stopped) setTimeout(() => void (stopped ? undefined : ddp.reopen()), settings.reconnectMs).unref();
      return null;
    }
  };

  ddp.on('open', () => {
    if (stopped) return;
    up = false;
    buffer = [];
    previousSubs = new Set(Object.keys(ddp.subscriptions));
  });

  ddp.on('login', () => {
    if (stopped) return;
    established().catch((err: unknown) => {
      // A connection without its subscription delivers nothing: start over after the usual delay.
      logger.warn({ code: errorCode(err) }, 'rocketchat realtime subscription failed; reconnecting');
      settleFirst();
      if (!stopped) setTimeout(() => void (stopped ? undefined : ddp.reopen()), settings.reconnectMs).unref();
    });
  });

  ddp.on('close', (e: { code?: number }) => {
    if (stopped) return;
    const wasUp = up;
    up = false;
    buffer = [];
    logger.warn({ code: e?.code }, wasUp ? 'rocketchat realtime connection closed; the SDK reconnects' : 'rocketchat realtime connection failed; the SDK retries');
    settleFirst();
  });

  ddp.on(STREAM, (frame: { fields?: { eventName?: string; args?: unknown[] } }) => {
    if (stopped) return;
    const message = frame?.fields?.args?.[0] as RcMessage | undefined;
    if (!message || typeof message !== 'object') return;
    if (up) enqueue({ kind: 'message', message });
    else buffer.push(message);
  });

  const established = async (): Promise<void> => {
    if (settings.pruneSubscriptions) {
      // The previous connection's subscriptions died with it; the SDK has just re-created each.
      for (const id of previousSubs) delete ddp.subscriptions[id];
      const kept = new Set<string>();
      for (const [id, sub] of Object.entries(ddp.subscriptions)) {
        const key = `${sub.name}:${JSON.stringify(sub.params)}`;
        if (!kept.has(key)) kept.add(key);
        else await ddp.unsubscribe(id).catch(() => undefined);
      }
    }
    previousSubs = new Set();
    const subscribed = Object.values(ddp.subscriptions).some((s) => s.name === STREAM && s.params[0] === MY_MESSAGES);
    if (!subscribed) await ddp.subscribe(STREAM, [MY_MESSAGES, false]);
    if (stopped) return;
    const reconnect = everUp;
    everUp = true;
    logger.info({ reconnect }, 'rocketchat realtime connected');
    enqueue({ kind: 'connected', reconnect });
    for (const message of buffer) enqueue({ kind: 'message', message });
    buffer = [];
    up = true;
    settleFirst();
  };

  driver.connect({}).catch(() => {
    // Logged by the SDK (through sdk-logger); it keeps retrying on its own.
    settleFirst();
  });

  const stop = async (): Promise<void> => {
    if (!stopped) {
      stopped = true;
      queue.length = 0;
      buffer = [];
      ddp.resume = null;
      ddp.reopen = async () => undefined;
      ddp.open = async () => undefined;
      if (ddp.openTimeout) clearTimeout(ddp.openTimeout);
      if (ddp.reopenInterval) clearInterval(ddp.reopenInterval);
      if (ddp.pingTimeout) clearTimeout(ddp.pingTimeout);
      const connection = ddp.connection;
      delete ddp.connection;
      try {
        if (connection?.terminate) connection.terminate();
        else connection?.close(1000, 'relais stopped');
      } catch {
        // already closed
      }
      settleFirst();
    }
    if (!insideHandler.getStore()) await idle;
  };

  await first;
  return stop;
}
