/**
 * A protocol-faithful Rocket.Chat 6.x/7.x server for tests: real HTTP (REST v1) and WebSocket (DDP at
 * `/websocket`) on 127.0.0.1 at a random port, so `@rocket.chat/sdk` 1.0.0-alpha.42 and plain `fetch`
 * talk to it as to a real server. Every HTTP request is checked against the shared OpenAPI files
 * (`specViolations`, `specStatus`); operations the spec has but the fake lacks answer 501.
 *
 *   const rc = await startRocketChatFake();
 *   const bot = rc.addUser({ username: 'relais', roles: ['bot'] });   // bot.token is a PAT
 *   const agent = rc.addUser({ username: 'alice' });
 *   …
 *   await rc.close();
 *
 * See README.md in this folder for the wire behaviours reproduced on purpose.
 */
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DdpHub, type DdpSessionInfo } from './ddp.js';
import { MeteorError } from './errors.js';
import { Faults, type FailOptions, type FaultPattern } from './faults.js';
import { Router } from './http.js';
import { objectIdHex } from './ids.js';
import { mimeTypeOf } from './images.js';
import { executeSendMessage, type SendOptions } from './messages.js';
import { RestRateLimiter, type RateLimiterSettings } from './rate-limit.js';
import { executeSetReaction } from './reactions.js';
import { createGroup } from './rooms.js';
import { registerAuthRoutes } from './routes/auth.js';
import { registerChatRoutes } from './routes/chat.js';
import type { Deps } from './routes/deps.js';
import { registerFileRoutes } from './routes/files.js';
import { registerGroupRoutes } from './routes/groups.js';
import { registerRoomRoutes } from './routes/rooms.js';
import { registerUserRoutes } from './routes/users.js';
import { publicMessage, publicRoom, publicUser, uploadView } from './serialize.js';
import { createFakeHttpServer, type RequestRecord } from './server.js';
import { SpecValidator, UNSPECIFIED_PATHS, type SpecStatus, type SpecViolation } from './spec-validator.js';
import { FakeState, type MessageDoc, type RoomDoc, type TeamDoc, type UploadDoc } from './state.js';
import { confirmUpload, storeUpload, type UploadSettings } from './uploads.js';

export type { DdpSessionInfo, FailOptions, FaultPattern, MessageDoc, RequestRecord, RoomDoc, SpecStatus, SpecViolation, TeamDoc, UploadDoc };
export { MeteorError, UNSPECIFIED_PATHS };

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** `../shared/specs/rocketchat`, next to the repository. */
export const DEFAULT_SPEC_DIR = resolve(REPO_ROOT, '../shared/specs/rocketchat');

export interface RocketChatFakeOptions {
  /** Directory of the OpenAPI files; `null` disables validation. Default `../shared/specs/rocketchat`. */
  specDir?: string | null;
  /** REST rate limiter; off unless `enabled` (the real defaults are 10 calls per 60 000 ms). */
  rateLimiter?: Partial<RateLimiterSettings>;
  /** Overrides of the default roles per permission, e.g. `{ 'unarchive-room': ['admin', 'bot'] }`. */
  rolePermissions?: Record<string, string[]>;
  /** DDP heartbeat: idle time before the server pings, and before it drops a silent client. Default 15 000. */
  pingIntervalMs?: number;
  /** `Message_CustomFields_Enabled` (default false: messages with `customFields` are refused). */
  messageCustomFieldsEnabled?: boolean;
  /** `Message_Attachments_Thumbnails_Width/Height` (default 480×360); `false` disables thumbnails. */
  thumbnails?: { width: number; height: number } | false;
  /** `FileUpload_MaxFileSize` in bytes (default 104 857 600). */
  maxFileSize?: number;
}

export interface AddedUser {
  /** As `users.info` shows it to its owner (roles included). */
  user: Record<string, unknown>;
  userId: string;
  /** A personal access token: `X-Auth-Token` with `X-User-Id: userId`, and a DDP/REST `resume` token. */
  token: string;
}

export interface RocketChatFake {
  /** Base URL, e.g. `http://127.0.0.1:41234` (DDP at `ws://…/websocket`). */
  readonly url: string;
  close(): Promise<void>;

  // ---- setup ----
  addUser(u: { username: string; roles?: string[]; name?: string; password?: string }): AddedUser;
  /** A team with a main room (private group named like the team); the first username owns it. */
  addTeam(name: string, usernames: string[]): TeamDoc;
  /** A private group created by `owner` (same path as `groups.create`). */
  addGroup(owner: string, name: string, members?: string[]): RoomDoc;
  /** Per-user permission override, e.g. `setPermission(botId, 'unarchive-room', true)`. */
  setPermission(userId: string, permission: string, allowed: boolean): void;

  // ---- acting as an agent in the web client (same insert path, same broadcasts) ----
  agentSend(username: string, rid: string, msg: string, opts?: { tmid?: string; fileIds?: string[] }): MessageDoc;
  /** Uploads like the web client's `rooms.media`; returns the temporary file id for `agentSend`. */
  agentUpload(username: string, rid: string, file: { name: string; type?: string; data: Uint8Array }): string;
  agentReact(username: string, messageId: string, shortcode: string): void;

  // ---- inspectors ----
  rooms(): RoomDoc[];
  /** Messages of a room, oldest first, system messages included. */
  messages(rid: string): MessageDoc[];
  /** User ids of a room's members (its subscriptions), archived rooms included. */
  roomMembers(rid: string): string[];
  /** Every upload (temporary, confirmed and thumbnails), with its bytes. */
  readonly files: UploadDoc[];
  readonly requests: RequestRecord[];
  readonly specViolations: SpecViolation[];
  readonly specStatus: SpecStatus;
  /** Requests to paths of `UNSPECIFIED_PATHS` (served, not in the OpenAPI files). */
  readonly specUnchecked: string[];
  /** Open DDP sessions with their user and subscriptions. */
  ddpSessions(): DdpSessionInfo[];
  /** Every DDP frame in and out. */
  readonly ddpFrames: { dir: 'in' | 'out'; session: string; frame: unknown }[];

  // ---- faults ----
  failNext(pattern: FaultPattern, opts: FailOptions): void;
  /** The next `times` matching requests are executed, then their socket is destroyed unanswered. */
  resetAfterAccept(pattern: FaultPattern, times?: number): void;
  clearFaults(): void;
  /** Terminates every DDP WebSocket without a close frame (code 1006 on the client). */
  dropWebSockets(): void;
}

export async function startRocketChatFake(opts: RocketChatFakeOptions = {}): Promise<RocketChatFake> {
  const state = new FakeState(opts.rolePermissions);
  const send: SendOptions = { customFieldsEnabled: opts.messageCustomFieldsEnabled ?? false };
  const uploads: UploadSettings = { maxFileSize: opts.maxFileSize ?? 104857600, thumbnails: opts.thumbnails ?? { width: 480, height: 360 } };
  const deps: Deps = { state, send, uploads };
  const spec = new SpecValidator(opts.specDir === undefined ? DEFAULT_SPEC_DIR : opts.specDir);
  const limiter = new RestRateLimiter({ enabled: opts.rateLimiter?.enabled ?? false, calls: opts.rateLimiter?.calls ?? 10, intervalMs: opts.rateLimiter?.intervalMs ?? 60000 });
  const faults = new Faults();
  const requests: RequestRecord[] = [];
  const router = new Router();
  registerAuthRoutes(router, deps);
  registerUserRoutes(router, deps);
  registerGroupRoutes(router, deps);
  registerChatRoutes(router, deps);
  registerRoomRoutes(router, deps);
  registerFileRoutes(router, deps);
  const hub = new DdpHub(state, send, opts.pingIntervalMs ?? 15000);
  let url = '';
  const server = createFakeHttpServer({
    state,
    router,
    faults,
    spec,
    limiter,
    requests,
    siteUrl: () => url,
    onUpgrade: (req, socket, head) => hub.handleUpgrade(req, socket, head),
    isSpecified: (method, path) => spec.hasOperation(method, path),
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const user = (username: string) => {
    const u = state.userByName(username);
    if (!u) throw new Error(`fake: no user ${username}`);
    return u;
  };

  return {
    url,
    async close() {
      hub.close();
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
    },

    addUser(u) {
      const doc = state.addUser(u);
      const { token } = state.issueToken(doc._id, 'personalAccessToken');
      return { user: publicUser(doc, { withRoles: true }), userId: doc._id, token };
    },

    addTeam(name, usernames) {
      const [ownerName, ...rest] = usernames;
      if (!ownerName) throw new Error('fake: addTeam needs at least one username (the owner)');
      const owner = user(ownerName);
      const room = createGroup(state, owner, { name, members: rest });
      const now = new Date();
      const createdBy = { _id: owner._id, username: owner.username };
      const team: TeamDoc = {
        _id: objectIdHex(),
        name,
        type: 1,
        roomId: room._id,
        createdAt: now,
        createdBy,
        members: usernames.map((n, i) => ({ userId: user(n)._id, roles: i === 0 ? ['owner'] : [], createdAt: now, createdBy })),
      };
      room.teamId = team._id;
      room.teamMain = true;
      state.teams.set(team._id, team);
      return structuredClone(team);
    },

    addGroup(owner, name, members = []) {
      return publicRoom(createGroup(state, user(owner), { name, members }));
    },

    setPermission(userId, permission, allowed) {
      state.setPermission(userId, permission, allowed);
    },

    agentSend(username, rid, msg, o = {}) {
      const u = user(username);
      const fileIds = o.fileIds ?? [];
      if (fileIds.length === 0) {
        const sent = executeSendMessage(state, u, { rid, msg, ...(o.tmid && { tmid: o.tmid }) }, send);
        if (!sent) throw new Error('fake: agentSend inserted nothing');
        return publicMessage(sent);
      }
      let last: MessageDoc | null = null;
      fileIds.forEach((id, i) => {
        last = confirmUpload(state, uploads, send, u, rid, id, { msg: i === 0 ? msg : '', ...(o.tmid && { tmid: o.tmid }) });
      });
      if (!last) throw new MeteorError('invalid-file');
      return publicMessage(last);
    },

    agentUpload(username, rid, file) {
      const u = user(username);
      const room = state.rooms.get(rid);
      if (!room || !state.canAccessRoom(room, u._id)) throw new Error(`fake: ${username} cannot access room ${rid}`);
      return storeUpload(state, uploads, u, rid, { name: file.name, type: mimeTypeOf(file.type ?? '', file.name), data: Buffer.from(file.data) })._id;
    },

    agentReact(username, messageId, shortcode) {
      executeSetReaction(state, user(username), shortcode, messageId);
    },

    rooms: () => [...state.rooms.values()].map(publicRoom),
    messages: (rid) => state.roomMessages(rid).map(publicMessage),
    roomMembers: (rid) => state.members(rid).map((s) => s.u._id),
    get files() {
      return [...state.uploads.values()].map(uploadView);
    },
    requests,
    specViolations: spec.violations,
    specStatus: spec.status,
    specUnchecked: spec.unchecked,
    ddpSessions: () => hub.sessionsInfo(),
    ddpFrames: hub.frames,

    failNext: (pattern, o) => faults.failNext(pattern, o),
    resetAfterAccept: (pattern, times = 1) => faults.resetAfterAccept(pattern, times),
    clearFaults: () => faults.clear(),
    dropWebSockets: () => hub.dropAll(),
  };
}
