/**
 * The Mattermost fake itself, driven by the unmodified `@mattermost/client` (Client4 on the global fetch,
 * WebSocketClient on `ws`): wire shapes, permissions, limits, WebSocket delivery and resume, faults and
 * spec validation.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import mm from '@mattermost/client';
import type { WebSocketMessage } from '@mattermost/client';
import type { Post } from '@mattermost/types/posts';
import WebSocket from 'ws';
import { startMattermostFake, type MattermostFake } from './index.js';
import { installWebSocketGlobals } from './ws-globals.js';

installWebSocketGlobals();

const probe = await startMattermostFake();
const specLabel = probe.specStatus.validated ? 'spec-validated' : 'SPEC VALIDATION SKIPPED';
if (!probe.specStatus.validated) console.warn(`[mattermost fake] ${probe.specStatus.detail}`);
await probe.close();

type ServerError = { server_error_id?: string; status_code?: number };

async function waitFor(check: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function failure(p: Promise<unknown>): Promise<ServerError> {
  try {
    await p;
  } catch (err) {
    return err as ServerError;
  }
  throw new Error('expected a failure');
}

describe(`Mattermost fake (${specLabel})`, () => {
  let fake: MattermostFake;
  let bot: InstanceType<typeof mm.Client4>;
  let botId: string;
  let botToken: string;
  let aliceToken: string;
  let teamId: string;
  let channelId: string;
  const sockets: Array<InstanceType<typeof mm.WebSocketClient>> = [];

  beforeAll(() => {
    vi.spyOn(console, 'log').mockImplementation(() => undefined); // WebSocketClient logs every (re)connect
  });
  afterAll(() => vi.restoreAllMocks());

  beforeEach(async () => {
    fake = await startMattermostFake();
    const b = fake.addUser({ username: 'relais', isBot: true });
    botId = b.user.id;
    botToken = b.token;
    aliceToken = fake.addUser({ username: 'alice' }).token;
    fake.addUser({ username: 'eve' });
    teamId = fake.addTeam('support').id;
    for (const u of ['relais', 'alice', 'eve']) fake.addToTeam('support', u);
    bot = new mm.Client4();
    bot.setUrl(fake.url);
    bot.setToken(botToken);
    const ch = await bot.createChannel({ team_id: teamId, name: 'wa-test', display_name: 'Test', type: 'P' });
    channelId = ch.id;
    await bot.addToChannel((await bot.getUserByUsername('alice')).id, channelId);
  });

  afterEach(async () => {
    for (const s of sockets.splice(0)) s.close();
    const violations = fake.specViolations;
    await fake.close();
    expect(violations).toEqual([]);
  });

  function socket(token: string, how: 'header' | 'challenge'): { client: InstanceType<typeof mm.WebSocketClient>; events: WebSocketMessage[]; missed: () => number } {
    let missed = 0;
    const client = new mm.WebSocketClient({
      newWebSocketFn: (url: string) =>
        (how === 'header' ? new WebSocket(url, { headers: { Authorization: `Bearer ${token}` } }) : new WebSocket(url)) as unknown as globalThis.WebSocket,
      minWebSocketRetryTime: 30,
      reconnectJitterRange: 1,
      clientPingInterval: 60_000,
    });
    const events: WebSocketMessage[] = [];
    client.addMessageListener((m) => events.push(m));
    client.addMissedMessageListener(() => {
      missed += 1;
    });
    client.initialize(`${fake.url.replace('http', 'ws')}/api/v4/websocket`, how === 'challenge' ? token : undefined);
    sockets.push(client);
    return { client, events, missed: () => missed };
  }

  it('answers REST with the real error body and requires a bearer token', async () => {
    expect((await bot.getMe()).id).toBe(botId);
    const res = await fetch(`${fake.url}/api/v4/users/me`);
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('application/json');
    const body = await res.json();
    expect(Object.keys(body).sort()).toEqual(['detailed_error', 'id', 'is_oauth', 'message', 'request_id', 'status_code']);
    expect(body).toMatchObject({ id: 'api.context.session_expired.app_error', status_code: 401, is_oauth: false });
    const unknown = await fetch(`${fake.url}/api/v4/nope`, { headers: { Authorization: `Bearer ${botToken}` } });
    expect(unknown.status).toBe(404);
    if (fake.specStatus.validated) expect(fake.specViolations.splice(0).map((v) => v.path)).toEqual(['/api/v4/nope']);
  });

  it('enforces channel rules like the server', async () => {
    const create = (name: string, display = 'X', type = 'P') =>
      failure(bot.createChannel({ team_id: teamId, name, display_name: display, type } as never));
    expect((await create('wa-test')).server_error_id).toBe('store.sql_channel.save_channel.exists.app_error');
    expect((await create('Bad Name')).status_code).toBe(400);
    expect((await create('ok-name', 'x'.repeat(65))).server_error_id).toBe('model.channel.is_valid.display_name.app_error');
    expect((await create('ok-name', 'X', 'D')).server_error_id).toBe('model.channel.is_valid.type.app_error');
    expect((await bot.createChannel({ team_id: teamId, name: 'ok-name', display_name: '😀'.repeat(64), type: 'P' })).display_name).toHaveLength(128);

    fake.archiveChannel(channelId, 'alice');
    expect((await failure(bot.getChannelByName(teamId, 'wa-test'))).status_code).toBe(404);
    expect((await bot.getChannelByName(teamId, 'wa-test', true)).delete_at).toBeGreaterThan(0);
    // Restore needs manage_team: a plain member is refused, a team admin may.
    expect((await failure(bot.unarchiveChannel(channelId))).status_code).toBe(403);
    fake.addToTeam('support', 'relais', { admin: true });
    expect((await bot.unarchiveChannel(channelId)).delete_at).toBe(0);
  });

  it('deletes channels like api4 deleteChannel: archive, or permanently only with EnableAPIChannelDeletion', async () => {
    const permanent = (id: string) => fetch(`${fake.url}/api/v4/channels/${id}?permanent=true`, { method: 'DELETE', headers: { Authorization: `Bearer ${botToken}` } });
    const refused = await permanent(channelId);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as ServerError & { id: string }).id).toBe('api.user.delete_channel.not_enabled.app_error');
    const admin = fake.addUser({ username: 'root', roles: 'system_user system_admin' });
    const asAdmin = await fetch(`${fake.url}/api/v4/channels/${channelId}?permanent=true`, { method: 'DELETE', headers: { Authorization: `Bearer ${admin.token}` } });
    expect(((await asAdmin.json()) as { id: string }).id).toBe('api.user.delete_channel.not_enabled.for_admin.app_error');

    await bot.createPost({ channel_id: channelId, message: 'before' });
    await bot.deleteChannel(channelId); // archive
    expect((await failure(bot.deleteChannel(channelId))).server_error_id).toBe('api.channel.delete_channel.deleted.app_error');
    expect((await failure(bot.patchChannel(channelId, { name: 'renamed' }))).server_error_id).toBe('store.sql_channel.update.archived_channel.app_error');

    fake.setServiceSettings({ enableAPIChannelDeletion: true });
    expect((await permanent(channelId)).status).toBe(200); // archived channels can be deleted for good
    expect(fake.channels().some((c) => c.id === channelId)).toBe(false);
    expect(fake.posts(channelId)).toEqual([]);
    expect((await failure(bot.getChannel(channelId))).status_code).toBe(404);
    expect((await permanent(channelId)).status).toBe(404);
    // The name is free again.
    expect((await bot.createChannel({ team_id: teamId, name: 'wa-test', display_name: 'Again', type: 'P' })).name).toBe('wa-test');
  });

  it('soft-deletes a post with its replies and files: reads and a second delete answer 404', async () => {
    const info = fake.agentUpload('relais', channelId, 'a.txt', new TextEncoder().encode('hello'));
    const root = await bot.createPost({ channel_id: channelId, message: 'root', file_ids: [info.id] });
    const reply = await bot.createPost({ channel_id: channelId, message: 'reply', root_id: root.id });
    await bot.deletePost(root.id);
    expect((await failure(bot.getPost(root.id))).status_code).toBe(404);
    expect((await failure(bot.getPost(reply.id))).status_code).toBe(404);
    expect((await failure(bot.deletePost(root.id))).server_error_id).toBe('app.post.get.app_error');
    const file = await fetch(`${fake.url}/api/v4/files/${info.id}`, { headers: { Authorization: `Bearer ${botToken}` } });
    expect(file.status).toBe(404);
  });

  it('hides private channels from non-members with 404', async () => {
    const eve = new mm.Client4();
    eve.setUrl(fake.url);
    eve.setToken(fake.addUser({ username: 'eve2' }).token);
    fake.addToTeam('support', 'eve2');
    expect((await failure(eve.getChannelByName(teamId, 'wa-test', true))).server_error_id).toBe('app.channel.get_by_name.missing.app_error');
    expect((await failure(eve.createPost({ channel_id: channelId, message: 'hi' }))).status_code).toBe(403);
  });

  it('validates posts: length, files, thread roots', async () => {
    expect((await failure(bot.createPost({ channel_id: channelId, message: 'x'.repeat(16384) }))).server_error_id).toBe('model.post.is_valid.message_length.app_error');
    expect((await bot.createPost({ channel_id: channelId, message: '😀'.repeat(16383) })).message).toHaveLength(32766);
    const six = Array.from({ length: 6 }, (_, i) => String(i).repeat(26));
    expect((await failure(bot.createPost({ channel_id: channelId, message: 'm', file_ids: six }))).server_error_id).toBe('model.post.is_valid.file_ids.app_error');
    const other = await bot.createChannel({ team_id: teamId, name: 'other', display_name: 'O', type: 'P' });
    const root = await bot.createPost({ channel_id: other.id, message: 'root' });
    expect((await failure(bot.createPost({ channel_id: channelId, message: 'r', root_id: root.id }))).server_error_id).toBe('api.post.create_post.channel_root_id.app_error');
    const post = await bot.createPost({ channel_id: channelId, message: 'hello', props: { relais_id: 'r1' } });
    expect(post.props).toEqual({ relais_id: 'r1', from_bot: 'true' });
    expect(post.user_id).toBe(botId);
  });

  it('uploads multipart files, serves them with the token, and attaches only what the server would', async () => {
    const form = new FormData();
    form.append('channel_id', channelId);
    form.append('client_ids', 'c1');
    form.append('files', new Blob([new Uint8Array([1, 2, 3])], { type: 'application/octet-stream' }), 'notes.txt');
    const up = await bot.uploadFile(form);
    expect(up.client_ids).toEqual(['c1']);
    const info = up.file_infos[0]!;
    expect(info).toMatchObject({ name: 'notes.txt', extension: 'txt', size: 3, mime_type: 'text/plain; charset=utf-8', post_id: '' });

    const late = new FormData();
    late.append('files', new Blob([new Uint8Array([1])]), 'a.txt');
    late.append('channel_id', channelId);
    expect((await failure(bot.uploadFile(late))).status_code).toBe(400); // channel_id must come first

    const aliceFile = fake.agentUpload('alice', channelId, 'alice.png', new Uint8Array([9]));
    const post = await bot.createPost({ channel_id: channelId, message: 'files', file_ids: [info.id, aliceFile.id, 'x'.repeat(26)] });
    expect(post.file_ids).toEqual([info.id]); // alice's file and the unknown id are dropped silently
    expect(post.metadata.files.map((f) => f.id)).toEqual([info.id]);

    const anonymous = await fetch(`${fake.url}/api/v4/files/${info.id}`);
    expect(anonymous.status).toBe(401);
    const dl = await fetch(`${fake.url}/api/v4/files/${info.id}`, { headers: { Authorization: `Bearer ${aliceToken}` } });
    expect(new Uint8Array(await dl.arrayBuffer())).toEqual(new Uint8Array([1, 2, 3]));
    expect(dl.headers.get('content-disposition')).toContain('notes.txt');
  });

  it('accepts only Mattermost emoji names for reactions', async () => {
    const post = fake.agentPost('alice', channelId, 'react to me');
    for (const name of ['+1', 'thumbsup', 'thumbsup_light_skin_tone', 'heart', 'fist_raised_dark_skin_tone']) {
      expect((await bot.addReaction(botId, post.id, name)).emoji_name).toBe(name);
    }
    for (const name of ['👍', 'thumbs_up', 'thumbsup_tone2']) {
      expect((await failure(bot.addReaction(botId, post.id, name))).server_error_id).toBe('app.emoji.get_by_name.no_result');
    }
    expect((await failure(bot.addReaction((await bot.getUserByUsername('alice')).id, post.id, '+1'))).status_code).toBe(403);
    await bot.removeReaction(botId, post.id, '+1');
    expect(fake.reactions(post.id).map((r) => r.emoji_name)).not.toContain('+1');
  });

  it('delivers posted events to channel members only, with the post JSON-encoded', async () => {
    const member = socket(botToken, 'challenge');
    const outsider = socket(fake.addUser({ username: 'zed' }).token, 'header');
    await waitFor(() => member.events.some((e) => e.event === 'hello') && outsider.events.some((e) => e.event === 'hello'));
    const hello = member.events[0]!;
    expect(hello.seq).toBe(0);
    expect(hello.data).toMatchObject({ server_version: expect.any(String), connection_id: expect.any(String) });

    const sent = fake.agentPost('alice', channelId, 'hi from alice');
    await waitFor(() => member.events.some((e) => e.event === 'posted'));
    const posted = member.events.find((e) => e.event === 'posted')!;
    expect(typeof posted.data.post).toBe('string');
    const post = JSON.parse(posted.data.post as string) as Post;
    expect(post).toMatchObject({ id: sent.id, message: 'hi from alice', channel_id: channelId });
    expect(posted.broadcast.channel_id).toBe(channelId);
    expect(posted.data.sender_name).toBe('@alice');
    expect(member.events.map((e) => e.seq)).toEqual(member.events.map((_, i) => i));
    expect(outsider.events.some((e) => e.event === 'posted')).toBe(false);
  });

  it('answers ping and the authentication challenge', async () => {
    const s = socket(botToken, 'challenge');
    await waitFor(() => s.events.length > 0);
    const reply = await new Promise<{ status: string; seq_reply: number; data?: { text?: string } }>((resolve) => s.client.ping(resolve as never));
    expect(reply).toMatchObject({ status: 'OK', data: { text: 'pong' } });
  });

  it('resumes a header-authenticated connection and replays what it missed', async () => {
    const s = socket(botToken, 'header');
    let reconnects = 0;
    s.client.addReconnectListener(() => {
      reconnects += 1;
    });
    await waitFor(() => s.events.length === 1);
    fake.dropWebSockets();
    fake.agentPost('alice', channelId, 'while you were away');
    await waitFor(() => s.events.some((e) => e.event === 'posted'));
    expect(reconnects).toBe(1);
    expect(s.missed()).toBe(0);
    expect(s.events.map((e) => e.event)).toEqual(['hello', 'posted']);
    expect(s.events.map((e) => e.seq)).toEqual([0, 1]);
  });

  it('gives a challenge-authenticated or forgotten connection a new id, so the client resyncs', async () => {
    const viaChallenge = socket(botToken, 'challenge');
    await waitFor(() => viaChallenge.events.length === 1);
    fake.dropWebSockets();
    await waitFor(() => viaChallenge.missed() === 1);

    const viaHeader = socket(botToken, 'header');
    await waitFor(() => viaHeader.events.length === 1);
    fake.dropWebSockets({ forget: true });
    await waitFor(() => viaHeader.missed() === 1);
    fake.agentPost('alice', channelId, 'after restart');
    await waitFor(() => viaHeader.events.some((e) => e.event === 'posted'));
  });

  it('injects failures, ambiguous outcomes and hangs', async () => {
    fake.failNext('POST /api/v4/posts', { status: 429, headers: { 'Retry-After': '3' } });
    const res = await fetch(`${fake.url}/api/v4/posts`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${botToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ channel_id: channelId, message: 'x' }),
    });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('3');

    fake.resetAfterAccept('POST /api/v4/posts');
    await expect(bot.createPost({ channel_id: channelId, message: 'ambiguous' })).rejects.toThrow();
    expect(fake.posts(channelId).some((p) => p.message === 'ambiguous')).toBe(true);

    fake.setHang('GET /api/v4/users/me', 1);
    const hung = await Promise.race([
      bot.getMe().then(() => 'answered'),
      new Promise((r) => setTimeout(() => r('hung'), 150)),
    ]);
    expect(hung).toBe('hung');
    expect((await bot.getMe()).id).toBe(botId);
    expect(fake.requests.some((r) => r.status === 'reset')).toBe(true);
  });

  it('answers 501, loudly, for server features it does not implement', async () => {
    const err = await failure(bot.getPostsBefore(channelId, 'a'.repeat(26)));
    expect(err.status_code).toBe(501);
    expect((err as { message?: string }).message).toMatch(/does not implement/);
  });

  it('says so, instead of passing silently, when the spec directory is absent', async () => {
    const blind = await startMattermostFake({ specDir: '/nonexistent/specs/mattermost' });
    expect(blind.specStatus.validated).toBe(false);
    expect(blind.specStatus.detail).toMatch(/NOT validated/);
    await blind.close();
  });

  it.runIf(probe.specStatus.validated)('records requests that break the OpenAPI spec', async () => {
    await fetch(`${fake.url}/api/v4/channels`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${botToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ team_id: teamId, name: 'spec-x', display_name: 42, type: 'P' }),
    });
    await fetch(`${fake.url}/api/v4/not/in/spec`, { headers: { Authorization: `Bearer ${botToken}` } });
    expect(fake.specViolations.map((v) => `${v.method} ${v.path}`)).toEqual(['POST /api/v4/channels', 'GET /api/v4/not/in/spec']);
    fake.specViolations.splice(0); // expected ones: keep the afterEach check meaningful for the rest
  });
});
