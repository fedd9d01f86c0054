/**
 * The rest of the Rocket.Chat fake: logout, rooms.info, roles.getUsersInRole, chat.update, custom
 * fields, the test controls (agentSend with threads and files, agentUpload) and the spec validator
 * itself (skipping visibly, reporting bad bodies, unknown and unimplemented endpoints).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startRocketChatFake, type AddedUser, type RocketChatFake } from './index.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are inspected field by field
type Json = Record<string, any>;

let rc: RocketChatFake;
let bot: AddedUser;
let alice: AddedUser;
let rid: string;

async function call(u: AddedUser | null, method: 'GET' | 'POST', path: string, body?: unknown, fake = rc): Promise<{ status: number; body: Json }> {
  const headers: Record<string, string> = u ? { 'X-User-Id': u.userId, 'X-Auth-Token': u.token } : {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(`${fake.url}/api/v1/${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as Json };
}

beforeEach(async () => {
  rc = await startRocketChatFake();
  bot = rc.addUser({ username: 'relais-bot', roles: ['bot'] });
  alice = rc.addUser({ username: 'alice' });
  rid = rc.addGroup('relais-bot', 'wa-100', ['alice'])._id;
});
afterEach(async () => {
  await rc.close();
});

describe('more endpoints', () => {
  it('logout pulls the presented token, a personal access token included', async () => {
    expect((await call(alice, 'POST', 'logout')).body).toEqual({ status: 'success', data: { message: "You've been logged out!" } });
    expect((await call(alice, 'GET', 'me')).status).toBe(401);
  });

  it('rooms.info answers members, refuses the SDK helper`s `rid` parameter and archived rooms', async () => {
    expect((await call(bot, 'GET', `rooms.info?roomId=${rid}`)).body).toMatchObject({ success: true, room: { _id: rid, name: 'wa-100', t: 'p' } });
    expect((await call(bot, 'GET', `rooms.info?rid=${rid}`)).body).toMatchObject({ success: false, errorType: 'error-roomid-param-not-provided' });
    const carol = rc.addUser({ username: 'carol' });
    expect((await call(carol, 'GET', `rooms.info?roomId=${rid}`)).body).toEqual({ success: false, error: 'not-allowed', errorType: 'Not Allowed' });
    await call(bot, 'POST', 'groups.archive', { roomId: rid });
    expect((await call(bot, 'GET', `rooms.info?roomId=${rid}`)).body).toMatchObject({ success: false, errorType: 'error-room-archived' });
    expect(rc.specViolations).toEqual([]);
  });

  it('roles.getUsersInRole needs access-permissions (admin), so a bot gets 403', async () => {
    const denied = await call(bot, 'GET', 'roles.getUsersInRole?role=user');
    expect(denied).toEqual({ status: 403, body: { success: false, error: 'User does not have the permissions required for this action [error-unauthorized]' } });
    const admin = rc.addUser({ username: 'root', roles: ['admin'] });
    const users = await call(admin, 'GET', 'roles.getUsersInRole?role=user');
    expect(users.body.users.map((u: { username: string }) => u.username)).toEqual(['alice']);
    expect(users.body.total).toBe(1);
  });

  it('chat.update: members edit their own messages only (owners hold edit-message) and edits are marked', async () => {
    const carol = rc.addUser({ username: 'carol' });
    await call(bot, 'POST', 'groups.invite', { roomId: rid, username: 'carol' });
    const m = rc.agentSend('alice', rid, 'typo');
    const byOther = await call(carol, 'POST', 'chat.update', { roomId: rid, msgId: m._id, text: 'x' });
    expect(byOther.body).toMatchObject({ success: false, errorType: 'error-action-not-allowed' });
    const own = await call(alice, 'POST', 'chat.update', { roomId: rid, msgId: m._id, text: 'fixed' });
    expect(own.body.message).toMatchObject({ msg: 'fixed', editedBy: { username: 'alice' }, editedAt: expect.any(String) });
    expect((await call(bot, 'POST', 'chat.update', { roomId: rid, msgId: m._id, text: 'by the owner' })).body.message.editedBy.username).toBe('relais-bot');
  });

  it('refuses customFields unless Message_CustomFields_Enabled is on', async () => {
    const off = await call(bot, 'POST', 'chat.sendMessage', { message: { rid, msg: 'x', customFields: { wamid: 'h' } } });
    expect(off.body).toEqual({ success: false, error: 'Custom fields not enabled' });
    const on = await startRocketChatFake({ messageCustomFieldsEnabled: true });
    try {
      const b = on.addUser({ username: 'b', roles: ['bot'] });
      const room = on.addGroup('b', 'g')._id;
      const sent = await call(b, 'POST', 'chat.sendMessage', { message: { rid: room, msg: 'x', customFields: { wamid: 'h' } } }, on);
      expect(sent.body.message.customFields).toEqual({ wamid: 'h' });
    } finally {
      await on.close();
    }
  });
});

describe('test controls', () => {
  it('agentSend posts thread replies and files through the normal paths', async () => {
    const root = rc.agentSend('alice', rid, 'root');
    const reply = rc.agentSend('alice', rid, 'in thread', { tmid: root._id });
    expect(reply.tmid).toBe(root._id);
    expect(rc.messages(rid).find((m) => m._id === root._id)).toMatchObject({ tcount: 1, replies: [alice.userId] });

    const small = Buffer.from([0xff, 0xd8, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x00, 0x20, 0x00, 0x40, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xd9]);
    const fileId = rc.agentUpload('alice', rid, { name: 'receipt.jpg', data: small });
    const withFile = rc.agentSend('alice', rid, 'see attached', { fileIds: [fileId] });
    expect(withFile).toMatchObject({ msg: 'see attached', file: { _id: fileId, type: 'image/jpeg', format: 'jpeg' } });
    // 64×32 is inside the 480×360 box: no thumbnail, the attachment shows the original.
    expect(withFile.files).toHaveLength(1);
    expect(withFile.attachments?.[0]).toMatchObject({ image_url: `/file-upload/${fileId}/receipt.jpg`, image_dimensions: { width: 64, height: 32 } });
    expect(rc.files.find((f) => f._id === fileId)).toMatchObject({ confirmed: true, name: 'receipt.jpg' });
  });

  it('DDP sendMessage refuses REST-only fields and answers a duplicate _id with an empty result', async () => {
    const frames = rc.ddpFrames;
    const { default: WebSocket } = await import('ws');
    const ws = new WebSocket(`${rc.url.replace('http', 'ws')}/websocket`);
    await new Promise((ok) => ws.on('open', ok));
    const got: Json[] = [];
    ws.on('message', (d) => got.push(JSON.parse(String(d)) as Json));
    const send = (f: unknown) => ws.send(JSON.stringify(f));
    send({ msg: 'connect', version: '1', support: ['1'] });
    send({ msg: 'method', method: 'login', id: 'l', params: [{ resume: bot.token }] });
    send({ msg: 'method', method: 'sendMessage', id: 'a', params: [{ rid, msg: 'x', alias: 'Customer' }] });
    send({ msg: 'method', method: 'sendMessage', id: 'b', params: [{ _id: 'SameIdTwice000001', rid, msg: 'x' }] });
    send({ msg: 'method', method: 'sendMessage', id: 'c', params: [{ _id: 'SameIdTwice000001', rid, msg: 'x' }] });
    const end = Date.now() + 20_000;
    while (got.filter((f) => f.msg === 'updated').length < 4 && Date.now() < end) await new Promise((ok) => setTimeout(ok, 10));
    ws.terminate();
    const result = (id: string) => got.find((f) => f.msg === 'result' && f.id === id);
    expect(result('a')).toMatchObject({ error: { error: 400, reason: 'Match failed' } });
    expect(result('b')?.result).toMatchObject({ _id: 'SameIdTwice000001' });
    expect(result('c')).toEqual({ msg: 'result', id: 'c' });
    expect(rc.messages(rid).filter((m) => m._id === 'SameIdTwice000001')).toHaveLength(1);
    expect(frames.some((f) => f.dir === 'in')).toBe(true);
  });
});

describe('spec validation', () => {
  it('says visibly when the OpenAPI files are absent', async () => {
    const blind = await startRocketChatFake({ specDir: null });
    try {
      expect(blind.specStatus).toEqual({ validated: false, detail: expect.stringContaining('NOT validated') });
      const u = blind.addUser({ username: 'u' });
      await call(u, 'POST', 'groups.archive', {}, blind);
      expect(blind.specViolations).toEqual([]);
    } finally {
      await blind.close();
    }
  });

  it('reports bad bodies, missing query parameters and unknown paths; answers 501 for spec operations it lacks', async () => {
    if (!rc.specStatus.validated) {
      console.warn(`SKIPPED: ${rc.specStatus.detail}`);
      return;
    }
    await call(bot, 'POST', 'groups.archive', {});
    await call(bot, 'GET', 'chat.getMessage');
    expect((await call(bot, 'GET', 'chat.doesNotExist')).body).toEqual({ status: 'error', message: 'API endpoint does not exist' });
    const lacking = await call(bot, 'POST', 'channels.create', { name: 'public' });
    expect(lacking.status).toBe(501);
    expect(rc.specViolations.map((v) => `${v.method} ${v.path}: ${v.problem}`)).toEqual([
      expect.stringMatching(/^POST \/api\/v1\/groups\.archive: body does not match .*must have required property 'roomId'/),
      expect.stringMatching(/^GET \/api\/v1\/chat\.getMessage: missing required query parameter "msgId"/),
      'GET /api/v1/chat.doesNotExist: no such operation in the Rocket.Chat OpenAPI files',
    ]);
  });
});
