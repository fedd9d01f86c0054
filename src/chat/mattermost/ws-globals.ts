/**
 * The two browser globals `@mattermost/client` 11.9's WebSocketClient needs on Node 20.
 *
 * Even with `newWebSocketFn`, the client reads `WebSocket.OPEN` from the global `WebSocket` (before every
 * send, ping and close) and constructs `new CloseEvent(…)` when a ping goes unanswered or an event
 * sequence is skipped. Node 22 has both globals; Node 20 has neither, and the client then throws
 * `ReferenceError` from inside its timers. `ensureWebSocketGlobals` installs, only where missing:
 *
 * - `WebSocket`: the `ws` package's class, a complete WHATWG-style WebSocket, so any other code that
 *   feature-detects the global gets a working implementation (as on Node 22), never a stub;
 * - `CloseEvent`: a plain `Event` subclass carrying `code`, `reason` and `wasClean`.
 *
 * Existing globals are never replaced, so on Node 22 (or in a test that installed its own) this does
 * nothing. Idempotent, synchronous, no I/O.
 */
import WebSocket from 'ws';

class NodeCloseEvent extends Event {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;

  constructor(type: string, init: { code?: number; reason?: string; wasClean?: boolean } = {}) {
    super(type);
    this.code = init.code ?? 0;
    this.reason = init.reason ?? '';
    this.wasClean = init.wasClean ?? false;
  }
}

export function ensureWebSocketGlobals(): void {
  const g = globalThis as Record<string, unknown>;
  if (g.WebSocket === undefined) g.WebSocket = WebSocket;
  if (g.CloseEvent === undefined) g.CloseEvent = NodeCloseEvent;
}
