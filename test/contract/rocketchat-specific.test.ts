/**
 * Rocket.Chat behaviours the neutral contract cannot express, against the fake with the real SDK:
 * deterministic ids, archived groups, agents by team and role, the SDK's duplicate deliveries after
 * reconnections, credentials kept out of every log line, rate limits, thumbnails and file resumption.
 * No assertion depends on wall-clock time.
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import type { AgentEvent, ChatChannelRef, ChatPostRef, CustomerChannelSpec } from '../../src/chat/platform.js';
import { emojiToRocketChatName, messageIdFor, rocketChatNameToEmoji } from '../../src/chat/rocketchat/index.js';
import { sendableShortcodes } from '../../src/chat/rocketchat/emoji.js';
import { splitText } from '../../src/chat/rocketchat/posts.js';
import { retryAfterMs } from '../../src/chat/rocketchat/rest.js';
import { sanitiseSdkLine } from '../../src/chat/rocketchat/sdk-logger.js';
import { RelaisError } from '../../src/core/errors.js';
import { emojiShortcodes } from '../fakes/rocketchat/emoji.js';
import type { RocketChatFakeOptions } from '../fakes/rocketchat/index.js';
import { makeRocketChatHarness, type RocketChatHarness } from './rocketchat-harness.js';

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

/** A PNG header of `w`×`h` (the fake reads dimensions from it; thumbnails start at 480×360). */
function png(w = 2, h = 3): Uint8Array {
  const b = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 0, 0, 0, 0, 0, 8, 6, 0, 0, 0, 1, 2, 3]);
  new DataView(b.buffer).setUint32(16, w);
  new DataView(b.buffer).setUint32(20, h);
  return b;
}

/** Captures pino's JSON lines. */
function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, logger: pino({ level: 'trace' }, stream) };
}

const spec = (h: RocketChatHarness, key: string, extra: Partial<CustomerChannelSpec> = {}): CustomerChannelSpec => ({
  key, displayName: 'Ana · +55••••••21', team: '', agents: h.agents, header: 'WhatsApp · window open', purpose: 'Bridged by Relais', ...extra,
});

describe('Rocket.Chat adapter specifics', () => {
  let h: RocketChatHarness;
  /** The harness of the running test, if it made one (the pure tests make none). */
  let live: RocketChatHarness | undefined;
  const harness = async (opts: RocketChatFakeOptions = {}): Promise<RocketChatHarness> => {
    const made = await makeRocketChatHarness(opts);
    h = made;
    live = made;
    await made.platform.connect();
    return made;
  };
  afterEach(async () => {
    vi.restoreAllMocks();
    if (!live) return;
    const violations = live.protocolViolations();
    await live.close();
    live = undefined;
    expect(violations).toEqual([]);
  });

  describe('deterministic message ids', () => {
    it('derives 17-character Meteor-style ids, distinct per part and per message', () => {
      const id = messageIdFor('0b7f3c1e-7f0a-4c55-9d0a-1b2c3d4e5f60');
      expect(id).toMatch(/^[23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz]{17}$/);
      expect(messageIdFor('0b7f3c1e-7f0a-4c55-9d0a-1b2c3d4e5f60')).toBe(id);
      expect(messageIdFor('0b7f3c1e-7f0a-4c55-9d0a-1b2c3d4e5f60', 1)).not.toBe(id);
      expect(messageIdFor('another')).not.toBe(id);
    });

    it('sends a retried post twice and gets one message: the duplicate answer is success', async () => {
      await harness();
      const ch = await h.platform.ensureCustomerChannel(spec(h, 'dup1'));
      const a = await h.platform.postMessage(ch, { relaisId: 'same-1', text: 'once' });
      const b = await h.platform.postMessage(ch, { relaisId: 'same-1', text: 'once' });
      expect(b).toBe(a);
      expect(a).toBe(messageIdFor('same-1'));
      expect((await h.posts(ch)).filter((p) => p.text === 'once')).toHaveLength(1);
      const sends = h.fake.requests.filter((r) => r.path === '/api/v1/chat.sendMessage');
      expect(sends.map((r) => r.status)).toEqual([200, 400]);
      expect(h.fake.requests.some((r) => r.path === '/api/v1/chat.getMessage' && r.query.msgId === a)).toBe(true);
      // Nothing personal and no custom fields (disabled on a default server) in what was sent.
      expect(JSON.stringify(sends.map((r) => r.json))).not.toContain('customFields');
    });

    it('treats a duplicate-key error (multi-server race) as posted once the message is confirmed', async () => {
      await harness();
      const ch = await h.platform.ensureCustomerChannel(spec(h, 'dup2'));
      const ref = await h.platform.postMessage(ch, { relaisId: 'race-1', text: 'raced' });
      const e11000 = { success: false, error: 'E11000 duplicate key error collection: rocketchat.rocketchat_message index: _id_ dup key' };
      h.fake.failNext('POST /api/v1/chat.sendMessage', { status: 400, body: e11000 });
      expect(await h.platform.postMessage(ch, { relaisId: 'race-1', text: 'raced' })).toBe(ref);
      // The same answer for a message that does not exist is a real refusal.
      h.fake.failNext('POST /api/v1/chat.sendMessage', { status: 400, body: e11000 });
      const err = await rejection(h.platform.postMessage(ch, { relaisId: 'race-2', text: 'never stored' }));
      expect(err.retryable).toBe(false);
    });

    it('finishes the files of an interrupted post instead of posting them again', async () => {
      await harness();
      const ch = await h.platform.ensureCustomerChannel(spec(h, 'resume1'));
      const files = ['a.png', 'b.png', 'c.png'].map((name) => ({ name, mimeType: 'image/png', data: png() }));
      h.fake.resetAfterAccept('POST /api/v1/rooms.mediaConfirm/{rid}/{fileId}');
      const err = await rejection(h.platform.postMessage(ch, { relaisId: 'resume-1', text: 'three photos', files }));
      expect(err.retryable).toBe(true);
      const since = new Date(Date.now() - 60_000);
      expect(await h.platform.findPostByRelaisId(ch, 'resume-1', since)).toBeNull(); // incomplete
      const ref = await h.platform.postMessage(ch, { relaisId: 'resume-1', text: 'three photos', files });
      expect(await h.platform.findPostByRelaisId(ch, 'resume-1', since)).toBe(ref);
      expect((await h.files(ref)).map((f) => f.name)).toEqual(['a.png', 'b.png', 'c.png']);
      const fileMessages = h.fake.messages(ch).filter((m) => m.file);
      expect(fileMessages.map((m) => m.file?.name)).toEqual(['a.png', 'b.png', 'c.png']);
      // The retry uploaded nothing new: it confirmed the uploads its anchor lists.
      expect(h.fake.requests.filter((r) => r.path.startsWith('/api/v1/rooms.media/'))).toHaveLength(3);
    });
  });

  describe('customer groups', () => {
    it('restores an archived group with groups.unarchive and posts into it', async () => {
      await harness();
      const ref = await h.platform.ensureCustomerChannel(spec(h, 'arch2'));
      await h.archive(ref);
      expect(await h.platform.ensureCustomerChannel(spec(h, 'arch2'))).toBe(ref);
      expect(h.fake.requests.filter((r) => r.path === '/api/v1/groups.unarchive').map((r) => r.status)).toEqual([200]);
      expect(h.fake.rooms().find((r) => r._id === ref)?.archived).toBeFalsy();
      expect(h.fake.requests.filter((r) => r.path === '/api/v1/groups.create')).toHaveLength(1);
    });

    it('refuses to post into an archived group (the server would store it where agents no longer look)', async () => {
      await harness();
      const ref = await h.platform.ensureCustomerChannel(spec(h, 'arch4'));
      await h.archive(ref);
      const err = await rejection(h.platform.postMessage(ref, { relaisId: 'c0ffee00-0000-4000-8000-000000000004', text: 'hello' }));
      expect(err.code).toBe('chat_channel_archived');
      expect(err.retryable).toBe(false);
      expect(h.fake.messages(ref).filter((m) => !m.t)).toHaveLength(0);
      // What the relay worker does next: restore, then post.
      expect(await h.platform.ensureCustomerChannel(spec(h, 'arch4'))).toBe(ref);
      await h.platform.postMessage(ref, { relaisId: 'c0ffee00-0000-4000-8000-000000000004', text: 'hello' });
      expect(h.fake.messages(ref).filter((m) => !m.t).map((m) => m.msg)).toEqual(['hello']);
    });

    it('refuses with a clear, permanent error when the bot may not unarchive', async () => {
      await harness({ rolePermissions: {} }); // the server default: unarchive-room for admins only
      const ref = await h.platform.ensureCustomerChannel(spec(h, 'arch3'));
      await h.archive(ref);
      const err = await rejection(h.platform.ensureCustomerChannel(spec(h, 'arch3')));
      expect(err.retryable).toBe(false);
      expect(err.code).toBe('chat_auth_failed');
      expect(err.message).toMatch(/unarchive-room/);
    });

    it('reports a name taken by an archived group the bot cannot see', async () => {
      await harness();
      const carla = h.fake.addUser({ username: 'carla' });
      const other = h.fake.addGroup('carla', 'wa-hidden1');
      const res = await fetch(`${h.fake.url}/api/v1/groups.archive`, {
        method: 'POST',
        headers: { 'X-User-Id': carla.userId, 'X-Auth-Token': carla.token, 'Content-Type': 'application/json' },
        body: JSON.stringify({ roomId: other._id }),
      });
      expect(res.status).toBe(200);
      const err = await rejection(h.platform.ensureCustomerChannel(spec(h, 'hidden1')));
      expect(err.code).toBe('chat_channel_unavailable');
      expect(err.retryable).toBe(false);
      const creates = h.fake.requests.filter((r) => r.path === '/api/v1/groups.create');
      expect(creates.map((r) => r.status)).toEqual([400]);
    });

    it('resolves team agents and skips role agents with a warning when listing roles is refused', async () => {
      const { lines, logger } = capture();
      await harness();
      h.fake.addUser({ username: 'dora' });
      h.fake.addTeam('agents', ['dora', 'bruno', 'relais-bot']);
      const p = h.makePlatform({ logger });
      const ref = await p.ensureCustomerChannel(spec(h, 'team1', { agents: ['team:agents', 'role:livechat-agent', 'alice'] }));
      const [ch] = await h.channels('team1');
      expect(ch?.ref).toBe(ref);
      expect(ch?.members).toEqual(expect.arrayContaining(['relais-bot', 'dora', 'bruno', 'alice']));
      const warnings = lines.map((l) => JSON.parse(l) as { level: number; msg: string; role?: string }).filter((l) => l.level === 40);
      expect(warnings.some((w) => w.role === 'livechat-agent' && /access-permissions/.test(w.msg))).toBe(true);
      expect(h.fake.requests.find((r) => r.path === '/api/v1/roles.getUsersInRole')?.status).toBe(403);
      await p.close();
    });

    it('puts the display name in the announcement, the header in the topic and the purpose in the description', async () => {
      await harness();
      const ref = await h.platform.ensureCustomerChannel(spec(h, 'set1'));
      const room = h.fake.rooms().find((r) => r._id === ref);
      expect(room).toMatchObject({ name: 'wa-set1', announcement: 'Ana · +55••••••21', topic: 'WhatsApp · window open', description: 'Bridged by Relais' });
      const before = h.fake.messages(ref).filter((m) => m.t).length;
      await h.platform.ensureCustomerChannel(spec(h, 'set1'));
      await h.platform.updateCustomerChannel?.(ref, { header: 'WhatsApp · window open' });
      expect(h.fake.messages(ref).filter((m) => m.t)).toHaveLength(before); // unchanged settings post nothing
    });
  });

  describe('realtime', () => {
    const record = () => {
      const events: AgentEvent[] = [];
      const connected: boolean[] = [];
      return {
        events,
        connected,
        handlers: {
          async onEvent(e: AgentEvent) {
            events.push(e);
          },
          async onConnected({ reconnect }: { reconnect: boolean }) {
            connected.push(reconnect);
          },
        },
      };
    };
    const streamSubs = () => h.fake.ddpSessions().flatMap((s) => s.subscriptions).filter((s) => s.name === 'stream-room-messages');

    it('de-duplicates the SDK\'s repeated deliveries after two drops', async () => {
      await harness();
      const p = h.makePlatform({ realtime: { pruneSubscriptions: false } });
      const ch = await p.ensureCustomerChannel(spec(h, 'dupe1'));
      const rec = record();
      const stop = await p.listen(rec.handlers);
      try {
        await until(() => rec.connected.length === 1, 'the first connection');
        for (let drop = 1; drop <= 2; drop++) {
          h.dropConnections();
          await until(() => rec.connected.length === drop + 1, `reconnection ${drop}`);
        }
        expect(rec.connected).toEqual([false, true, true]);
        // The SDK's bug reproduced: the server now serves the stream more than once to the bot.
        await until(() => streamSubs().length >= 2, 'the duplicate subscriptions');
        const post = await h.agentPost(ch, 'said once');
        await h.agentReact(post, '👍', true);
        const last = await h.agentPost(ch, 'the end');
        await until(() => rec.events.some((e) => e.kind === 'post' && e.post === last), 'the last post');
        await sleep(100);
        expect(rec.events.filter((e) => e.kind === 'post' && e.post === post)).toHaveLength(1);
        expect(rec.events.filter((e) => e.kind === 'reaction' && e.post === post)).toHaveLength(1);
        expect(h.fake.ddpFrames.filter((f) => f.dir === 'out' && JSON.stringify(f.frame).includes('said once')).length).toBeGreaterThan(1);
      } finally {
        await stop();
        await p.close();
      }
    });

    it('keeps one subscription across reconnections (stale SDK records pruned)', async () => {
      await harness();
      const rec = record();
      const stop = await h.platform.listen(rec.handlers);
      try {
        await until(() => rec.connected.length === 1, 'the first connection');
        for (let drop = 1; drop <= 3; drop++) {
          h.dropConnections();
          await until(() => rec.connected.length === drop + 1, `reconnection ${drop}`);
        }
        await until(() => streamSubs().length === 1, 'a single live subscription');
        expect(streamSubs()[0]?.eventName).toBe('__my_messages__');
      } finally {
        await stop();
      }
    });

    it('never logs the token, through pino or the console, while connecting, posting and reconnecting', async () => {
      const { lines, logger } = capture();
      const consoleOut: string[] = [];
      for (const m of ['log', 'info', 'warn', 'error', 'debug'] as const) {
        vi.spyOn(console, m).mockImplementation((...args: unknown[]) => {
          consoleOut.push(args.map(String).join(' '));
        });
      }
      await harness();
      const p = h.makePlatform({ logger });
      await p.connect();
      const ch = await p.ensureCustomerChannel(spec(h, 'logs1', { agents: ['alice', 'ghost', 'role:admin'] }));
      await p.postMessage(ch, { relaisId: 'log-1', text: 'secret customer words', files: [{ name: 'x.pdf', mimeType: 'application/pdf', data: new Uint8Array([1, 2]) }] });
      const rec = record();
      const stop = await p.listen(rec.handlers);
      await until(() => rec.connected.length === 1, 'the first connection');
      h.dropConnections();
      await until(() => rec.connected.length === 2, 'the reconnection');
      await h.agentPost(ch, 'agent words');
      h.fake.failNext('POST /api/v1/chat.sendMessage', { status: 401 });
      await rejection(p.postMessage(ch, { relaisId: 'log-2', text: 'x' }));
      await stop();
      await p.close();

      // The token was really used on both channels…
      expect(h.fake.ddpFrames.some((f) => f.dir === 'in' && JSON.stringify(f.frame).includes(h.botToken))).toBe(true);
      // …and appears in no log line, nor does any message text.
      const all = [...lines, ...consoleOut].join('\n');
      expect(lines.length).toBeGreaterThan(5);
      expect(lines.some((l) => l.includes('"sdk"'))).toBe(true);
      expect(all).not.toContain(h.botToken);
      expect(all).not.toContain(h.botToken.slice(0, 12));
      expect(all).not.toMatch(/secret customer words|agent words/);
    });

    it('keeps retrying a refused realtime login with a warning, without failing or leaking the token', async () => {
      const { lines, logger } = capture();
      await harness();
      const p = h.makePlatform({ logger, token: 'revoked-token-0123456789' });
      const rec = record();
      const stop = await p.listen(rec.handlers);
      try {
        await until(() => h.fake.ddpFrames.filter((f) => f.dir === 'in' && JSON.stringify(f.frame).includes('"login"')).length >= 2, 'a second login attempt');
        expect(rec.connected).toEqual([]);
        const warnings = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level === 40);
        expect(warnings.some((w) => /realtime login refused/.test(w.msg))).toBe(true);
        expect(lines.join('\n')).not.toContain('revoked-token-0123456789');
      } finally {
        await stop();
        await p.close();
      }
    });

    it('delivers the original file of an image, not its thumbnail', async () => {
      await harness();
      const ch = await h.platform.ensureCustomerChannel(spec(h, 'thumb1'));
      const big = png(800, 600);
      const rec = record();
      const stop = await h.platform.listen(rec.handlers);
      try {
        await until(() => rec.connected.length === 1, 'the first connection');
        const post = await h.agentPost(ch, 'big photo', { files: [{ name: 'big.png', mimeType: 'image/png', data: big }] });
        await until(() => rec.events.some((e) => e.kind === 'post' && e.post === post), 'the post');
        const stored = h.fake.messages(ch).find((m) => m._id === post);
        expect(stored?.files).toHaveLength(2); // original + thumbnail
        const event = rec.events.find((e) => e.kind === 'post' && e.post === post);
        const files = event?.kind === 'post' ? event.files : [];
        expect(files).toEqual([{ id: stored?.files?.[0]?._id, name: 'big.png', mimeType: 'image/png', size: big.byteLength }]);
        const file = await h.platform.downloadFile(files[0] as NonNullable<(typeof files)[0]>);
        expect(file.data).toEqual(big);
      } finally {
        await stop();
      }
    });

    it('maps reactions by diffing the streamed reactions map, with at from _updatedAt', async () => {
      await harness();
      const ch = await h.platform.ensureCustomerChannel(spec(h, 'react3'));
      const rec = record();
      const stop = await h.platform.listen(rec.handlers);
      try {
        await until(() => rec.connected.length === 1, 'the first connection');
        const post = await h.agentPost(ch, 'react');
        await h.agentReact(post, '👍🏽', true);
        await h.agentReact(post, '❤️', true);
        await h.agentReact(post, '👍🏽', false);
        await until(() => rec.events.filter((e) => e.kind === 'reaction').length >= 3, 'three reactions');
        const reactions = rec.events.filter((e) => e.kind === 'reaction');
        expect(reactions.map((r) => r.kind === 'reaction' && `${r.emojiName}:${r.on}:${r.emoji}`)).toEqual(['thumbsup_tone3:true:👍🏽', 'heart:true:❤️', 'thumbsup_tone3:false:👍🏽']);
        const ats = reactions.map((r) => (r.kind === 'reaction' ? r.at : 0));
        expect([...ats].sort((a, b) => a - b)).toEqual(ats);
        expect(reactions.every((r) => r.kind === 'reaction' && r.authorId === h.aliceId)).toBe(true);
      } finally {
        await stop();
      }
    });
  });

  describe('errors', () => {
    it('maps the REST rate limiter to a retryable error with the reset delay', async () => {
      await harness({ rateLimiter: { enabled: true, calls: 2, intervalMs: 60_000 } });
      // A user without the bot role is limited (the bot role bypasses the limiter).
      const p = h.makePlatform({ userId: h.aliceId, token: h.aliceToken });
      const ch = await h.platform.ensureCustomerChannel(spec(h, 'rate1'));
      const post = (i: number) => p.postMessage(ch as ChatChannelRef, { relaisId: `rate-${i}`, text: 'x' });
      await post(1);
      await post(2);
      const err = await rejection(post(3));
      expect(err.code).toBe('chat_rate_limited');
      expect(err.retryable).toBe(true);
      expect(err.retryAfterMs).toBeGreaterThan(0);
      expect(err.retryAfterMs).toBeLessThanOrEqual(60_000);
      await p.close();
    });

    it('reads Retry-After and Rocket.Chat\'s epoch X-RateLimit-Reset', () => {
      expect(retryAfterMs(new Headers({ 'retry-after': '7' }))).toBe(7000);
      expect(retryAfterMs(new Headers({ 'x-ratelimit-reset': String(1_000_000_030_000) }), 1_000_000_000_000)).toBe(30_000);
      expect(retryAfterMs(new Headers({ 'x-ratelimit-reset': '12' }))).toBe(12_000);
      expect(retryAfterMs(new Headers())).toBeUndefined();
    });

    it('says which credentials to check on 401 and keeps server text out of messages', async () => {
      await harness();
      const p = h.makePlatform({ token: 'not-the-token' });
      const err = await rejection(p.connect());
      expect(err.code).toBe('chat_auth_failed');
      expect(err.message).toMatch(/ROCKETCHAT_USER_ID and ROCKETCHAT_TOKEN/);
      expect(err.message).not.toContain('not-the-token');
      expect(await p.checkReady()).toMatchObject({ ok: false });
    });
  });

  describe('pure parts', () => {
    it('sends only shortcodes the server\'s emoji table accepts, skin tones as _toneN', () => {
      const known = emojiShortcodes();
      expect(sendableShortcodes().filter((s) => !known.has(s))).toEqual([]);
      expect(emojiToRocketChatName('👍')).toBe(':thumbsup:');
      expect(emojiToRocketChatName('👍🏿')).toBe(':thumbsup_tone5:');
      expect(emojiToRocketChatName('❤')).toBe(':heart:');
      expect(emojiToRocketChatName('🫠')).toBeUndefined();
      expect(rocketChatNameToEmoji(':slight_smile:')).toBe('🙂');
      expect(rocketChatNameToEmoji('+1')).toBe('👍');
      expect(rocketChatNameToEmoji('partyparrot')).toBeUndefined();
    });

    it('splits by UTF-16 length without cutting a surrogate pair', () => {
      const text = '😀'.repeat(10);
      const parts = splitText(text, 5);
      expect(parts.join('')).toBe(text);
      expect(parts.every((p) => p.length <= 5 && !/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/.test(p))).toBe(true);
      expect(splitText('')).toEqual([]);
    });

    it('reduces SDK log lines to safe text', () => {
      expect(sanitiseSdkLine(['[DDP driver] Login with {"token":"abc"}'], ['abc'])).toBe('sdk login event');
      expect(sanitiseSdkLine(['[ddp] Close (1006) '], [])).toBe('Close (1006)');
      expect(sanitiseSdkLine(['[driver] Connecting', { host: 'x' }], [])).toBe('Connecting');
      expect(sanitiseSdkLine(['[ddp] sending message: {"msg":"method","params":[{"resume":"abc"}]}'], ['abc'])).toBe('sdk login event');
      expect(sanitiseSdkLine([{ any: 'object' }], [])).toBeNull();
      expect(sanitiseSdkLine(['[ddp] Reopen error: boom secret-abc'], ['secret-abc'])).toBe('Reopen error: boom [redacted]');
    });
  });
});

// Type-only use so the refs stay branded in this file.
export type { ChatPostRef };
