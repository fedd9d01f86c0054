/**
 * A protocol-faithful Mattermost server for tests: real HTTP (REST v4) and WebSocket on 127.0.0.1 at a
 * random port, so the real `Client4` and `WebSocketClient` of `@mattermost/client` talk to it. State is
 * typed with `@mattermost/types`. Every request is checked against the shared OpenAPI fragments
 * (`specViolations`, `specStatus`). Endpoints the real server has and the fake does not answer 501.
 *
 *   const mm = await startMattermostFake();
 *   const { token } = mm.addUser({ username: 'relais', isBot: true });
 *   …
 *   await mm.close();
 */
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Channel } from '@mattermost/types/channels';
import type { FileInfo } from '@mattermost/types/files';
import type { Group } from '@mattermost/types/groups';
import type { Post } from '@mattermost/types/posts';
import type { Reaction } from '@mattermost/types/reactions';
import type { Team, TeamMembership } from '@mattermost/types/teams';
import type { UserProfile } from '@mattermost/types/users';
import { archiveChannel as archive, addChannelMember } from './channels-core.js';
import { loadSystemEmojiNames } from './emoji-names.js';
import { FakeAppError } from './errors.js';
import { Faults, type FailOptions, type FaultPattern } from './faults.js';
import { Router } from './http.js';
import { createPost } from './posts-core.js';
import { registerChannelRoutes } from './routes/channels.js';
import { registerCommandRoutes } from './routes/commands.js';
import { registerFileRoutes, storeUpload } from './routes/files.js';
import { registerPostRoutes } from './routes/posts.js';
import { registerReactionRoutes } from './routes/reactions.js';
import { addTeamMember, registerTeamRoutes } from './routes/teams.js';
import { registerUserRoutes } from './routes/users.js';
import { createFakeServer, type RequestRecord } from './server.js';
import { SpecValidator, type SpecStatus, type SpecViolation } from './spec-validator.js';
import { FakeState, newId, type FakeBroadcast, type StoredFile } from './state.js';
import { WebSocketHub } from './websocket.js';

export type { FailOptions, FaultPattern, RequestRecord, SpecStatus, SpecViolation, StoredFile };
export { FakeAppError };

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** `../shared` next to the repository: OpenAPI fragments and Mattermost reference data. */
export const DEFAULT_SHARED_DIR = resolve(REPO_ROOT, '../shared');

export interface MattermostFakeOptions {
  /** Directory of the OpenAPI fragments; `null` disables validation. Default `../shared/specs/mattermost`. */
  specDir?: string | null;
  /** The emoji alias file. Default `../shared/mattermost/emoji-additional-shortnames.json`. */
  emojiAliasesFile?: string;
  /** Reported in `hello` and `X-Version-Id`. */
  serverVersion?: string;
  /** `ServiceSettings.EnableAPIChannelDeletion`: allows `DELETE /channels/{id}?permanent=true` (default false, as on the real server). */
  enableAPIChannelDeletion?: boolean;
}

export interface MattermostFake {
  /** Base URL, e.g. `http://127.0.0.1:41234` (Client4.setUrl; the WebSocket is at `/api/v4/websocket`). */
  readonly url: string;
  close(): Promise<void>;

  // ---- setup ----
  addUser(u: { username: string; isBot?: boolean; roles?: string; email?: string }): { user: UserProfile; token: string };
  /** `open`: anyone may join (allow_open_invite); default invite-only. */
  addTeam(name: string, opts?: { open?: boolean; displayName?: string }): Team;
  addToTeam(teamName: string, username: string, opts?: { admin?: boolean }): TeamMembership;
  addGroup(name: string, usernames: string[], opts?: { allowReference?: boolean; displayName?: string }): Group;
  /** Changes server settings at run time, as the System Console does. */
  setServiceSettings(settings: { enableAPIChannelDeletion?: boolean }): void;

  // ---- acting as someone (same code paths as REST, broadcasts included) ----
  agentPost(username: string, channelId: string, message: string, opts?: { rootId?: string; fileIds?: string[]; props?: Record<string, unknown> }): Post;
  agentUpload(username: string, channelId: string, name: string, data: Uint8Array): FileInfo;
  addToChannel(channelId: string, username: string, byUsername: string): void;
  archiveChannel(channelId: string, byUsername: string): void;

  // ---- inspectors ----
  channels(): Channel[];
  /** User ids of the channel's members. */
  channelMembers(channelId: string): string[];
  /** Usernames of the channel's members. */
  channelMemberNames(channelId: string): string[];
  /** Posts of a channel, oldest first, system and deleted posts included. */
  posts(channelId: string): Post[];
  readonly files: ReadonlyMap<string, StoredFile>;
  reactions(postId: string): Reaction[];
  readonly requests: RequestRecord[];
  readonly specViolations: SpecViolation[];
  readonly specStatus: SpecStatus;
  /** Requests to endpoints whose fragment is not among the shared spec files. */
  readonly specUnchecked: string[];
  openWebSockets(): number;
  /** Calls `listener` for every event the server broadcasts, as it happens (benchmarks time posts with it). */
  onBroadcast(listener: (b: FakeBroadcast) => void): void;

  // ---- faults ----
  failNext(pattern: FaultPattern, opts: FailOptions): void;
  resetAfterAccept(pattern: FaultPattern, times?: number): void;
  setHang(pattern: FaultPattern | null, times?: number): void;
  clearFaults(): void;
  /** Closes every WebSocket abruptly; `forget` also drops the connection records (like a restart). */
  dropWebSockets(opts?: { forget?: boolean }): void;
}

export async function startMattermostFake(opts: MattermostFakeOptions = {}): Promise<MattermostFake> {
  const serverVersion = opts.serverVersion ?? '10.11.0';
  const state = new FakeState();
  const spec = new SpecValidator(opts.specDir === undefined ? resolve(DEFAULT_SHARED_DIR, 'specs/mattermost') : opts.specDir);
  const emoji = loadSystemEmojiNames(opts.emojiAliasesFile ?? resolve(DEFAULT_SHARED_DIR, 'mattermost/emoji-additional-shortnames.json'));
  const faults = new Faults();
  const requests: RequestRecord[] = [];
  const router = new Router();
  registerUserRoutes(router, state);
  registerTeamRoutes(router, state);
  const serviceSettings = { enableAPIChannelDeletion: opts.enableAPIChannelDeletion ?? false };
  registerChannelRoutes(router, state, serviceSettings);
  registerPostRoutes(router, state);
  registerFileRoutes(router, state);
  registerReactionRoutes(router, state, emoji);
  registerCommandRoutes(router, state);
  const hub = new WebSocketHub(state, serverVersion, (token) => state.tokens.get(token));
  const { server, hanging } = createFakeServer({ state, router, faults, spec, hub, serverVersion, requests });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;

  const user = (username: string): UserProfile => {
    const u = state.userByName(username);
    if (!u) throw new Error(`fake: no user ${username}`);
    return u;
  };
  const team = (name: string): Team => {
    const t = state.teamByName(name);
    if (!t) throw new Error(`fake: no team ${name}`);
    return t;
  };

  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      hub.close();
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
    },

    addUser({ username, isBot = false, roles = 'system_user', email }) {
      const now = state.now();
      const u = {
        id: newId(), create_at: now, update_at: now, delete_at: 0, username, password: '', auth_service: '',
        email: email ?? `${username}@example.invalid`, nickname: '', first_name: '', last_name: '', position: '',
        roles, props: {}, notify_props: {}, last_password_update: now, last_picture_update: 0, locale: 'en',
        mfa_active: false, last_activity_at: 0, is_bot: isBot, bot_description: isBot ? 'Relais test bot' : '',
        terms_of_service_id: '', terms_of_service_create_at: 0,
      } as unknown as UserProfile;
      state.users.set(u.id, u);
      const token = newId();
      state.tokens.set(token, u.id);
      return { user: u, token };
    },
    addTeam(name, o = {}) {
      const now = state.now();
      const t: Team = {
        id: newId(), create_at: now, update_at: now, delete_at: 0, display_name: o.displayName ?? name, name,
        description: '', email: '', type: o.open ? 'O' : 'I', company_name: '', allowed_domains: '',
        invite_id: newId(), allow_open_invite: !!o.open, scheme_id: '', group_constrained: false,
      };
      state.teams.set(t.id, t);
      return t;
    },
    addToTeam: (teamName, username, o = {}) => addTeamMember(state, team(teamName).id, user(username), o.admin),
    addGroup(name, usernames, o = {}) {
      const now = state.now();
      const g: Group = {
        id: newId(), name, display_name: o.displayName ?? name, description: '', source: 'custom', remote_id: null,
        create_at: now, update_at: now, delete_at: 0, has_syncables: false, member_count: usernames.length,
        scheme_admin: false, allow_reference: o.allowReference ?? true,
      };
      state.groups.set(g.id, g);
      state.groupMembers.set(g.id, new Set(usernames.map((n) => user(n).id)));
      return g;
    },

    setServiceSettings(settings) {
      if (settings.enableAPIChannelDeletion !== undefined) serviceSettings.enableAPIChannelDeletion = settings.enableAPIChannelDeletion;
    },

    agentPost: (username, channelId, message, o = {}) =>
      createPost(state, user(username), { channel_id: channelId, message, root_id: o.rootId, file_ids: o.fileIds, props: o.props }),
    agentUpload: (username, channelId, name, data) => storeUpload(state, user(username), channelId, name, data),
    addToChannel: (channelId, username, by) => void addChannelMember(state, user(by), state.requireChannel(channelId), user(username)),
    archiveChannel: (channelId, by) => archive(state, user(by), state.requireChannel(channelId)),

    channels: () => [...state.channels.values()],
    channelMembers: (channelId) => [...(state.channelMembers.get(channelId)?.keys() ?? [])],
    channelMemberNames: (channelId) =>
      [...(state.channelMembers.get(channelId)?.keys() ?? [])].map((id) => state.users.get(id)?.username ?? id),
    posts: (channelId) => [...state.posts.values()].filter((p) => p.channel_id === channelId).sort((a, b) => a.create_at - b.create_at),
    files: state.files,
    reactions: (postId) => [...(state.reactions.get(postId) ?? [])],
    requests,
    specViolations: spec.violations,
    specStatus: spec.status,
    specUnchecked: spec.unchecked,
    openWebSockets: () => hub.openConnections(),
    onBroadcast: (listener) => state.onBroadcast(listener),

    failNext: (p, o) => faults.failNext(p, o),
    resetAfterAccept: (p, times) => faults.resetAfterAccept(p, times),
    setHang: (p, times) => faults.setHang(p, times),
    clearFaults: () => faults.clear(),
    dropWebSockets: (o) => hub.dropAll(o),
  };
}
