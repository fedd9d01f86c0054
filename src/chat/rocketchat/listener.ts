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
import { Rocketchat } from '@rocket.chat/sdk';
import type { AgentEvent, ChatListenHandlers } from '../platform.js';
import { errorCode } from '../../core/errors.js';
import { EventDelivery } from '../event-delivery.js';
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

const STREAM = 'stream-room-messages';
const MY_MESSAGES = '__my_messages__';

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

  const delivery = new EventDelivery<RcMessage>(handlers, (message) => deps.toEvents(message), logger, 'rocketchat');
  let stopped = false;
  let up = false;
  let everUp = false;
  let buffer: RcMessage[] = [];
  let previousSubs = new Set<string>();
  let loginFailures = 0;
  let settleFirst: () => void = () => undefined;
  const first = new Promise<void>((resolve) => {
    settleFirst = resolve;
  });

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
    if (up) delivery.event(message);
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
    delivery.connected(reconnect);
    for (const message of buffer) delivery.event(message);
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
    await delivery.stop();
  };

  await first;
  return stop;
}
