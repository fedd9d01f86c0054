/**
 * The Rocket.Chat fake's realtime side, driven by the real `@rocket.chat/sdk` 1.0.0-alpha.42 and by a
 * raw `ws` client: DDP connect/login/sub, `__my_messages__` delivery (members only), reconnection
 * after dropped sockets — with the SDK's duplicate subscriptions made visible — and the SDK's REST
 * helpers, including its multipart defect. No wall-clock assertions: every wait polls for a state.
 */
import { Rocketchat } from '@rocket.chat/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startRocketChatFake, type AddedUser, type RocketChatFake } from './index.js';

const silent = { debug() {}, info() {}, warn() {}, warning() {}, error() {} };

interface StreamedMessage {
  _id: string;
  rid: string;
  msg: string;
  t?: string;
  ts: Date;
  u: { _id: string; username: string; name?: string };
  reactions?: Record<string, { usernames: string[] }>;
}

let rc: RocketChatFake;
let bot: AddedUser;
let rid: string;
let sdk: InstanceType<typeof Rocketchat> | undefined;

async function until(what: string, check: () => boolean, bound = 20_000): Promise<void> {
  const end = Date.now() + bound;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((ok) => setTimeout(ok, 10));
  }
}

/** An SDK client logged in over DDP with the bot's PAT, subscribed to `__my_messages__`. */
async function connectedBot(): Promise<{ client: InstanceType<typeof Rocketchat>; got: StreamedMessage[] }> {
  const client = new Rocketchat({ host: rc.url, logger: silent, reopen: 50 });
  sdk = client;
  await client.connect({});
  const login = await client.resume({ token: bot.token });
  expect(login).toMatchObject({ id: bot.userId, token: bot.token, type: 'resume', tokenExpires: { $date: expect.any(Number) } });
  await client.subscribe('stream-room-messages', '__my_messages__');
  const got: StreamedMessage[] = [];
  // The typings say error-first callback; the DDP driver passes the message as the first argument.
  const onMessage = (m: StreamedMessage) => void got.push(m);
  await client.onMessage(onMessage as unknown as Parameters<typeof client.onMessage>[0]);
  return { client, got };
}

const botSubs = () => rc.ddpSessions().filter((s) => s.userId === bot.userId).flatMap((s) => s.subscriptions.filter((x) => x.name === 'stream-room-messages'));

beforeEach(async () => {
  rc = await startRocketChatFake();
  bot = rc.addUser({ username: 'relais-bot', roles: ['bot'] });
  rc.addUser({ username: 'alice', name: 'Alice Agent' });
  rc.addUser({ username: 'bob' });
  rid = rc.addGroup('relais-bot', 'wa-491701234567', ['alice'])._id;
});
afterEach(async () => {
  await sdk?.disconnect();
  sdk = undefined;
  await rc.close();
});

describe('realtime with @rocket.chat/sdk', () => {
  it('resumes with the PAT, subscribes to __my_messages__ and receives agent messages of its rooms only', async () => {
    const { got } = await connectedBot();
    const elsewhere = rc.addGroup('bob', 'not-for-the-bot')._id;
    rc.agentSend('bob', elsewhere, 'private to bob');
    const reply = rc.agentSend('alice', rid, 'Hallo, wie kann ich helfen?');
    await until('the agent message', () => got.length >= 1);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ _id: reply._id, rid, msg: 'Hallo, wie kann ich helfen?', u: { username: 'alice', name: 'Alice Agent' } });
    expect(got[0]?.ts).toBeInstanceOf(Date);

    const frame = rc.ddpFrames.find((f) => f.dir === 'out' && (f.frame as { collection?: string }).collection === 'stream-room-messages');
    expect(frame?.frame).toMatchObject({
      msg: 'changed',
      collection: 'stream-room-messages',
      id: 'id',
      fields: { eventName: '__my_messages__', args: [{ _id: reply._id, ts: { $date: expect.any(Number) } }, { roomParticipant: true, roomType: 'p', roomName: 'wa-491701234567' }] },
    });

    rc.agentReact('alice', reply._id, ':+1:');
    await until('the reaction change', () => got.length >= 2);
    expect(got[1]?.reactions).toEqual({ ':+1:': { usernames: ['alice'] } });
  });

  it('reconnects after dropped sockets; from the second drop on every message arrives twice (SDK resubscription bug)', async () => {
    const { got } = await connectedBot();
    rc.agentSend('alice', rid, 'one');
    await until('first message', () => got.length === 1);

    rc.dropWebSockets();
    await until('SDK back with one subscription', () => botSubs().length === 1);
    rc.agentSend('alice', rid, 'two');
    await until('second message', () => got.length === 2);

    // The SDK kept its old subscription record and re-subscribes it next to the new one: the fake,
    // like the Streamer, serves each subscription, so the client now gets every event twice.
    rc.dropWebSockets();
    await until('SDK back with two subscriptions', () => botSubs().length === 2);
    rc.agentSend('alice', rid, 'three');
    await until('third message, twice', () => got.length === 4);
    expect(got.map((m) => m.msg)).toEqual(['one', 'two', 'three', 'three']);
    expect(new Set(got.map((m) => m._id)).size).toBe(3);
  });

  it('uses the SDK REST helpers after a REST login with the PAT; its upload helper hits the JSON Content-Type defect', async () => {
    const client = new Rocketchat({ host: rc.url, logger: silent, reopen: 50 });
    sdk = client;
    await client.login({ resume: bot.token } as never); // typed as {username, password}; `resume` is what a PAT needs
    const sent = await client.sendMessage({ _id: 'RelaisWamidHash01', msg: 'from WhatsApp' } as never, rid);
    expect(sent).toMatchObject({ _id: 'RelaisWamidHash01', rid, msg: 'from WhatsApp' });
    await expect(client.sendMessage({ _id: 'RelaisWamidHash01', msg: 'from WhatsApp' } as never, rid)).rejects.toMatchObject({
      status: 400,
      data: { success: false, error: "Cannot read properties of undefined (reading 'starred')" },
    });
    await client.setReaction(':white_check_mark:', 'RelaisWamidHash01');
    expect(rc.messages(rid).find((m) => m._id === 'RelaisWamidHash01')?.reactions).toEqual({ ':white_check_mark:': { usernames: ['relais-bot'] } });
    const history = await client.loadHistory(rid, new Date(Date.now() - 60_000));
    expect(history.updated.map((m) => m._id)).toEqual(['RelaisWamidHash01']);
    const viaDdp = (await client.methodCall('loadHistory', rid, null, 10, null)) as unknown as { messages: { _id: string }[] };
    expect(viaDdp.messages.map((m) => m._id)).toEqual(['RelaisWamidHash01']);
    expect(rc.specViolations).toEqual([]);

    const form = new FormData();
    form.append('file', new Blob([new Uint8Array([1, 2, 3])], { type: 'application/pdf' }), 'invoice.pdf');
    await expect(client.post(`rooms.media/${rid}`, form)).rejects.toMatchObject({
      status: 400,
      data: { success: false, error: 'Unsupported content type: application/json' },
    });
    if (rc.specStatus.validated) expect(rc.specViolations.map((v) => v.path)).toEqual([`/api/v1/rooms.media/${rid}`]);
  });
});

describe('DDP wire details (raw WebSocket)', () => {
  function rawClient(): Promise<{ ws: WebSocket; frames: Record<string, unknown>[]; send: (f: unknown) => void }> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${rc.url.replace('http', 'ws')}/websocket`);
      const frames: Record<string, unknown>[] = [];
      ws.on('message', (d) => frames.push(JSON.parse(String(d)) as Record<string, unknown>));
      ws.on('open', () => resolve({ ws, frames, send: (f) => ws.send(JSON.stringify(f)) }));
      ws.on('error', reject);
    });
  }

  it('speaks Meteor DDP: server_id, connected, ping/pong, result+updated, errors, ready/nosub, heartbeat', async () => {
    await rc.close();
    rc = await startRocketChatFake({ pingIntervalMs: 100 });
    bot = rc.addUser({ username: 'relais-bot', roles: ['bot'] });
    rid = rc.addGroup('relais-bot', 'wa-1')._id;
    const { ws, frames, send } = await rawClient();
    const find = (p: (f: Record<string, unknown>) => boolean) => frames.find(p);
    try {
      await until('server_id', () => frames.length >= 1);
      expect(frames[0]).toEqual({ server_id: '0' });
      send({ msg: 'connect', version: '1', support: ['1'] });
      await until('connected', () => Boolean(find((f) => f.msg === 'connected')));
      send({ msg: 'ping', id: 'p1' });
      await until('pong', () => Boolean(find((f) => f.msg === 'pong')));
      expect(find((f) => f.msg === 'pong')).toEqual({ msg: 'pong', id: 'p1' });

      send({ msg: 'method', method: 'login', id: '1', params: [{ resume: bot.token }] });
      send({ msg: 'method', method: 'nope', id: '2', params: [] });
      send({ msg: 'sub', id: 's1', name: 'stream-room-messages', params: [rid, false] });
      send({ msg: 'sub', id: 's2', name: 'no-such-stream', params: ['x', false] });
      send({ msg: 'sub', id: 's3', name: 'stream-notify-user', params: [`${bot.userId}/subscriptions-changed`, false] });
      send({ msg: 'method', method: 'sendMessage', id: '3', params: [{ _id: 'DdpMessageId00001', rid, msg: 'via ddp' }] });
      await until('method results', () => frames.filter((f) => f.msg === 'updated').length === 3);
      expect(find((f) => f.msg === 'result' && f.id === '1')).toMatchObject({ result: { id: bot.userId, token: bot.token, type: 'resume' } });
      expect(find((f) => f.msg === 'result' && f.id === '2')).toMatchObject({ error: { error: 404, reason: "Method 'nope' not found", errorType: 'Meteor.Error' } });
      expect(find((f) => f.msg === 'result' && f.id === '3')).toMatchObject({ result: { _id: 'DdpMessageId00001', ts: { $date: expect.any(Number) } } });
      expect(find((f) => f.msg === 'ready')).toEqual({ msg: 'ready', subs: ['s1'] });
      expect(find((f) => f.msg === 'nosub' && f.id === 's2')).toMatchObject({ error: { error: 404, reason: "Subscription 'no-such-stream' not found" } });
      await until('room stream event', () => Boolean(find((f) => f.collection === 'stream-room-messages')));
      expect(find((f) => f.collection === 'stream-room-messages')).toMatchObject({ fields: { eventName: rid, args: [{ _id: 'DdpMessageId00001', msg: 'via ddp' }] } });

      rc.addGroup('relais-bot', 'wa-2');
      await until('subscriptions-changed', () => Boolean(find((f) => f.collection === 'stream-notify-user')));
      expect(find((f) => f.collection === 'stream-notify-user')).toMatchObject({ fields: { eventName: `${bot.userId}/subscriptions-changed`, args: ['inserted', { name: 'wa-2', roles: ['owner'] }] } });

      send({ msg: 'unsub', id: 's1' });
      await until('nosub for s1', () => Boolean(find((f) => f.msg === 'nosub' && f.id === 's1')));
      await until('server heartbeat ping', () => Boolean(find((f) => f.msg === 'ping')));
    } finally {
      ws.terminate();
    }
  });
});
