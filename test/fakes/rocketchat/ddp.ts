/**
 * The realtime API: DDP over a plain WebSocket at `/websocket` (the path `@rocket.chat/sdk`
 * 1.0.0-alpha.42 opens; the SockJS paths are not served). Meteor's framing: `{server_id:"0"}` on
 * open, `connect` → `connected`, heartbeats (the server pings an idle client and drops one that stays
 * silent; client pings get `pong`), `method` → `result` then `updated`, `sub` → `ready` or `nosub`,
 * `unsub` → `nosub`.
 *
 * Streams follow the Streamer module: every subscription is served on its own, so a client holding
 * two subscriptions of the same stream and event receives each event twice (the SDK's reconnect bug).
 * `stream-room-messages` on `__my_messages__` delivers, for rooms the user can access,
 * `{eventName:'__my_messages__', args:[message, {roomParticipant, roomType, roomName}]}`; on a room id
 * it delivers `{eventName:<rid>, args:[message]}` to members only.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { MeteorError, ddpError } from './errors.js';
import { meteorId } from './ids.js';
import { METHODS, type MethodContext, type MethodSession } from './ddp-methods.js';
import type { SendOptions } from './messages.js';
import { fromEJSON, publicMessage, publicRoom, publicSubscription, toEJSON } from './serialize.js';
import type { FakeState, StateEvent } from './state.js';

export interface DdpSubscription {
  id: string;
  name: string;
  eventName: string;
}

export interface DdpSessionInfo {
  id: string;
  userId: string | null;
  subscriptions: DdpSubscription[];
}

interface Session extends MethodSession {
  id: string;
  ws: WebSocket;
  connected: boolean;
  subs: Map<string, DdpSubscription>;
  lastSeen: number;
  pingSentAt: number | null;
  timer?: NodeJS.Timeout;
  queue: Promise<void>;
}

/** Streams the fake accepts without ever publishing on them. */
const SILENT_STREAMS = new Set(['stream-notify-all', 'stream-notify-logged', 'stream-user-presence', 'stream-roles', 'meteor_autoupdate_clientVersions', 'meteor.loginServiceConfiguration']);

export class DdpHub {
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly sessions = new Set<Session>();
  /** Every frame in and out, for tests that want to look at the wire. */
  readonly frames: { dir: 'in' | 'out'; session: string; frame: unknown }[] = [];
  private readonly unlisten: () => void;

  constructor(
    private readonly state: FakeState,
    private readonly send: SendOptions,
    private readonly pingIntervalMs: number,
  ) {
    const listener = (e: StateEvent) => this.onStateEvent(e);
    state.listeners.add(listener);
    this.unlisten = () => state.listeners.delete(listener);
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = new URL(req.url ?? '/', 'http://fake.invalid').pathname;
    if (path !== '/websocket') {
      socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.open(ws));
  }

  private open(ws: WebSocket): void {
    const s: Session = { id: meteorId(), ws, userId: null, token: null, connected: false, subs: new Map(), lastSeen: Date.now(), pingSentAt: null, queue: Promise.resolve() };
    this.sessions.add(s);
    this.out(s, { server_id: '0' });
    ws.on('message', (data: RawData) => {
      s.lastSeen = Date.now();
      s.pingSentAt = null;
      s.queue = s.queue.then(() => this.onFrame(s, data.toString())).catch(() => undefined);
    });
    ws.on('close', () => this.closeSession(s));
    ws.on('error', () => this.closeSession(s));
  }

  private closeSession(s: Session): void {
    if (s.timer) clearInterval(s.timer);
    this.sessions.delete(s);
  }

  private out(s: Session, frame: Record<string, unknown>): void {
    if (s.ws.readyState !== WebSocket.OPEN) return;
    this.frames.push({ dir: 'out', session: s.id, frame });
    s.ws.send(JSON.stringify(frame));
  }

  private startHeartbeat(s: Session): void {
    s.timer = setInterval(() => {
      const now = Date.now();
      if (s.pingSentAt !== null) {
        if (now - s.pingSentAt >= this.pingIntervalMs) s.ws.terminate();
      } else if (now - s.lastSeen >= this.pingIntervalMs) {
        s.pingSentAt = now;
        this.out(s, { msg: 'ping' });
      }
    }, Math.max(10, Math.floor(this.pingIntervalMs / 2)));
    s.timer.unref();
  }

  private async onFrame(s: Session, text: string): Promise<void> {
    let frame: Record<string, unknown>;
    try {
      frame = JSON.parse(text) as Record<string, unknown>;
    } catch {
      this.out(s, { msg: 'error', reason: 'Parse error' });
      return;
    }
    this.frames.push({ dir: 'in', session: s.id, frame });
    if (!s.connected) {
      if (frame.msg !== 'connect') {
        this.out(s, { msg: 'error', reason: 'Must connect first', offendingMessage: frame });
        return;
      }
      const support = Array.isArray(frame.support) ? frame.support : [];
      if (frame.version !== '1' && !support.includes('1')) {
        this.out(s, { msg: 'failed', version: '1' });
        s.ws.close();
        return;
      }
      s.connected = true;
      this.out(s, { msg: 'connected', session: s.id });
      this.startHeartbeat(s);
      return;
    }
    switch (frame.msg) {
      case 'ping':
        this.out(s, frame.id === undefined ? { msg: 'pong' } : { msg: 'pong', id: frame.id });
        return;
      case 'pong':
        return;
      case 'method':
        await this.onMethod(s, frame);
        return;
      case 'sub':
        this.onSub(s, frame);
        return;
      case 'unsub':
        s.subs.delete(String(frame.id));
        this.out(s, { msg: 'nosub', id: frame.id });
        return;
      default:
        this.out(s, { msg: 'error', reason: 'Bad request', offendingMessage: frame });
    }
  }

  private async onMethod(s: Session, frame: Record<string, unknown>): Promise<void> {
    const id = frame.id;
    const name = String(frame.method ?? '');
    const params = Array.isArray(frame.params) ? (fromEJSON(frame.params) as unknown[]) : [];
    const ctx: MethodContext = { state: this.state, send: this.send, session: s, notifyRoom: (ev, args, from) => this.notifyRoom(ev, args, from) };
    const impl = METHODS[name];
    try {
      if (!impl) throw new MeteorError(404, `Method '${name}' not found`);
      const result = await impl(ctx, params);
      this.out(s, result === undefined ? { msg: 'result', id } : { msg: 'result', id, result: toEJSON(result) });
    } catch (e) {
      this.out(s, { msg: 'result', id, error: ddpError(e) });
    }
    this.out(s, { msg: 'updated', methods: [id] });
  }

  private onSub(s: Session, frame: Record<string, unknown>): void {
    const id = String(frame.id ?? '');
    if (s.subs.has(id)) return;
    const name = String(frame.name ?? '');
    const params = Array.isArray(frame.params) ? frame.params : [];
    const eventName = params[0];
    const ready = () => {
      s.subs.set(id, { id, name, eventName: String(eventName) });
      this.out(s, { msg: 'ready', subs: [id] });
    };
    if (SILENT_STREAMS.has(name)) return ready();
    const known = name === 'stream-room-messages' || name === 'stream-notify-room' || name === 'stream-notify-user';
    if (!known) {
      this.out(s, { msg: 'nosub', id, error: ddpError(new MeteorError(404, `Subscription '${name}' not found`)) });
      return;
    }
    if (typeof eventName !== 'string') {
      this.out(s, { msg: 'nosub', id, error: ddpError(new MeteorError(400, 'Match failed')) });
      return;
    }
    if (this.canRead(s, name, eventName)) return ready();
    // Streamer: a refused read stops the publication, which the client sees as a bare nosub.
    this.out(s, { msg: 'nosub', id });
  }

  private canRead(s: Session, name: string, eventName: string): boolean {
    if (name === 'stream-room-messages') {
      if (eventName === '__my_messages__') return true;
      const room = this.state.rooms.get(eventName);
      return room !== undefined && this.state.canAccessRoom(room, s.userId);
    }
    if (name === 'stream-notify-room') {
      const room = this.state.rooms.get(eventName.split('/')[0] ?? '');
      return room !== undefined && this.state.canAccessRoom(room, s.userId);
    }
    return s.userId !== null && eventName.split('/')[0] === s.userId;
  }

  private changed(s: Session, collection: string, eventName: string, args: unknown[]): void {
    this.out(s, { msg: 'changed', collection, id: 'id', fields: { eventName, args: toEJSON(args) } });
  }

  private eachSub(name: string, fn: (s: Session, sub: DdpSubscription) => void): void {
    for (const s of this.sessions) for (const sub of s.subs.values()) if (sub.name === name) fn(s, sub);
  }

  private onStateEvent(e: StateEvent): void {
    if (e.kind === 'message') {
      const room = this.state.rooms.get(e.message.rid);
      if (!room) return;
      const msg = publicMessage(e.message);
      this.eachSub('stream-room-messages', (s, sub) => {
        if (!this.state.canAccessRoom(room, s.userId)) return;
        if (sub.eventName === '__my_messages__') {
          const roomParticipant = s.userId !== null && this.state.sub(room._id, s.userId) !== undefined;
          this.changed(s, 'stream-room-messages', '__my_messages__', [msg, { roomParticipant, roomType: room.t, roomName: room.name }]);
        } else if (sub.eventName === room._id) {
          this.changed(s, 'stream-room-messages', room._id, [msg]);
        }
      });
    } else if (e.kind === 'message-deleted') {
      const room = this.state.rooms.get(e.rid);
      const eventName = `${e.rid}/deleteMessage`;
      this.eachSub('stream-notify-room', (s, sub) => {
        if (sub.eventName === eventName && room && this.state.canAccessRoom(room, s.userId)) this.changed(s, 'stream-notify-room', eventName, [{ _id: e._id }]);
      });
    } else if (e.kind === 'subscription') {
      const eventName = `${e.sub.u._id}/subscriptions-changed`;
      this.eachSub('stream-notify-user', (s, sub) => {
        if (sub.eventName === eventName && s.userId === e.sub.u._id) this.changed(s, 'stream-notify-user', eventName, [e.action, publicSubscription(e.sub)]);
      });
    } else if (e.kind === 'room') {
      const members = new Set(this.state.members(e.room._id).map((m) => m.u._id));
      this.eachSub('stream-notify-user', (s, sub) => {
        if (!s.userId || !members.has(s.userId) || sub.eventName !== `${s.userId}/rooms-changed`) return;
        this.changed(s, 'stream-notify-user', sub.eventName, [e.action, publicRoom(e.room)]);
      });
    }
  }

  /** A client's write on `stream-notify-room` (typing), relayed to the other subscribers. */
  private notifyRoom(eventName: string, args: unknown[], from: MethodSession): void {
    this.eachSub('stream-notify-room', (s, sub) => {
      if (s !== from && sub.eventName === eventName) this.changed(s, 'stream-notify-room', eventName, args);
    });
  }

  sessionsInfo(): DdpSessionInfo[] {
    return [...this.sessions].map((s) => ({ id: s.id, userId: s.userId, subscriptions: [...s.subs.values()] }));
  }

  /** Closes every socket abruptly (no close frame: the client sees code 1006 and reconnects). */
  dropAll(): void {
    for (const s of this.sessions) {
      s.ws.terminate();
      this.closeSession(s);
    }
  }

  close(): void {
    this.unlisten();
    this.dropAll();
    this.wss.close();
  }
}
