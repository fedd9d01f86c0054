/**
 * The Rocket.Chat fake over plain `fetch`: REST v1 shapes and error bodies, archived groups,
 * idempotent `chat.sendMessage`, uploads and protected downloads, reactions, rate limiting, faults,
 * and the OpenAPI check of every request (skipped visibly when ../shared is absent).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startRocketChatFake, type AddedUser, type RocketChatFake } from './index.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are inspected field by field
type Json = Record<string, any>;

let rc: RocketChatFake;
let bot: AddedUser;
let alice: AddedUser;

function client(u: AddedUser) {
  const headers = { 'X-User-Id': u.userId, 'X-Auth-Token': u.token };
  return {
    async get(path: string, query: Record<string, string> = {}) {
      const r = await fetch(`${rc.url}/api/v1/${path}?${new URLSearchParams(query)}`, { headers });
      return { status: r.status, headers: r.headers, body: (await r.json()) as Json };
    },
    async post(path: string, body: unknown) {
      const r = await fetch(`${rc.url}/api/v1/${path}`, { method: 'POST', headers: { ...headers, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      return { status: r.status, headers: r.headers, body: (await r.json()) as Json };
    },
    async upload(rid: string, name: string, type: string, data: Uint8Array) {
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(data)], { type }), name);
      const r = await fetch(`${rc.url}/api/v1/rooms.media/${rid}`, { method: 'POST', headers, body: form });
      return { status: r.status, body: (await r.json()) as Json };
    },
  };
}

/** A PNG header claiming 800×600: enough for the server's `identify`, and over the 480×360 thumbnail box. */
function png(width: number, height: number): Uint8Array {
  const b = Buffer.alloc(64);
  b.writeUInt32BE(0x89504e47, 0);
  b.writeUInt32BE(0x0d0a1a0a, 4);
  b.writeUInt32BE(13, 8);
  b.write('IHDR', 12, 'ascii');
  b.writeUInt32BE(width, 16);
  b.writeUInt32BE(height, 20);
  b.fill(7, 33);
  return new Uint8Array(b);
}

function expectNoSpecViolations() {
  if (!rc.specStatus.validated) console.warn(`SKIPPED spec validation: ${rc.specStatus.detail}`);
  expect(rc.specViolations).toEqual([]);
}

beforeEach(async () => {
  rc = await startRocketChatFake();
  bot = rc.addUser({ username: 'relais-bot', roles: ['bot'], name: 'Relais' });
  alice = rc.addUser({ username: 'alice', name: 'Alice Agent' });
});
afterEach(async () => {
  await rc.close();
});

describe('authentication', () => {
  it('answers 401 with the pre-8.0 body without credentials, and logs in with a PAT as resume token', async () => {
    const anon = await fetch(`${rc.url}/api/v1/me`);
    expect(anon.status).toBe(401);
    expect(await anon.json()).toEqual({ success: false, error: 'You must be logged in to do this.', status: 'error', message: 'You must be logged in to do this.' });

    const login = await fetch(`${rc.url}/api/v1/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ resume: bot.token }) });
    const body = (await login.json()) as Json;
    expect(login.status).toBe(200);
    expect(body).toMatchObject({ status: 'success', success: true, data: { userId: bot.userId, authToken: bot.token, me: { username: 'relais-bot', roles: ['bot'] } } });

    const me = await client(bot).get('me');
    expect(me.body).toMatchObject({ _id: bot.userId, username: 'relais-bot', success: true });
    const info = await client(bot).get('users.info', { username: 'alice' });
    expect(info.body.user).toMatchObject({ _id: alice.userId, username: 'alice', name: 'Alice Agent', type: 'user' });
    expect(info.body.user.roles).toBeUndefined();

    const bad = await fetch(`${rc.url}/api/v1/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ resume: 'nope' }) });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toMatchObject({ success: false, status: 'error', error: 403 });
    expectNoSpecViolations();
  });
});

describe('private groups', () => {
  it('creates a group, refuses a duplicate name and a name of an archived group', async () => {
    const c = client(bot);
    const created = await c.post('groups.create', { name: 'wa-4917012345', members: ['alice'] });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ success: true, group: { name: 'wa-4917012345', t: 'p', usersCount: 2, u: { username: 'relais-bot' }, ro: false } });
    const rid = created.body.group._id as string;

    const dup = await c.post('groups.create', { name: 'wa-4917012345' });
    expect(dup.status).toBe(400);
    expect(dup.body).toEqual({
      success: false,
      error: "A channel with name 'wa-4917012345' exists [error-duplicate-channel-name]",
      errorType: 'error-duplicate-channel-name',
      details: { function: 'RocketChat.getValidRoomName', channel_name: 'wa-4917012345' },
    });
    const invalid = await c.post('groups.create', { name: 'has space' });
    expect(invalid.body.errorType).toBe('error-invalid-room-name');

    expect((await c.post('groups.archive', { roomId: rid })).body).toEqual({ success: true });
    const again = await c.post('groups.create', { name: 'wa-4917012345' });
    expect(again.body).toMatchObject({ success: false, errorType: 'error-archived-duplicate-name' });
    expect((await c.post('groups.archive', { roomId: rid })).body.errorType).toBe('error-room-archived');
    expect((await c.get('groups.info', { roomId: rid })).body.group.archived).toBe(true);
    expectNoSpecViolations();
  });

  it('accepts messages into an archived group (issue #12906) and unarchives only with unarchive-room', async () => {
    const c = client(bot);
    const rid = (await c.post('groups.create', { name: 'wa-1', members: ['alice'] })).body.group._id as string;
    await c.post('groups.archive', { roomId: rid });

    const posted = await c.post('chat.sendMessage', { message: { rid, msg: 'customer wrote again' } });
    expect(posted.status).toBe(200);
    expect(posted.body.message).toMatchObject({ rid, msg: 'customer wrote again', u: { username: 'relais-bot' } });

    const refused = await c.post('groups.unarchive', { roomId: rid });
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({ success: false, error: 'Not authorized [error-not-authorized]', errorType: 'error-not-authorized', details: { method: 'unarchiveRoom' } });

    rc.setPermission(bot.userId, 'unarchive-room', true);
    expect((await c.post('groups.unarchive', { roomId: rid })).body).toEqual({ success: true });
    expect(rc.messages(rid).map((m) => m.t ?? m.msg)).toEqual(['room-archived', 'customer wrote again', 'room-unarchived']);
    expectNoSpecViolations();
  });

  it('renames a group (not when archived), deletes it with rooms.delete or groups.delete as owner only', async () => {
    const c = client(bot);
    const rid = (await c.post('groups.create', { name: 'wa-del1', members: ['alice'] })).body.group._id as string;
    await c.post('chat.sendMessage', { message: { rid, msg: 'hello' } });
    const renamed = await c.post('groups.rename', { roomId: rid, name: 'wa-del1-r1' });
    expect(renamed.body.group).toMatchObject({ _id: rid, name: 'wa-del1-r1' });
    expect(rc.messages(rid).some((m) => m.t === 'r' && m.msg === 'wa-del1-r1')).toBe(true);
    expect((await c.post('groups.create', { name: 'wa-del1' })).body.success).toBe(true); // the old name is free
    await c.post('groups.archive', { roomId: rid });
    expect((await c.post('groups.rename', { roomId: rid, name: 'x-y' })).body.errorType).toBe('error-room-archived');

    // alice is a member but not an owner: delete-p is refused.
    expect((await client(alice).post('rooms.delete', { roomId: rid })).body).toMatchObject({ success: false, errorType: 'error-not-allowed' });
    expect((await c.post('rooms.delete', { roomId: rid })).body).toEqual({ success: true });
    expect(rc.rooms().some((r) => r._id === rid)).toBe(false);
    expect(rc.messages(rid)).toEqual([]);
    expect((await c.post('rooms.delete', { roomId: rid })).body).toMatchObject({ success: false, errorType: 'error-invalid-room' });
    expect((await c.post('rooms.delete', {})).body).toEqual({ success: false, error: "The 'roomId' param is required" });
    expect(rc.specViolations.splice(0).map((v) => v.path)).toEqual(['/api/v1/rooms.delete']); // that request broke the spec on purpose

    const other = (await c.post('groups.create', { name: 'wa-del2' })).body.group._id as string;
    expect((await c.post('groups.delete', { roomId: other })).body).toEqual({ success: true });
    expect((await c.post('groups.delete', { roomId: other })).body.errorType).toBe('error-room-not-found');
    expectNoSpecViolations();
  });

  it('invites, lists members, sets topic/announcement/description with their system messages', async () => {
    const c = client(bot);
    const carol = rc.addUser({ username: 'carol' });
    const rid = (await c.post('groups.create', { name: 'wa-2' })).body.group._id as string;
    const inv = await c.post('groups.invite', { roomId: rid, userIds: [alice.userId, carol.userId] });
    expect(inv.body.group.usersCount).toBe(3);
    const members = await c.get('groups.members', { roomId: rid });
    expect(members.body.members.map((m: { username: string }) => m.username).sort()).toEqual(['alice', 'carol', 'relais-bot']);
    expect((await c.post('groups.setTopic', { roomId: rid, topic: '+49 170 …' })).body).toEqual({ topic: '+49 170 …', success: true });
    await c.post('groups.setAnnouncement', { roomId: rid, announcement: 'window open' });
    await c.post('groups.setDescription', { roomId: rid, description: 'WhatsApp customer' });
    expect(rc.messages(rid).map((m) => [m.t, m.msg])).toEqual([
      ['au', 'alice'],
      ['au', 'carol'],
      ['room_changed_topic', '+49 170 …'],
      ['room_changed_announcement', 'window open'],
      ['room_changed_description', 'WhatsApp customer'],
    ]);
    const team = rc.addTeam('support', ['relais-bot', 'alice']);
    expect((await c.get('teams.members', { teamName: team.name })).body.members.map((m: { user: { username: string } }) => m.user.username)).toEqual(['relais-bot', 'alice']);
    expectNoSpecViolations();
  });
});

describe('chat.sendMessage', () => {
  it('re-sending an existing _id inserts nothing and answers the documented 400', async () => {
    const c = client(bot);
    const rid = (await c.post('groups.create', { name: 'wa-3' })).body.group._id as string;
    const first = await c.post('chat.sendMessage', { message: { _id: 'AbCdEfGhIjKlMnOpQ', rid, msg: 'hello' } });
    expect(first.status).toBe(200);
    expect(first.body.message._id).toBe('AbCdEfGhIjKlMnOpQ');
    const second = await c.post('chat.sendMessage', { message: { _id: 'AbCdEfGhIjKlMnOpQ', rid, msg: 'hello' } });
    expect(second.status).toBe(400);
    expect(second.body).toEqual({ success: false, error: "Cannot read properties of undefined (reading 'starred')" });
    expect(rc.messages(rid).filter((m) => m._id === 'AbCdEfGhIjKlMnOpQ')).toHaveLength(1);
    expect((await c.get('chat.getMessage', { msgId: 'AbCdEfGhIjKlMnOpQ' })).body.message.msg).toBe('hello');
    expectNoSpecViolations();
  });

  it('refuses a client ts more than 60 s away, a room the user is not in, and impersonation without the permission', async () => {
    const b = client(bot);
    const rid = (await b.post('groups.create', { name: 'wa-4' })).body.group._id as string;
    const stale = await b.post('chat.sendMessage', { message: { rid, msg: 'x', ts: new Date(Date.now() - 120_000).toISOString() } });
    expect(stale.body).toMatchObject({ success: false, errorType: 'error-message-ts-out-of-sync', error: 'Message timestamp is out of sync [error-message-ts-out-of-sync]' });
    const outsider = await client(alice).post('chat.sendMessage', { message: { rid, msg: 'x' } });
    expect(outsider.body).toEqual({ success: false, error: 'error-not-allowed' });
    const alias = await client(alice).post('groups.create', { name: 'alice-room' }).then(async (g) => client(alice).post('chat.sendMessage', { message: { rid: g.body.group._id, msg: 'x', alias: 'Customer' } }));
    expect(alias.body).toEqual({ success: false, error: 'Not enough permission' });
    const botAlias = await b.post('chat.sendMessage', { message: { rid, msg: 'from the customer', alias: 'Customer', tmid: undefined } });
    expect(botAlias.body.message.alias).toBe('Customer');
    expectNoSpecViolations();
  });

  it('toggles reactions by shortcode, refuses unicode, syncs history and deletions', async () => {
    const c = client(bot);
    const rid = (await c.post('groups.create', { name: 'wa-5', members: ['alice'] })).body.group._id as string;
    const since = new Date(Date.now() - 1000).toISOString();
    const m = rc.agentSend('alice', rid, 'agent reply');
    expect((await c.post('chat.react', { messageId: m._id, emoji: ':+1:' })).body).toEqual({ success: true });
    expect((await c.get('chat.getMessage', { msgId: m._id })).body.message.reactions).toEqual({ ':+1:': { usernames: ['relais-bot'] } });
    await c.post('chat.react', { messageId: m._id, emoji: '+1' });
    expect((await c.get('chat.getMessage', { msgId: m._id })).body.message.reactions).toBeUndefined();
    const unicode = await c.post('chat.react', { messageId: m._id, emoji: '👍' });
    expect(unicode.body).toMatchObject({ success: false, errorType: 'error-not-allowed', error: 'Invalid emoji provided. [error-not-allowed]' });

    const gone = rc.agentSend('alice', rid, 'oops');
    await client(alice).post('chat.delete', { roomId: rid, msgId: gone._id });
    const sync = await c.get('chat.syncMessages', { roomId: rid, lastUpdate: since });
    expect(sync.body.result.updated.map((x: { msg: string }) => x.msg)).toEqual(['agent reply']);
    expect(sync.body.result.deleted.map((x: { _id: string }) => x._id)).toEqual([gone._id]);
    const history = await c.get('groups.history', { roomId: rid, count: '10' });
    expect(history.body.messages.map((x: { msg: string }) => x.msg)).toEqual(['agent reply']);
    expectNoSpecViolations();
  });
});

describe('uploads', () => {
  it('rooms.media + rooms.mediaConfirm, thumbnail beside the original, downloads need credentials', async () => {
    const c = client(bot);
    const rid = (await c.post('groups.create', { name: 'wa-6', members: ['alice'] })).body.group._id as string;
    const data = png(800, 600);
    const up = await c.upload(rid, 'photo.png', 'image/png', data);
    expect(up.status).toBe(200);
    const fileId = up.body.file._id as string;
    expect(up.body.file.url).toBe(`/file-upload/${fileId}/photo.png`);
    expect(rc.messages(rid)).toEqual([]);
    expect((await c.get('groups.history', { roomId: rid })).body.messages).toEqual([]);

    const conf = await c.post(`rooms.mediaConfirm/${rid}/${fileId}`, { msg: 'caption', description: 'from WhatsApp' });
    expect(conf.status).toBe(200);
    const msg = conf.body.message;
    expect(msg).toMatchObject({ rid, msg: 'caption', file: { _id: fileId, name: 'photo.png', type: 'image/png', format: 'png' } });
    expect(msg.files.map((f: { name: string }) => f.name)).toEqual(['photo.png', 'thumb-photo.png']);
    const [att] = msg.attachments;
    expect(att).toMatchObject({ title: 'photo.png', type: 'file', description: 'from WhatsApp', title_link: `/file-upload/${fileId}/photo.png`, title_link_download: true });
    const thumbId = msg.files[1]._id as string;
    expect(att.image_url).toBe(`/file-upload/${thumbId}/photo.png`);
    expect(att.image_dimensions).toEqual({ width: 480, height: 360 });

    const original = await fetch(`${rc.url}${att.title_link}`, { headers: { 'X-User-Id': bot.userId, 'X-Auth-Token': bot.token } });
    expect(original.status).toBe(200);
    expect(original.headers.get('content-type')).toBe('image/png');
    expect(new Uint8Array(await original.arrayBuffer())).toEqual(data);
    const thumb = await fetch(`${rc.url}${att.image_url}?rc_uid=${alice.userId}&rc_token=${alice.token}`);
    expect(thumb.status).toBe(200);
    expect(new Uint8Array(await thumb.arrayBuffer())).not.toEqual(data);
    // The real handler answers 403 with an empty body (FileUpload.requestCanAccessFiles), not 401.
    const anon = await fetch(`${rc.url}${att.title_link}`);
    expect(anon.status).toBe(403);
    expect(await anon.text()).toBe('');
    expect((await c.post(`rooms.mediaConfirm/${rid}/${fileId}x`, {})).body).toEqual({ success: false, error: '[invalid-file]', errorType: 'invalid-file' });
    expectNoSpecViolations();
    expect(rc.specUnchecked).toEqual([`GET ${att.title_link}`, `GET ${att.image_url}`, `GET ${att.title_link}`]);
  });

  it('refuses a multipart body sent with Content-Type application/json (the SDK defect) as busboy does', async () => {
    const rid = (await client(bot).post('groups.create', { name: 'wa-7' })).body.group._id as string;
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array([1, 2, 3])], { type: 'application/pdf' }), 'doc.pdf');
    const r = await fetch(`${rc.url}/api/v1/rooms.media/${rid}`, {
      method: 'POST',
      headers: { 'X-User-Id': bot.userId, 'X-Auth-Token': bot.token, 'Content-Type': 'application/json' },
      body: form,
    });
    expect(r.status).toBe(400);
    expect(await r.json()).toEqual({ success: false, error: 'Unsupported content type: application/json' });
    expect(rc.files).toEqual([]);
    if (rc.specStatus.validated) expect(rc.specViolations.map((v) => v.problem)).toEqual([expect.stringContaining('only accepts multipart/form-data')]);
  });
});

describe('rate limiter and faults', () => {
  it('limits 10 calls per endpoint and interval when on, with X-RateLimit headers; bot role bypasses', async () => {
    const limited = await startRocketChatFake({ rateLimiter: { enabled: true } });
    try {
      const u = limited.addUser({ username: 'agent' });
      const b = limited.addUser({ username: 'bot', roles: ['bot'] });
      const get = (x: AddedUser) => fetch(`${limited.url}/api/v1/me`, { headers: { 'X-User-Id': x.userId, 'X-Auth-Token': x.token } });
      for (let i = 0; i < 10; i++) expect((await get(u)).status).toBe(200);
      const r = await get(u);
      expect(r.status).toBe(429);
      expect(r.headers.get('x-ratelimit-limit')).toBe('10');
      expect(r.headers.get('x-ratelimit-remaining')).toBe('0');
      expect(Number(r.headers.get('x-ratelimit-reset'))).toBeGreaterThan(0);
      expect(await r.json()).toEqual({
        success: false,
        error: expect.stringMatching(/^Error, too many requests\. Please slow down\. You must wait \d+ seconds before trying this endpoint again\. \[error-too-many-requests\]$/),
      });
      for (let i = 0; i < 12; i++) expect((await get(b)).status).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('failNext answers the injected reply; resetAfterAccept does the work and drops the connection', async () => {
    const c = client(bot);
    const rid = (await c.post('groups.create', { name: 'wa-8' })).body.group._id as string;
    rc.failNext('POST /api/v1/chat.sendMessage', { status: 503, body: { success: false, error: 'down' }, headers: { 'Retry-After': '1' } });
    const failed = await c.post('chat.sendMessage', { message: { _id: 'Q1W2E3R4T5Y6U7I8O', rid, msg: 'a' } });
    expect(failed.status).toBe(503);
    expect(failed.headers.get('retry-after')).toBe('1');
    expect(rc.messages(rid)).toEqual([]);

    rc.resetAfterAccept('/api/v1/chat.sendMessage');
    await expect(c.post('chat.sendMessage', { message: { _id: 'Q1W2E3R4T5Y6U7I8O', rid, msg: 'a' } })).rejects.toThrow();
    expect(rc.messages(rid).map((m) => m._id)).toEqual(['Q1W2E3R4T5Y6U7I8O']);
    const retry = await c.post('chat.sendMessage', { message: { _id: 'Q1W2E3R4T5Y6U7I8O', rid, msg: 'a' } });
    expect(retry.body.error).toBe("Cannot read properties of undefined (reading 'starred')");
    expect(rc.requests.filter((r) => r.path === '/api/v1/chat.sendMessage').map((r) => r.fault ?? r.status)).toEqual(['fail', 'reset', 400]);
    expectNoSpecViolations();
  });
});
