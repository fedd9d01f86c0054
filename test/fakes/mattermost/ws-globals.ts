/**
 * `@mattermost/client` 11.9's WebSocketClient reads the global `WebSocket` (for `WebSocket.OPEN`, even
 * when `newWebSocketFn` is given) and constructs `CloseEvent` on ping timeouts and sequence gaps. Node 20
 * has neither global (Node 22 has both), so on Node 20 the client throws `ReferenceError: WebSocket is not
 * defined` as soon as the socket opens. Tests install the `ws` class and a minimal CloseEvent; production
 * code that uses WebSocketClient on Node 20 must do the same.
 */
import WebSocket from 'ws';

export function installWebSocketGlobals(): void {
  const g = globalThis as Record<string, unknown>;
  if (g.WebSocket === undefined) g.WebSocket = WebSocket;
  if (g.CloseEvent === undefined) {
    g.CloseEvent = class CloseEvent extends Event {
      readonly code: number;
      readonly reason: string;
      readonly wasClean: boolean;
      constructor(type: string, init: { code?: number; reason?: string; wasClean?: boolean } = {}) {
        super(type);
        this.code = init.code ?? 0;
        this.reason = init.reason ?? '';
        this.wasClean = init.wasClean ?? false;
      }
    };
  }
}
