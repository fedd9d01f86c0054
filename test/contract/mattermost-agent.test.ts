/**
 * The Mattermost agent side beyond the neutral contract: WebSocket resume and resync, retrying through
 * refused connections, stopping, the event mapping's fallbacks, catch-up paging, download errors, logs
 * without message text, and the `/wa` slash command (registration, and a real execution by the fake
 * server, which POSTs the form to our URL as Mattermost does).
 */
import { createServer, type IncomingMessage } from 'node:http';
import { createServer as createTcpServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import mm from '@mattermost/client';
import type { Post } from '@mattermost/types/posts';
import type { AgentEvent, AgentPostEvent, ChatChannelRef, ChatPostRef } from '../../src/chat/platform.js';
import { AgentSide } from '../../src/chat/mattermost/agent-side.js';
import { RelaisClient4 } from '../../src/chat/mattermost/client.js';
import { webSocketUrl } from '../../src/chat/mattermost/listener.js';
import { PostService } from '../../src/chat/mattermost/posts.js';
import { ensureWebSocketGlobals } from '../../src/chat/mattermost/ws-globals.js';
import { RelaisError } from '../../src/core/errors.js';
import { makeMattermostHarness, type MattermostHarness } from './mattermost-harness.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean | Promise<boolean>, what: string, attempts = 500): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return;
    await sleep(20);
  }
  throw new Error(`gave up waiting for ${what}`);
}

async function rejection(p: Promise<unknown>): Promise<RelaisError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(RelaisError);
    return err as RelaisError;
  }
  throw new Error('expected a rejection');
}

function recorder() {
  const events: AgentEvent[] = [];
  const connected: boolean[] = [];
  return {
    events,
    connected,
    post: (ref: ChatPostRef) => events.find((e): e is AgentPostEvent => e.kind === 'post' && e.post === ref),
    handlers: {
      async onEvent(e: AgentEvent) {
        events.push(e);
      },
      async onConnected({ reconnect }: { reconnect: boolean }) {
        connected.push(reconnect);
      },
    },
  };
}

/** A TCP relay in front of the fake that can refuse every connection, like a server that is down. */
async function startRelay(targetPort: number) {
  let up = true;
  let accepted = 0;
  const open = new Set<Socket>();
  const server = createTcpServer((client) => {
    accepted++;
    if (!up) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    const kill = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      s.on('error', kill);
      s.on('close', kill);
    }
    client.pipe(upstream);
    upstream.pipe(client);
    open.add(client);
    client.on('close', () => open.delete(client));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    accepted: () => accepted,
    setUp(value: boolean) {
      up = value;
      if (!value) for (const s of open) s.destroy();
    },
    close: () => new Promise<void>((resolve) => {
      for (const s of open) s.destroy();
      server.close(() => resolve());
    }),
  };
}

const spec = (h: MattermostHarness, key: string) => ({ key, displayName: 'Customer', team: h.team, agents: ['alice'] });

beforeAll(() => {
  vi.spyOn(console, 'log').mockImplementation(() => undefined); // WebSocketClient logs every (re)connection
});
afterAll(() => vi.restoreAllMocks());

describe('Mattermost agent side', () => {
  let h: MattermostHarness;
  const cleanups: Array<() => Promise<unknown>> = [];
  beforeEach(async () => {
    h = await makeMattermostHarness();
    await h.platform.connect();
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    const violations = h.protocolViolations();
    await h.close();
    expect(violations).toEqual([]);
  });

  it('resumes a dropped connection (token on the upgrade) and receives what was missed live', async () => {
    const ch = await h.platform.ensureCustomerChannel(spec(h, 'resume1'));
    const rec = recorder();
    cleanups.push(await h.platform.listen(rec.handlers));
    await until(() => rec.connected.length === 1, 'the first connection');
    h.fake.dropWebSockets();
    const away = await h.agentPost(ch, 'missed while the socket was down');
    await until(() => rec.post(away) !== undefined, 'the missed post, replayed live on resume');
    expect(rec.connected).toEqual([false, true]);
  });

  it('after a server restart (new connection id) reconnects and leaves the gap to postsSince', async () => {
    const ch = await h.platform.ensureCustomerChannel(spec(h, 'restart1'));
    const rec = recorder();
    cleanups.push(await h.platform.listen(rec.handlers));
    await until(() => rec.connected.length === 1, 'the first connection');
    const before = await h.agentPost(ch, 'seen live');
    await until(() => rec.post(before) !== undefined, 'a live post');
    const cursor = rec.post(before)?.createdAt ?? NaN;
    h.fake.dropWebSockets({ forget: true });
    const away = await h.agentPost(ch, 'lost by the restart');
    await until(() => rec.connected.length === 2, 'the reconnection');
    expect((await h.platform.postsSince(ch, cursor)).map((e) => e.post)).toEqual([away]);
    const after = await h.agentPost(ch, 'live again');
    await until(() => rec.post(after) !== undefined, 'live events on the new connection');
    expect(rec.post(away)).toBeUndefined();
  });

  it('keeps retrying with backoff while the server refuses connections, then reconnects', async () => {
    const relay = await startRelay(Number(new URL(h.fake.url).port));
    cleanups.push(() => relay.close());
    const platform = h.makePlatform({ url: relay.url });
    const rec = recorder();
    cleanups.push(await platform.listen(rec.handlers));
    await until(() => rec.connected.length === 1, 'the first connection');
    relay.setUp(false);
    const base = relay.accepted();
    await until(() => relay.accepted() - base >= 10, 'ten refused attempts (more than the client\'s maxWebSocketFails default of 7)');
    relay.setUp(true);
    await until(() => rec.connected.length === 2, 'the reconnection');
    expect(rec.connected).toEqual([false, true]);
  });

  it('resolves listen() after a first failure and connects once the server is back', async () => {
    const relay = await startRelay(Number(new URL(h.fake.url).port));
    cleanups.push(() => relay.close());
    const platform = h.makePlatform({ url: relay.url });
    await platform.connect();
    relay.setUp(false);
    const rec = recorder();
    cleanups.push(await platform.listen(rec.handlers));
    expect(rec.connected).toEqual([]);
    relay.setUp(true);
    await until(() => rec.connected.length === 1, 'the first connection');
    expect(rec.connected).toEqual([false]);
  });

  it('stops: the socket closes and no reconnection follows; close() stops listeners too', async () => {
    const relay = await startRelay(Number(new URL(h.fake.url).port));
    cleanups.push(() => relay.close());
    const platform = h.makePlatform({ url: relay.url });
    const rec = recorder();
    const stop = await platform.listen(rec.handlers);
    await until(() => h.fake.openWebSockets() === 1, 'an open socket');
    await stop();
    await until(() => h.fake.openWebSockets() === 0, 'the socket to close');
    const attempts = relay.accepted();
    await sleep(600); // several retry periods of the fast settings
    expect(relay.accepted()).toBe(attempts);
    await stop(); // idempotent

    const again = recorder();
    await h.platform.listen(again.handlers);
    await until(() => h.fake.openWebSockets() === 1, 'an open socket');
    await h.platform.close();
    await until(() => h.fake.openWebSockets() === 0, 'close() to stop the listener');
  });

  it('can be stopped from inside a handler', async () => {
    const ch = await h.platform.ensureCustomerChannel(spec(h, 'selfstop'));
    const self: { stop?: () => Promise<void> } = {};
    let stopped = false;
    self.stop = await h.platform.listen({
      onConnected: async () => undefined,
      onEvent: async () => {
        await self.stop?.();
        stopped = true;
      },
    });
    await h.agentPost(ch, 'stop now');
    await until(() => stopped, 'the handler to finish stopping');
    await until(() => h.fake.openWebSockets() === 0, 'the socket to close');
  });

  it('never logs message text, even when handling fails', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'trace' }, { write: (line: string) => void lines.push(line) });
    const platform = h.makePlatform({ logger });
    const ch = await platform.ensureCustomerChannel(spec(h, 'logs1'));
    const rec = recorder();
    let failed = 0;
    cleanups.push(await platform.listen({
      onConnected: rec.handlers.onConnected,
      onEvent: async (e) => {
        failed++;
        rec.events.push(e);
        throw new Error(e.kind === 'post' ? `handler choked on ${e.text}` : 'reaction');
      },
    }));
    await until(() => rec.connected.length === 1, 'the first connection');
    const post = await h.agentPost(ch, 'SECRET-CUSTOMER-TEXT 42');
    await until(() => rec.post(post) !== undefined, 'the event');
    h.fake.dropWebSockets();
    await until(() => rec.connected.length === 2, 'the reconnection');
    expect(failed).toBeGreaterThan(0);
    const consoleOutput = JSON.stringify((console.log as unknown as { mock: { calls: unknown[][] } }).mock.calls);
    expect(lines.join('\n')).not.toContain('SECRET');
    expect(consoleOutput).not.toContain('SECRET');
    expect(consoleOutput).not.toContain(h.botToken);
    expect(lines.join('\n')).toContain('agent event handler failed');
  });

  it('excludes deleted posts from postsSince and pages past the server\'s 1000-post answer', async () => {
    const ch = await h.platform.ensureCustomerChannel(spec(h, 'page1'));
    const start = await h.agentPost(ch, 'cursor');
    const cursor = (await h.platform.postsSince(ch, 0)).find((e) => e.post === start)?.createdAt ?? NaN;
    const ids: string[] = [];
    for (let i = 0; i < 1010; i++) ids.push(h.fake.agentPost('alice', ch, `message ${i}`).id);
    const alice = new mm.Client4();
    alice.setUrl(h.fake.url);
    alice.setToken(h.aliceToken);
    await alice.deletePost(ids[5] as string);
    const events = await h.platform.postsSince(ch, cursor);
    expect(events.map((e) => e.post)).toEqual(ids.filter((_, i) => i !== 5));
    expect(h.fake.requests.some((r) => r.path === `/api/v4/channels/${ch}/posts` && r.query.includes('page='))).toBe(true);
  });

  it('maps download failures like every other call', async () => {
    const ch = await h.platform.ensureCustomerChannel(spec(h, 'dl2'));
    const post = await h.agentPost(ch, 'file', { files: [{ name: 'a.txt', mimeType: 'text/plain', data: new Uint8Array([104, 105]) }] });
    const [event] = (await h.platform.postsSince(ch, 0)).filter((e) => e.post === post);
    const ref = event?.files[0] as NonNullable<AgentPostEvent['files'][number]>;
    expect(ref.mimeType).toBe('text/plain; charset=utf-8');
    expect((await h.platform.downloadFile(ref)).data).toEqual(new Uint8Array([104, 105]));

    h.fake.failNext(`GET /api/v4/files/${ref.id}`, { status: 503 });
    expect((await rejection(h.platform.downloadFile(ref))).retryable).toBe(true);
    h.fake.failNext(`GET /api/v4/files/${ref.id}`, { status: 429, headers: { 'Retry-After': '4' } });
    expect((await rejection(h.platform.downloadFile(ref))).retryAfterMs).toBe(4000);
    const missing = await rejection(h.platform.downloadFile({ ...ref, id: 'a'.repeat(26) }));
    expect(missing).toMatchObject({ code: 'chat_not_found', retryable: false });
    expect((await rejection(h.platform.downloadFile({ ...ref, id: '../users/me' }))).retryable).toBe(false);
  });

  it('posts a notice unthreaded when the given post is gone', async () => {
    const ch = await h.platform.ensureCustomerChannel(spec(h, 'notice2'));
    const root = await h.agentPost(ch, 'to be deleted');
    const alice = new mm.Client4();
    alice.setUrl(h.fake.url);
    alice.setToken(h.aliceToken);
    await alice.deletePost(root);
    const notice = await h.platform.postNotice(ch, 'still visible', root);
    expect(await h.platform.threadRootOf(notice)).toBe(notice);
    expect(h.fake.posts(ch).find((p) => p.id === notice)?.props).toMatchObject({ relais_notice: true, from_bot: 'true' });
  });
});

describe('Mattermost event mapping', () => {
  let h: MattermostHarness;
  let agent: AgentSide;
  beforeEach(async () => {
    h = await makeMattermostHarness();
    const api = new RelaisClient4(h.fake.url, h.botToken, fetch, 10_000, 10_000);
    const logger = pino({ level: 'silent' });
    const botUserId = async () => h.botId;
    agent = new AgentSide({ api, logger, botUserId, posts: new PostService({ api, logger, botUserId }), now: () => 4242 });
  });
  afterEach(async () => {
    await h.close();
  });

  const posted = (post: Partial<Post>, senderName?: string) => ({
    event: 'posted',
    data: { post: JSON.stringify(post), ...(senderName ? { sender_name: senderName } : {}) },
    broadcast: { channel_id: post.channel_id },
  });

  it('reads file infos one by one when the post has no metadata, and looks the author up', async () => {
    const ch = await h.platform.ensureCustomerChannel(spec(h, 'map1'));
    const a = h.fake.agentUpload('alice', ch, 'one.pdf', new Uint8Array([1]));
    const b = h.fake.agentUpload('alice', ch, 'two.png', new Uint8Array([2, 2]));
    const stored = h.fake.agentPost('alice', ch, 'two files', { fileIds: [b.id, a.id] });
    const { metadata: _metadata, ...bare } = stored;
    const event = await agent.fromWebSocket(posted(bare, 'Alice Doe'));
    expect(event).toMatchObject({ kind: 'post', authorName: 'alice', text: 'two files', fromBot: false, system: false });
    expect((event as AgentPostEvent).files.map((f) => [f.name, f.mimeType, f.size])).toEqual([['two.png', 'image/png', 2], ['one.pdf', 'application/pdf', 1]]);
    expect(h.fake.requests.filter((r) => /^\/api\/v4\/files\/[^/]+\/info$/.test(r.path))).toHaveLength(2);
  });

  it('flags posts of an earlier Relais bot account as the bot\'s, and other bots\' posts not', async () => {
    const ch = await h.platform.ensureCustomerChannel(spec(h, 'map2'));
    const base = { id: 'p'.repeat(26), channel_id: ch, message: 'x', create_at: 1, type: '' as const, root_id: '' };
    const old = await agent.fromWebSocket(posted({ ...base, user_id: 'o'.repeat(26), props: { from_bot: 'true', relais_id: 'r1' } }, '@old-relais'));
    const other = await agent.fromWebSocket(posted({ ...base, user_id: 'q'.repeat(26), props: { from_bot: 'true' } }, '@csat-bot'));
    const system = await agent.fromWebSocket(posted({ ...base, user_id: h.aliceId, type: 'system_join_channel', props: {} }, 'System'));
    expect(old).toMatchObject({ fromBot: true, authorName: 'old-relais' });
    expect(other).toMatchObject({ fromBot: false, authorName: 'csat-bot' });
    expect(system).toMatchObject({ system: true, authorName: 'alice' });
  });

  it('dates a removal by the server\'s update_at, else delete_at, else its arrival; ignores other events', async () => {
    const r = { user_id: h.aliceId, post_id: 'p'.repeat(26), emoji_name: 'thumbsup' };
    const ch = 'c'.repeat(26);
    const removal = (extra: Record<string, number>) => agent.fromWebSocket({ event: 'reaction_removed', data: { reaction: JSON.stringify({ ...r, create_at: 0, ...extra }) }, broadcast: { channel_id: ch } });
    expect(await removal({ update_at: 1700 })).toMatchObject({ at: 1700, on: false, emoji: '👍', emojiName: 'thumbsup', channel: ch });
    expect(await removal({ delete_at: 1800 })).toMatchObject({ at: 1800 });
    expect(await removal({})).toMatchObject({ at: 4242 });
    const added = await agent.fromWebSocket({ event: 'reaction_added', data: { reaction: JSON.stringify({ ...r, emoji_name: 'custom_party', create_at: 1500, update_at: 1500 }) }, broadcast: { channel_id: ch } });
    expect(added).toMatchObject({ at: 1500, on: true, emojiName: 'custom_party' });
    expect((added as { emoji?: string }).emoji).toBeUndefined();
    expect(await agent.fromWebSocket({ event: 'typing', data: {}, broadcast: { channel_id: ch } })).toBeNull();
    await expect(agent.fromWebSocket({ event: 'posted', data: { post: '{not json' } })).rejects.toMatchObject({ code: 'chat_bad_event', retryable: false });
  });
});

describe('Mattermost /wa slash command', () => {
  let h: MattermostHarness;
  const opts = (url = 'https://relais.example.com/chat/command') => ({
    team: 'support', url, trigger: 'wa', description: 'WhatsApp commands (Relais)', hint: 'help | status',
  });
  const listed = async () => {
    const alice = new mm.Client4();
    alice.setUrl(h.fake.url);
    alice.setToken(h.aliceToken);
    const team = await alice.getTeamByName('support');
    return alice.getCustomTeamCommands(team.id);
  };
  const count = (method: string, rx: RegExp) => h.fake.requests.filter((r) => r.method === method && rx.test(r.path)).length;
  beforeEach(async () => {
    h = await makeMattermostHarness();
  });
  afterEach(async () => {
    const violations = h.protocolViolations();
    await h.close();
    expect(violations).toEqual([]);
  });

  it('creates the command once, re-registers idempotently and updates a changed URL in place', async () => {
    const { token } = await h.platform.slashCommands.registerSlashCommand(opts());
    const [cmd, ...rest] = await listed();
    expect(rest).toEqual([]);
    expect(cmd).toMatchObject({
      token, trigger: 'wa', method: 'P', url: 'https://relais.example.com/chat/command', auto_complete: true,
      auto_complete_desc: 'WhatsApp commands (Relais)', auto_complete_hint: 'help | status', username: 'relais', creator_id: h.botId,
    });

    expect(await h.secondPlatform().slashCommands?.registerSlashCommand(opts())).toEqual({ token });
    expect(count('POST', /^\/api\/v4\/commands$/)).toBe(1);
    expect(count('PUT', /^\/api\/v4\/commands\//)).toBe(0);

    expect(await h.platform.slashCommands.registerSlashCommand(opts('https://new.example.com/chat/command'))).toEqual({ token });
    expect(count('PUT', /^\/api\/v4\/commands\//)).toBe(1);
    expect((await listed()).map((c) => c.url)).toEqual(['https://new.example.com/chat/command']);
  });

  it('lets two replicas racing to create it end with the same single command', async () => {
    const [a, b] = await Promise.all([
      h.platform.slashCommands.registerSlashCommand(opts()),
      h.makePlatform().slashCommands.registerSlashCommand(opts()),
    ]);
    expect(a).toEqual(b);
    expect(await listed()).toHaveLength(1);
  });

  it('explains the missing permission (403) without retrying, and other refusals', async () => {
    h.fake.addTeam('plain', { open: true });
    const err = await rejection(h.platform.slashCommands.registerSlashCommand({ ...opts(), team: 'plain' }));
    expect(err).toMatchObject({ code: 'chat_command_forbidden', retryable: false });
    expect(err.message).toMatch(/manage_slash_commands/);
    expect(err.message).toMatch(/!wa/);

    h.fake.failNext('GET /api/v4/commands', { status: 501, body: { id: 'api.command.disabled.app_error', message: 'Commands have been disabled by the system admin.', status_code: 501 } });
    expect(await rejection(h.platform.slashCommands.registerSlashCommand(opts()))).toMatchObject({ code: 'chat_commands_disabled', retryable: false });

    const alice = new mm.Client4();
    alice.setUrl(h.fake.url);
    alice.setToken(h.aliceToken);
    const team = await alice.getTeamByName('support');
    await alice.addCommand({ team_id: team.id, trigger: 'wa', url: 'https://elsewhere.example.com/', method: 'P' } as never);
    expect(await rejection(h.platform.slashCommands.registerSlashCommand(opts()))).toMatchObject({ code: 'chat_command_trigger_taken', retryable: false });
  });

  it('parses the form Mattermost POSTs when an agent runs the command', async () => {
    let parsed: Awaited<ReturnType<typeof h.platform.slashCommands.parseSlashCommand>> = null;
    let contentType = '';
    const server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        contentType = String(req.headers['content-type']);
        const request = new Request(`http://127.0.0.1${req.url}`, {
          method: req.method,
          headers: req.headers as Record<string, string>,
          body: Buffer.concat(chunks),
        });
        void h.platform.slashCommands.parseSlashCommand(request).then((cmd) => {
          parsed = cmd;
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ response_type: 'ephemeral', text: cmd ? 'ok' : 'not a command' }));
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/chat/command`;
      const { token } = await h.platform.slashCommands.registerSlashCommand(opts(url));
      const ch = await h.platform.ensureCustomerChannel(spec(h, 'cmd1'));
      const alice = new mm.Client4();
      alice.setUrl(h.fake.url);
      alice.setToken(h.aliceToken);
      const answer = await alice.executeCommand('/wa template hello_world pt_BR Ana', { channel_id: ch });
      expect(answer).toMatchObject({ text: 'ok' });
      expect(contentType).toBe('application/x-www-form-urlencoded');
      expect(parsed).toEqual({ token, channel: ch, text: 'template hello_world pt_BR Ana', userId: h.aliceId, invocationId: expect.stringMatching(/\S{20,}/) });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('accepts JSON, takes the token from the header when the form lacks it, and refuses what is not a command', async () => {
    const cap = h.platform.slashCommands;
    const ch = 'c'.repeat(26) as ChatChannelRef;
    const user = 'u'.repeat(26);
    const fields = { token: 'tok', team_id: 't'.repeat(26), channel_id: ch, user_id: user, command: '/wa', text: 'help' };
    const post = (body: string, type: string, headers: Record<string, string> = {}) =>
      new Request('http://relais/chat/command', { method: 'POST', headers: { 'Content-Type': type, ...headers }, body });

    const json = await cap.parseSlashCommand(post(JSON.stringify({ ...fields, trigger_id: 'trig-1' }), 'application/json'));
    expect(json).toEqual({ token: 'tok', channel: ch, text: 'help', userId: user, invocationId: 'trig-1' });

    const { token: _token, ...noToken } = fields;
    const viaHeader = await cap.parseSlashCommand(post(new URLSearchParams(noToken).toString(), 'application/x-www-form-urlencoded; charset=utf-8', { Authorization: 'Token from-header' }));
    expect(viaHeader?.token).toBe('from-header');
    expect(viaHeader?.invocationId).toMatch(/^[0-9a-f-]{36}$/);

    expect(await cap.parseSlashCommand(new Request('http://relais/chat/command?token=tok'))).toBeNull();
    expect(await cap.parseSlashCommand(post('token=tok', 'text/plain'))).toBeNull();
    expect(await cap.parseSlashCommand(post(new URLSearchParams(noToken).toString(), 'application/x-www-form-urlencoded'))).toBeNull();
    expect(await cap.parseSlashCommand(post(new URLSearchParams({ ...fields, channel_id: 'town-square' }).toString(), 'application/x-www-form-urlencoded'))).toBeNull();
    expect(await cap.parseSlashCommand(post(new URLSearchParams({ ...fields, command: '' }).toString(), 'application/x-www-form-urlencoded'))).toBeNull();
    expect(await cap.parseSlashCommand(post('{"token":', 'application/json'))).toBeNull();
  });
});

describe('Mattermost WebSocket plumbing', () => {
  it('derives the WebSocket URL from the server URL', () => {
    expect(webSocketUrl('https://chat.example.com/')).toBe('wss://chat.example.com/api/v4/websocket');
    expect(webSocketUrl('http://127.0.0.1:8065/mm')).toBe('ws://127.0.0.1:8065/mm/api/v4/websocket');
  });

  it('installs the Node 20 globals only where missing', () => {
    const g = globalThis as Record<string, unknown>;
    const saved = { WebSocket: g.WebSocket, CloseEvent: g.CloseEvent };
    try {
      const mine = class {};
      g.WebSocket = mine;
      delete g.CloseEvent;
      ensureWebSocketGlobals();
      expect(g.WebSocket).toBe(mine);
      const event = new (g.CloseEvent as new (t: string, i: object) => { code: number; wasClean: boolean })('close', { code: 4000 });
      expect(event).toMatchObject({ code: 4000, wasClean: false });
      delete g.WebSocket;
      ensureWebSocketGlobals();
      expect((g.WebSocket as { OPEN: number }).OPEN).toBe(1);
    } finally {
      g.WebSocket = saved.WebSocket;
      g.CloseEvent = saved.CloseEvent;
    }
  });
});
