/**
 * The ChatPlatform contract against the Mattermost fake (real Client4 over real HTTP), plus the
 * Mattermost-specific behaviours the neutral contract cannot express. The harness is in
 * mattermost-harness.ts; the agent side's Mattermost specifics are in mattermost-agent.test.ts.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import mm from '@mattermost/client';
import { createMattermostPlatform } from '../../src/chat/mattermost/index.js';
import { retryAfterMs } from '../../src/chat/mattermost/client.js';
import { emojiToMattermostName, mattermostNameToEmoji } from '../../src/chat/mattermost/emoji.js';
import { planParts, splitText, uploadName } from '../../src/chat/mattermost/posts.js';
import { RelaisError } from '../../src/core/errors.js';
import { DEFAULT_SHARED_DIR, startMattermostFake } from '../fakes/mattermost/index.js';
import { loadSystemEmojiNames } from '../fakes/mattermost/emoji-names.js';
import { runChatPlatformContract } from './chat-platform.contract.js';
import { makeMattermostHarness, type MattermostHarness } from './mattermost-harness.js';

const probe = await startMattermostFake();
const specNote = probe.specStatus.validated ? 'requests validated against the OpenAPI spec' : 'SPEC VALIDATION SKIPPED (../shared/specs/mattermost absent)';
if (!probe.specStatus.validated) console.warn(`[mattermost contract] ${probe.specStatus.detail}`);
await probe.close();

// WebSocketClient writes every (re)connection to console.log.
beforeAll(() => {
  vi.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterAll(() => vi.restoreAllMocks());

runChatPlatformContract(`mattermost (${specNote})`, makeMattermostHarness);

const spec = (h: MattermostHarness, key: string, agents = h.agents) => ({ key, displayName: 'Customer', team: h.team, agents });

async function rejection(p: Promise<unknown>): Promise<RelaisError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(RelaisError);
    return err as RelaisError;
  }
  throw new Error('expected a rejection');
}

describe('Mattermost adapter specifics', () => {
  let h: MattermostHarness;
  beforeEach(async () => {
    h = await makeMattermostHarness();
  });
  afterEach(async () => {
    const violations = h.protocolViolations();
    await h.close();
    expect(violations).toEqual([]);
  });

  it('resolves a real create race through the "exists" error and a re-read', async () => {
    const other = h.secondPlatform();
    await Promise.all([h.platform.connect(), other.connect()]);
    await Promise.all([h.platform.ensureCustomerChannel(spec(h, 'race2')), other.ensureCustomerChannel(spec(h, 'race2'))]);
    const creates = h.fake.requests.filter((r) => r.method === 'POST' && r.path === '/api/v4/channels');
    expect(creates.map((r) => r.status).sort()).toEqual([201, 400]);
  });

  it('joins an open team on first use', async () => {
    h.fake.addTeam('sales', { open: true });
    h.fake.addToTeam('sales', 'alice');
    const ref = await h.platform.ensureCustomerChannel({ ...spec(h, 'join1'), team: 'sales' });
    const joins = h.fake.requests.filter((r) => r.method === 'POST' && /^\/api\/v4\/teams\/[^/]+\/members$/.test(r.path));
    expect(joins.map((r) => r.status)).toEqual([201]);
    expect(h.fake.channelMemberNames(ref).sort()).toEqual(['alice', 'relais-bot']);
  });

  it('explains when the bot cannot see or join an invite-only team', async () => {
    h.fake.addTeam('closed');
    // Invite-only teams answer 404 to non-members (they do not leak), so this is "not found or not visible".
    const err = await rejection(h.makePlatform({ team: 'closed' }).connect());
    expect(err.code).toBe('chat_team_not_found');
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/"closed".*add the bot to that team/);
  });

  it('explains that unarchiving needs a team admin bot', async () => {
    h.fake.addTeam('plain', { open: true });
    h.fake.addToTeam('plain', 'alice', { admin: true });
    const s = { ...spec(h, 'arch2', ['alice']), team: 'plain' };
    const ref = await h.platform.ensureCustomerChannel(s); // the bot joins as a plain member
    h.fake.archiveChannel(ref, 'alice');
    const err = await rejection(h.platform.ensureCustomerChannel(s));
    expect(err.code).toBe('chat_auth_failed');
    expect(err.message).toMatch(/team admin/);
    h.fake.addToTeam('plain', 'relais-bot', { admin: true });
    expect(await h.platform.ensureCustomerChannel(s)).toBe(ref);
  });

  it('expands @group agents and warns once about unknown names', async () => {
    h.fake.addUser({ username: 'dora' });
    h.fake.addToTeam('support', 'dora');
    h.fake.addGroup('tier2', ['dora', 'bruno']);
    const ref = await h.platform.ensureCustomerChannel(spec(h, 'grp1', ['@tier2', '@alice', 'ghost']));
    expect(h.fake.channelMemberNames(ref).sort()).toEqual(['alice', 'bruno', 'dora', 'relais-bot']);
    expect(h.fake.specUnchecked.some((r) => r.startsWith('GET /api/v4/groups'))).toBe(true);
  });

  it('skips agents outside the team without failing', async () => {
    h.fake.addUser({ username: 'outsider' });
    const ref = await h.platform.ensureCustomerChannel(spec(h, 'out1', ['alice', 'outsider']));
    expect(h.fake.channelMemberNames(ref)).not.toContain('outsider');
  });

  it('checks membership again only after the TTL, and always after a restore', async () => {
    const ref = await h.platform.ensureCustomerChannel(spec(h, 'ttl1'));
    const memberReads = () => h.fake.requests.filter((r) => r.method === 'GET' && r.path === `/api/v4/channels/${ref}/members`).length;
    expect(memberReads()).toBe(1);
    await h.platform.ensureCustomerChannel(spec(h, 'ttl1'));
    expect(memberReads()).toBe(1);
    h.fake.archiveChannel(ref, 'alice');
    await h.platform.ensureCustomerChannel(spec(h, 'ttl1'));
    expect(memberReads()).toBe(2);
    const noCache = h.makePlatform({ memberTtlMs: 0 });
    await noCache.ensureCustomerChannel(spec(h, 'ttl1'));
    expect(memberReads()).toBe(3);
  });

  it('uses the X-Ratelimit-Reset header when Retry-After is absent', async () => {
    const ch = await h.platform.ensureCustomerChannel(spec(h, 'rl1'));
    h.fake.failNext('POST /api/v4/posts', { status: 429, headers: { 'X-Ratelimit-Reset': '3' } });
    const err = await rejection(h.platform.postMessage(ch, { relaisId: 'r', text: 'x' }));
    expect(err.code).toBe('chat_rate_limited');
    expect(err.retryAfterMs).toBe(3000);
  });

  it('times out a hanging server as a retryable error', async () => {
    const platform = h.makePlatform({ requestTimeoutMs: 200 });
    const ch = await platform.ensureCustomerChannel(spec(h, 'hang1'));
    h.fake.setHang('POST /api/v4/posts');
    const err = await rejection(platform.postMessage(ch, { relaisId: 'h', text: 'x' }));
    expect(err.code).toBe('chat_unreachable');
    expect(err.retryable).toBe(true);
    h.fake.setHang(null);
  });

  it('maps a refused connection to a retryable error and checkReady to not ok', async () => {
    const dead = createMattermostPlatform({ url: 'http://127.0.0.1:9', token: 'x', logger: pino({ level: 'silent' }) });
    const err = await rejection(dead.connect());
    expect(err.code).toBe('chat_unreachable');
    expect(err.retryable).toBe(true);
    expect((await dead.checkReady()).ok).toBe(false);
  });

  it('retries a post whose files Mattermost silently dropped, and never reports it as done', async () => {
    const ch = await h.platform.ensureCustomerChannel(spec(h, 'drop1'));
    // Another channel's upload: the server drops ids it cannot attach to this post.
    const other = await h.platform.ensureCustomerChannel(spec(h, 'drop2'));
    const foreign = h.fake.agentUpload('relais-bot', other, 'x.png', new Uint8Array([1]));
    const c = new mm.Client4();
    c.setUrl(h.fake.url);
    c.setToken(h.botToken);
    const post = await c.createPost({ channel_id: ch, message: 'm', file_ids: [foreign.id], props: { relais_id: 'dropped', relais_files: 1 } } as never);
    expect(post.file_ids ?? []).toEqual([]);
    expect(await h.platform.findPostByRelaisId(ch, 'dropped', new Date(Date.now() - 60_000))).toBeNull();
  });

  it('never puts the channel name or props out of the key and relais id', async () => {
    const ch = await h.platform.ensureCustomerChannel(spec(h, 'abc123'));
    expect(h.fake.channels().find((c) => c.id === ch)?.name).toBe('wa-abc123');
    await expect(h.platform.ensureCustomerChannel(spec(h, '+5511999998888'))).rejects.toMatchObject({ code: 'chat_invalid_channel_key' });
  });
});

describe('Mattermost adapter pure helpers', () => {
  it('splits text on code points, preferring line breaks, and keeps every character', () => {
    const text = ('👋 é\n').repeat(10_000);
    const chunks = splitText(text, 16383);
    expect(chunks.join('')).toBe(text);
    for (const c of chunks) expect(Array.from(c).length).toBeLessThanOrEqual(16383);
    expect(chunks[0]?.endsWith('\n')).toBe(true);
    expect(splitText('x'.repeat(20), 8)).toEqual(['xxxxxxxx', 'xxxxxxxx', 'xxxx']);
    expect(splitText('')).toEqual(['']);
  });

  it('plans parts: text chunks first, files five by five', () => {
    const f = (i: number) => ({ name: `f${i}.png`, mimeType: 'image/png', data: new Uint8Array([i]) });
    const parts = planParts({ text: 'hello', files: Array.from({ length: 11 }, (_, i) => f(i)) });
    expect(parts.map((p) => [p.message, p.files.length])).toEqual([['hello', 5], ['', 5], ['', 1]]);
  });

  it('names uploads so the server derives the right MIME type', () => {
    const data = new Uint8Array();
    expect(uploadName({ name: 'voice', mimeType: 'audio/ogg; codecs=opus', data })).toBe('voice.ogg');
    expect(uploadName({ name: '../../etc/passwd', mimeType: 'text/plain', data })).toBe('passwd.txt');
    expect(uploadName({ name: 'scan.PDF', mimeType: 'application/pdf', data })).toBe('scan.PDF');
    expect(uploadName({ name: '', mimeType: 'application/x-unknown', data })).toBe('file');
  });

  it('reads Retry-After as seconds or a date, and X-Ratelimit-Reset', () => {
    expect(retryAfterMs(new Headers({ 'Retry-After': '2' }))).toBe(2000);
    expect(retryAfterMs(new Headers({ 'Retry-After': new Date(10_000).toUTCString() }), 4000)).toBe(6000);
    expect(retryAfterMs(new Headers({ 'X-Ratelimit-Reset': '1' }))).toBe(1000);
    expect(retryAfterMs(new Headers())).toBeUndefined();
  });
});

describe('Mattermost emoji table', () => {
  it('only names emoji the server accepts (checked against an independent derivation)', async () => {
    const { names, aliasesLoaded } = loadSystemEmojiNames(`${DEFAULT_SHARED_DIR}/mattermost/emoji-additional-shortnames.json`);
    if (!aliasesLoaded) console.warn('[emoji] shared alias file absent: checking against emoji-datasource names only');
    const table = (await import('../../src/chat/mattermost/emoji-names.json', { with: { type: 'json' } })).default as { emoji: string[] };
    for (const line of table.emoji) {
      for (const name of line.split(' ').slice(1)) expect(names.has(name), name).toBe(true);
    }
    expect(emojiToMattermostName('👍')).toBe('+1');
    expect(emojiToMattermostName('❤')).toBe('heart');
    expect(emojiToMattermostName('👍🏿')).toBe('+1_dark_skin_tone');
    expect(emojiToMattermostName('1️⃣')).toBe('one');
    expect(emojiToMattermostName('🫠')).toBeUndefined();
    expect(mattermostNameToEmoji('thumbsup')).toBe('👍');
    expect(mattermostNameToEmoji('heart')).toBe('❤️');
    expect(mattermostNameToEmoji('thumbsup_tone2')).toBeUndefined(); // Slack style: not a Mattermost name
  });
});
