/**
 * `/api/v4/websocket` as the real server speaks it (api4/websocket.go, platform/web_conn.go, ws_router.go):
 *
 * - authentication by `Authorization` header on the upgrade, or by an `authentication_challenge` action
 *   (`{"status":"OK","seq_reply":n}`; a second challenge on an authenticated socket is ignored);
 * - `hello` (`connection_id`, `server_version`) as event 0 of a fresh connection;
 * - events `{event, data, broadcast, seq}` with a per-connection sequence, only to members of the channel
 *   (or team / user) an event is for;
 * - reconnect with `?connection_id=&sequence_number=`: resumed only when the upgrade itself carries the
 *   token (the real server ignores `connection_id` when the session is not known at upgrade time, so a
 *   challenge-only client always gets a new `connection_id` and fires its missed-message listeners). A
 *   resumed connection replays from the 128-event dead queue and then what was queued while it was away;
 *   a sequence the queue no longer holds gives a new `connection_id` and a fresh `hello`;
 * - `ping` → `{"status":"OK","seq_reply":n,"data":{"text":"pong",…}}`.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { type FakeBroadcast, type FakeState, newId } from './state.js';

const DEAD_QUEUE_SIZE = 128;
const SEND_QUEUE_SIZE = 256;

interface Conn {
  id: string;
  userId: string;
  socket: WebSocket | null;
  nextSeq: number;
  dead: Array<{ seq: number; text: string }>;
  /** Events for this connection while its socket was gone, sent on resume. */
  queued: FakeBroadcast[];
  overflowed: boolean;
}

export class WebSocketHub {
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly conns = new Map<string, Conn>(); // connection id → connection
  private readonly sockets = new Set<WebSocket>();

  constructor(
    private readonly state: FakeState,
    private readonly serverVersion: string,
    private readonly tokenUser: (token: string) => string | undefined,
  ) {
    state.onBroadcast((b) => this.deliver(b));
  }

  /** Number of connections with an open socket (for tests). */
  openConnections(): number {
    return [...this.conns.values()].filter((c) => c.socket).length;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    if (url.pathname !== '/api/v4/websocket') {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const header = String(req.headers.authorization ?? '');
    const token = /^(Bearer|Token)\s+(.+)$/i.exec(header)?.[2];
    const headerUser = token ? this.tokenUser(token) : undefined;
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.sockets.add(ws);
      ws.on('close', () => this.sockets.delete(ws));
      ws.on('error', () => undefined);
      let conn: Conn | undefined;
      if (headerUser) conn = this.attach(ws, headerUser, url.searchParams);
      ws.on('message', (raw) => {
        let msg: { seq?: number; action?: string; data?: Record<string, unknown> };
        try {
          msg = JSON.parse(raw.toString());
        } catch {
          ws.close();
          return;
        }
        const seq = Number(msg.seq ?? 0);
        if (msg.action === 'authentication_challenge') {
          if (conn) return;
          const userId = typeof msg.data?.token === 'string' ? this.tokenUser(msg.data.token) : undefined;
          if (!userId) {
            ws.close();
            return;
          }
          ws.send(JSON.stringify({ status: 'OK', seq_reply: seq }));
          conn = this.attach(ws, userId, new URLSearchParams());
          return;
        }
        if (!conn) {
          ws.send(JSON.stringify(this.error(seq, 'api.web_socket_router.not_authenticated.app_error', 'No websocket authentication token provided.', 401)));
          return;
        }
        if (msg.action === 'ping') {
          ws.send(JSON.stringify({ status: 'OK', seq_reply: seq, data: { text: 'pong', version: this.serverVersion, server_time: Date.now(), node_id: '' } }));
        } else if (msg.action === 'user_typing') {
          const channelId = String(msg.data?.channel_id ?? '');
          ws.send(JSON.stringify({ status: 'OK', seq_reply: seq }));
          this.state.broadcast({ event: 'typing', data: { parent_id: msg.data?.parent_id ?? '', user_id: conn.userId }, channelId, omitUsers: { [conn.userId]: true } });
        } else {
          ws.send(JSON.stringify(this.error(seq, 'api.web_socket_router.bad_action.app_error', 'Unknown WebSocket action.', 501)));
        }
      });
      ws.on('close', () => {
        if (conn && conn.socket === ws) conn.socket = null;
      });
    });
  }

  private error(seq: number, id: string, message: string, status: number): Record<string, unknown> {
    return { status: 'FAIL', seq_reply: seq, error: { id, message, detailed_error: '', request_id: '', status_code: status, is_oauth: false } };
  }

  private attach(ws: WebSocket, userId: string, query: URLSearchParams): Conn {
    const wanted = query.get('connection_id') ?? '';
    const known = wanted ? this.conns.get(wanted) : undefined;
    if (known && known.userId === userId && !known.socket) {
      const seqParam = Number(query.get('sequence_number') ?? '');
      if (!Number.isInteger(seqParam) || seqParam < 0) {
        ws.close();
        return known;
      }
      known.socket = ws;
      const from = known.dead.findIndex((d) => d.seq === seqParam);
      if (!known.overflowed && (seqParam === known.nextSeq || from >= 0)) {
        if (from >= 0) for (const d of known.dead.slice(from)) ws.send(d.text);
        const queued = known.queued.splice(0);
        for (const b of queued) this.send(known, b);
        return known;
      }
      // Sequence lost: new connection id, sequence 0, fresh hello (web_conn.go writePump).
      this.conns.delete(known.id);
      known.id = newId();
      known.nextSeq = 0;
      known.dead = [];
      known.queued = [];
      known.overflowed = false;
      this.conns.set(known.id, known);
      this.hello(known);
      return known;
    }
    const conn: Conn = { id: newId(), userId, socket: ws, nextSeq: 0, dead: [], queued: [], overflowed: false };
    this.conns.set(conn.id, conn);
    this.hello(conn);
    return conn;
  }

  private hello(conn: Conn): void {
    this.send(conn, {
      event: 'hello',
      data: { connection_id: conn.id, server_version: this.serverVersion, server_hostname: 'mattermost-fake' },
      userId: conn.userId,
    });
  }

  private send(conn: Conn, b: FakeBroadcast): void {
    if (!conn.socket) {
      if (conn.queued.length >= SEND_QUEUE_SIZE) conn.overflowed = true;
      else conn.queued.push(b);
      return;
    }
    const seq = conn.nextSeq++;
    const text = JSON.stringify({
      event: b.event,
      data: b.data,
      broadcast: {
        omit_users: b.omitUsers ?? null,
        user_id: b.userId ?? '',
        channel_id: b.channelId ?? '',
        team_id: b.teamId ?? '',
        connection_id: '',
        omit_connection_id: '',
      },
      seq,
    });
    conn.dead.push({ seq, text });
    if (conn.dead.length > DEAD_QUEUE_SIZE) conn.dead.shift();
    conn.socket.send(text);
  }

  private deliver(b: FakeBroadcast): void {
    for (const conn of this.conns.values()) {
      if (b.omitUsers?.[conn.userId]) continue;
      let wanted: boolean;
      if (b.channelId) wanted = !!this.state.channelMember(b.channelId, conn.userId);
      else if (b.teamId) wanted = !!this.state.teamMember(b.teamId, conn.userId);
      else wanted = b.userId === conn.userId;
      if (wanted) this.send(conn, b);
    }
  }

  /**
   * Closes every socket abruptly (no close frame). With `forget`, the server also loses its connection
   * records, as after a restart: clients get a new `connection_id` and must resync through REST.
   */
  dropAll(opts: { forget?: boolean } = {}): void {
    for (const ws of this.sockets) ws.terminate();
    for (const conn of this.conns.values()) conn.socket = null;
    if (opts.forget) this.conns.clear();
  }

  close(): void {
    this.dropAll({ forget: true });
    this.wss.close();
  }
}
