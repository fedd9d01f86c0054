/**
 * The contract every `ChatPlatform` adapter passes, run against a protocol-faithful fake of its server
 * (`runChatPlatformContract('mattermost', makeHarness)`). The harness is platform-neutral: it hands out
 * a fresh adapter, a second adapter on the same server (for races), and inspectors/fault switches that
 * speak in the port's terms. Adapters for other platforms (Rocket.Chat…) provide their own harness.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RelaisError } from '../../src/core/errors.js';
import type {
  AgentEvent, AgentPostEvent, AgentReactionEvent, ChatAgentSide, ChatChannelRef, ChatPlatform, ChatPostRef, CustomerChannelSpec,
} from '../../src/chat/platform.js';
import { runChatRemovalContract } from './chat-removal.contract.js';

export interface HarnessChannel {
  ref: ChatChannelRef;
  name: string;
  displayName: string;
  header: string;
  private: boolean;
  archived: boolean;
  /** Usernames of the members. */
  members: string[];
}

export interface HarnessPost {
  ref: ChatPostRef;
  text: string;
  /** Thread root, when the post is a reply. */
  rootRef?: ChatPostRef;
  authorIsBot: boolean;
  /** The platform's raw custom data on the post (Mattermost props, Rocket.Chat customFields…). */
  meta: Record<string, unknown>;
}

export interface HarnessFile {
  name: string;
  mimeType: string;
  data: Uint8Array;
}

/** Operations faults can target, named in the port's terms. */
export type FaultOp = 'post' | 'channelLookup' | 'channelCreate' | 'any';

export interface ContractHarness {
  platform: ChatPlatform;
  /** A second, independent adapter instance with the same credentials (a second worker). */
  secondPlatform(): ChatPlatform;
  /** Team / workspace name for specs, agents that exist, and a name that does not. */
  team: string;
  agents: string[];
  unknownAgent: string;

  channels(key: string): Promise<HarnessChannel[]>;
  /** The channel with that ref whatever its name now (renamed, archived), or undefined when it no longer exists. */
  channelByRef(ref: ChatChannelRef): Promise<HarnessChannel | undefined>;
  /** Files of the channel that are attached to a live post and can still be downloaded. */
  liveFileCount(channel: ChatChannelRef): Promise<number>;
  /** Makes the server refuse (or allow) deleting channels through its API: Mattermost's EnableAPIChannelDeletion, Rocket.Chat's delete-p for the bot. */
  forbidChannelDeletion(forbid: boolean): void;
  archive(channel: ChatChannelRef): Promise<void>;
  /** Posts in the channel, oldest first, system messages excluded. */
  posts(channel: ChatChannelRef): Promise<HarnessPost[]>;
  /** The files of a post, downloaded through the platform's own download endpoint. */
  files(post: ChatPostRef): Promise<HarnessFile[]>;
  /** Reaction names the bot has on a post. */
  botReactions(post: ChatPostRef): Promise<string[]>;
  /** A post by a human agent, `agents[0]` (as if typed in the UI), optionally in a thread or with files. */
  agentPost(channel: ChatChannelRef, text: string, opts?: { rootPost?: ChatPostRef; files?: HarnessFile[] }): Promise<ChatPostRef>;
  /** `agents[0]` puts on (or takes off) a reaction, given as a Unicode emoji. */
  agentReact(post: ChatPostRef, emoji: string, on: boolean): Promise<void>;
  /** Cuts every realtime connection abruptly, as a network failure would (the server keeps running). */
  dropConnections(): void;

  /** The next matching request(s) get this HTTP status (and a Retry-After header if given). */
  failNext(op: FaultOp, opts: { status: number; retryAfterSeconds?: number; times?: number }): void;
  /** The next matching request is processed, then the connection is cut before the answer. */
  resetAfterAccept(op: FaultOp): void;

  /** Requests that broke the platform's published API description (must stay empty). */
  protocolViolations(): string[];
  close(): Promise<void>;
}

const spec = (h: ContractHarness, key: string, extra: Partial<CustomerChannelSpec> = {}): CustomerChannelSpec => ({
  key,
  displayName: 'Ana Souza · +55••••••21',
  team: h.team,
  agents: h.agents,
  header: 'WhatsApp customer · business line 1',
  purpose: 'Conversation bridged by Relais',
  ...extra,
});

async function rejection(p: Promise<unknown>): Promise<RelaisError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(RelaisError);
    return err as RelaisError;
  }
  throw new Error('expected a rejection');
}

/** The platform with its agent side, which every adapter implements (fails the test otherwise). */
function agentSide(p: ChatPlatform): ChatPlatform & ChatAgentSide {
  const a = p as ChatPlatform & Partial<ChatAgentSide>;
  for (const m of ['listen', 'postsSince', 'downloadFile', 'postNotice'] as const) {
    if (typeof a[m] !== 'function') throw new Error(`the adapter does not implement ChatAgentSide.${m}`);
  }
  return a as ChatPlatform & ChatAgentSide;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` up to `attempts` times, 20 ms apart (bounded; no assertion on elapsed time). */
async function until(check: () => boolean | Promise<boolean>, what: string, attempts = 500): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return;
    await sleep(20);
  }
  throw new Error(`gave up waiting for ${what}`);
}

const isPost = (e: AgentEvent): e is AgentPostEvent => e.kind === 'post';
const isReaction = (e: AgentEvent): e is AgentReactionEvent => e.kind === 'reaction';

/** A listener that records everything, in order, as `log` lines and events. */
function recorder() {
  const events: AgentEvent[] = [];
  const log: string[] = [];
  const connected: boolean[] = [];
  return {
    events,
    log,
    connected,
    posts: () => events.filter(isPost),
    post: (ref: ChatPostRef) => events.filter(isPost).find((e) => e.post === ref),
    handlers: (onConnected?: (reconnect: boolean) => Promise<void>) => ({
      async onEvent(e: AgentEvent) {
        events.push(e);
        log.push(`event:${e.kind === 'post' ? e.post : `${e.post}:${e.on ? 'on' : 'off'}`}`);
      },
      async onConnected({ reconnect }: { reconnect: boolean }) {
        log.push(`connected:${reconnect}`);
        await onConnected?.(reconnect);
        connected.push(reconnect);
        log.push(`connected-done:${reconnect}`);
      },
    }),
  };
}

const png = (): Uint8Array => new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 2, 0, 0, 0, 3, 8, 6, 0, 0, 0, 1, 2, 3]);

export function runChatPlatformContract(name: string, makeHarness: () => Promise<ContractHarness>): void {
  describe(`ChatPlatform contract: ${name}`, () => {
    let h: ContractHarness;
    beforeEach(async () => {
      h = await makeHarness();
      await h.platform.connect();
    });
    afterEach(async () => {
      const violations = h.protocolViolations();
      await h.close();
      expect(violations).toEqual([]);
    });

    it('creates one private channel per key, named from the key, with bot and agents as members', async () => {
      const ref = await h.platform.ensureCustomerChannel(spec(h, 'k1a2b3'));
      const [ch, ...rest] = await h.channels('k1a2b3');
      expect(rest).toEqual([]);
      expect(ch?.ref).toBe(ref);
      expect(ch?.private).toBe(true);
      expect(ch?.name).toContain('k1a2b3');
      expect(ch?.name).not.toMatch(/\d{6,}/);
      expect(ch?.displayName).toBe('Ana Souza · +55••••••21');
      expect(ch?.header).toBe('WhatsApp customer · business line 1');
      for (const agent of h.agents) expect(ch?.members).toContain(agent);
    });

    it('is idempotent and skips unknown agents without failing', async () => {
      const s = spec(h, 'idem1', { agents: [...h.agents, h.unknownAgent] });
      const a = await h.platform.ensureCustomerChannel(s);
      const b = await h.platform.ensureCustomerChannel(s);
      expect(b).toBe(a);
      expect(await h.channels('idem1')).toHaveLength(1);
    });

    it('gives two concurrent workers the same single channel', async () => {
      const other = h.secondPlatform();
      await other.connect();
      const [a, b] = await Promise.all([
        h.platform.ensureCustomerChannel(spec(h, 'race1')),
        other.ensureCustomerChannel(spec(h, 'race1')),
      ]);
      expect(b).toBe(a);
      expect(await h.channels('race1')).toHaveLength(1);
      await other.close();
    });

    it('truncates long display names to the platform limit', async () => {
      const long = '😀'.repeat(80) + ' customer';
      const ref = await h.platform.ensureCustomerChannel(spec(h, 'long1', { displayName: long }));
      const [ch] = await h.channels('long1');
      expect(ch?.ref).toBe(ref);
      expect(Array.from(ch?.displayName ?? '').length).toBeLessThanOrEqual(64);
      expect(ch?.displayName.startsWith('😀😀')).toBe(true);
    });

    it('restores an archived channel instead of creating another', async () => {
      const ref = await h.platform.ensureCustomerChannel(spec(h, 'arch1'));
      await h.archive(ref);
      expect((await h.channels('arch1'))[0]?.archived).toBe(true);
      const again = await h.platform.ensureCustomerChannel(spec(h, 'arch1'));
      expect(again).toBe(ref);
      const list = await h.channels('arch1');
      expect(list).toHaveLength(1);
      expect(list[0]?.archived).toBe(false);
      await h.platform.postMessage(again, { relaisId: 'after-restore', text: 'back again' });
    });

    it('updates the display name and header', async () => {
      const ref = await h.platform.ensureCustomerChannel(spec(h, 'upd1'));
      await h.platform.updateCustomerChannel?.(ref, { displayName: 'Ana S. · +55••••••21', header: 'new header' });
      const [ch] = await h.channels('upd1');
      expect(ch?.displayName).toBe('Ana S. · +55••••••21');
      expect(ch?.header).toBe('new header');
    });

    it('posts text as the bot, marked with the relais id and nothing personal', async () => {
      const ch = await h.platform.ensureCustomerChannel(spec(h, 'text1'));
      const ref = await h.platform.postMessage(ch, { relaisId: '0b7f3c1e-7f0a-4c55-9d0a-1b2c3d4e5f60', text: '**Ana:** Olá! _tudo bem?_' });
      const posts = await h.posts(ch);
      const mine = posts.find((p) => p.ref === ref);
      expect(mine?.text).toBe('**Ana:** Olá! _tudo bem?_');
      expect(mine?.authorIsBot).toBe(true);
      expect(JSON.stringify(mine?.meta)).toContain('0b7f3c1e-7f0a-4c55-9d0a-1b2c3d4e5f60');
      expect(JSON.stringify(mine?.meta)).not.toMatch(/wamid|\d{8,}/);
      expect(await h.platform.threadRootOf(ref)).toBe(ref);
    });

    it('uploads files whose bytes and names round-trip', async () => {
      const ch = await h.platform.ensureCustomerChannel(spec(h, 'file1'));
      const pdf = new TextEncoder().encode('%PDF-1.4\n% relais test\n');
      const ref = await h.platform.postMessage(ch, {
        relaisId: 'file-post-1',
        text: 'two files',
        files: [
          { name: 'photo.png', mimeType: 'image/png', data: png() },
          { name: 'Fatura março.pdf', mimeType: 'application/pdf', data: pdf },
        ],
      });
      const files = await h.files(ref);
      expect(files.map((f) => f.name)).toEqual(['photo.png', 'Fatura março.pdf']);
      expect(files[0]?.data).toEqual(png());
      expect(files[1]?.data).toEqual(pdf);
      expect(files[0]?.mimeType).toBe('image/png');
      expect(files[1]?.mimeType).toBe('application/pdf');
    });

    it('names a file without extension after its MIME type', async () => {
      const ch = await h.platform.ensureCustomerChannel(spec(h, 'file2'));
      const ref = await h.platform.postMessage(ch, {
        relaisId: 'voice-1', text: '', files: [{ name: 'voice', mimeType: 'audio/ogg; codecs=opus', data: new Uint8Array([79, 103, 103, 83]) }],
      });
      const [f] = await h.files(ref);
      expect(f?.name).toMatch(/^voice\.(ogg|opus)$/);
      expect(f?.mimeType.startsWith('audio/ogg')).toBe(true);
    });

    it('spreads more files than one post holds over several posts, text first', async () => {
      const ch = await h.platform.ensureCustomerChannel(spec(h, 'file3'));
      const files = Array.from({ length: 7 }, (_, i) => ({ name: `page-${i}.png`, mimeType: 'image/png', data: png() }));
      const ref = await h.platform.postMessage(ch, { relaisId: 'many-files', text: 'seven pages', files });
      const posts = (await h.posts(ch)).filter((p) => JSON.stringify(p.meta).includes('many-files'));
      expect(posts[0]?.ref).toBe(ref);
      expect(posts[0]?.text).toBe('seven pages');
      const names = (await Promise.all(posts.map((p) => h.files(p.ref)))).flat().map((f) => f.name);
      expect(names).toEqual(files.map((f) => f.name));
      expect(await h.platform.findPostByRelaisId(ch, 'many-files', new Date(Date.now() - 60_000))).toBe(ref);
    });

    it('splits text longer than one post, in order', async () => {
      const ch = await h.platform.ensureCustomerChannel(spec(h, 'long2'));
      const line = 'Olá 👋 this line is part of a very long message.\n';
      const text = line.repeat(Math.ceil(40_000 / line.length));
      const ref = await h.platform.postMessage(ch, { relaisId: 'long-text', text });
      const parts = (await h.posts(ch)).filter((p) => JSON.stringify(p.meta).includes('long-text'));
      expect(parts.length).toBeGreaterThan(1);
      expect(parts[0]?.ref).toBe(ref);
      expect(parts.map((p) => p.text).join('')).toBe(text);
    });

    it('threads replies under a root post', async () => {
      const ch = await h.platform.ensureCustomerChannel(spec(h, 'thr1'));
      const root = await h.platform.postMessage(ch, { relaisId: 'root-1', text: 'root' });
      const reply = await h.platform.postMessage(ch, { relaisId: 'reply-1', text: 'reply', rootPost: root });
      expect(await h.platform.threadRootOf(reply)).toBe(root);
      expect((await h.posts(ch)).find((p) => p.ref === reply)?.rootRef).toBe(root);
      const agentRoot = await h.agentPost(ch, 'agent says hi');
      const botReply = await h.platform.postMessage(ch, { relaisId: 'reply-2', text: 'customer answer', rootPost: agentRoot });
      expect(await h.platform.threadRootOf(botReply)).toBe(agentRoot);
    });

    it('sets and removes reactions for known emoji and reports unknown ones', async () => {
      const ch = await h.platform.ensureCustomerChannel(spec(h, 'react1'));
      const post = await h.agentPost(ch, 'thanks!');
      expect(await h.platform.setReaction(post, '👍', true)).toBe(true);
      expect(await h.platform.setReaction(post, '❤️', true)).toBe(true);
      expect(await h.platform.setReaction(post, '👍🏽', true)).toBe(true);
      expect((await h.botReactions(post)).length).toBe(3);
      expect(await h.platform.setReaction(post, '👍', false)).toBe(true);
      expect((await h.botReactions(post)).length).toBe(2);
      expect(await h.platform.setReaction(post, '🫠', true)).toBe(false); // newer than the platform's emoji set
      expect(await h.platform.setReaction(post, 'not an emoji', true)).toBe(false);
    });

    it('finds a post by relais id only within the time window and only when complete', async () => {
      const ch = await h.platform.ensureCustomerChannel(spec(h, 'find1'));
      const before = new Date(Date.now() - 1000);
      const ref = await h.platform.postMessage(ch, { relaisId: 'find-me', text: 'x' });
      expect(await h.platform.findPostByRelaisId(ch, 'find-me', before)).toBe(ref);
      expect(await h.platform.findPostByRelaisId(ch, 'someone-else', before)).toBeNull();
      expect(await h.platform.findPostByRelaisId(ch, 'find-me', new Date(Date.now() + 60_000))).toBeNull();
      await h.agentPost(ch, 'an agent post is never ours');
      expect(await h.platform.findPostByRelaisId(ch, 'find-me', before)).toBe(ref);
    });

    it('lets the caller reconcile an ambiguous post (accepted, answer lost)', async () => {
      const ch = await h.platform.ensureCustomerChannel(spec(h, 'amb1'));
      const before = new Date(Date.now() - 1000);
      h.resetAfterAccept('post');
      const err = await rejection(h.platform.postMessage(ch, { relaisId: 'ambiguous-1', text: 'did it arrive?' }));
      expect(err.retryable).toBe(true);
      const found = await h.platform.findPostByRelaisId(ch, 'ambiguous-1', before);
      expect(found).not.toBeNull();
      expect((await h.posts(ch)).filter((p) => p.text === 'did it arrive?')).toHaveLength(1);
    });

    it('maps server errors to retryable and permanent RelaisErrors', async () => {
      const ch = await h.platform.ensureCustomerChannel(spec(h, 'err1'));
      const post = (relaisId: string) => h.platform.postMessage(ch, { relaisId, text: 'x' });

      h.failNext('post', { status: 500 });
      expect((await rejection(post('e500'))).retryable).toBe(true);

      h.failNext('post', { status: 503 });
      expect((await rejection(post('e503'))).retryable).toBe(true);

      h.failNext('post', { status: 429, retryAfterSeconds: 7 });
      const limited = await rejection(post('e429'));
      expect(limited.retryable).toBe(true);
      expect(limited.retryAfterMs).toBe(7000);

      h.failNext('post', { status: 401 });
      const auth = await rejection(post('e401'));
      expect(auth.retryable).toBe(false);
      expect(auth.code).toBe('chat_auth_failed');
      expect(auth.message).toMatch(/TOKEN/);

      h.failNext('post', { status: 403 });
      expect((await rejection(post('e403'))).code).toBe('chat_auth_failed');

      h.failNext('post', { status: 400 });
      expect((await rejection(post('e400'))).retryable).toBe(false);

      h.failNext('channelLookup', { status: 502 });
      expect((await rejection(h.platform.ensureCustomerChannel(spec(h, 'err2')))).retryable).toBe(true);

      expect(await post('works-again')).toBeTruthy();
    });

    describe('agent side', () => {
      it('delivers live posts with files, threads, and bot and system posts flagged', async () => {
        const p = agentSide(h.platform);
        const ch = await p.ensureCustomerChannel(spec(h, 'live1'));
        const rec = recorder();
        const stop = await p.listen(rec.handlers());
        try {
          await until(() => rec.connected.length === 1, 'the first connection');
          expect(rec.connected).toEqual([false]);
          const root = await h.agentPost(ch, 'Olá, here is the photo', { files: [{ name: 'photo.png', mimeType: 'image/png', data: png() }] });
          const reply = await h.agentPost(ch, 'and a reply', { rootPost: root });
          const botPost = await p.postMessage(ch, { relaisId: 'live-bot-1', text: 'customer text' });
          await p.updateCustomerChannel?.(ch, { header: 'a header change is a system post' });
          const last = await h.agentPost(ch, 'last one');
          await until(() => rec.post(last) !== undefined, 'the last post');

          const r = rec.post(root);
          expect(r).toMatchObject({ kind: 'post', channel: ch, text: 'Olá, here is the photo', authorName: h.agents[0], fromBot: false, system: false });
          expect(r?.rootPost).toBeUndefined();
          expect(r?.files).toEqual([{ id: expect.any(String), name: 'photo.png', mimeType: 'image/png', size: png().byteLength }]);
          expect(rec.post(reply)).toMatchObject({ rootPost: root, authorId: r?.authorId, files: [] });
          expect(rec.post(botPost)).toMatchObject({ fromBot: true, system: false, text: 'customer text' });
          expect(rec.posts().some((e) => e.channel === ch && e.system)).toBe(true);
          const order = rec.posts().map((e) => e.post).filter((id) => [root, reply, botPost, last].includes(id));
          expect(order).toEqual([root, reply, botPost, last]);
          const times = rec.posts().filter((e) => e.channel === ch).map((e) => e.createdAt);
          expect([...times].sort((a, b) => a - b)).toEqual(times);
        } finally {
          await stop();
        }
      });

      it('delivers reactions put on and taken off, with the Unicode emoji', async () => {
        const p = agentSide(h.platform);
        const ch = await p.ensureCustomerChannel(spec(h, 'react2'));
        const rec = recorder();
        const stop = await p.listen(rec.handlers());
        try {
          await until(() => rec.connected.length === 1, 'the first connection');
          const post = await h.agentPost(ch, 'react to me');
          await h.agentReact(post, '👍', true);
          await h.agentReact(post, '👍', false);
          expect(await p.setReaction(post, '❤️', true)).toBe(true);
          await until(() => rec.events.filter(isReaction).length >= 3, 'three reaction events');
          const [added, removed, mine] = rec.events.filter(isReaction);
          const author = rec.post(post)?.authorId;
          expect(added).toMatchObject({ kind: 'reaction', post, channel: ch, authorId: author, emoji: '👍', on: true, fromBot: false });
          expect(removed).toMatchObject({ kind: 'reaction', post, channel: ch, authorId: author, emoji: '👍', on: false, fromBot: false });
          expect(added?.emojiName).toBe(removed?.emojiName);
          expect(added?.emojiName).toMatch(/\S/);
          expect(added?.at).toBeGreaterThan(0);
          expect(removed?.at).toBeGreaterThanOrEqual(added?.at ?? Infinity);
          expect(mine).toMatchObject({ post, emoji: '❤️', on: true, fromBot: true });
        } finally {
          await stop();
        }
      });

      it('lists with postsSince what was posted while nobody listened, oldest first, shaped like live events', async () => {
        const p = agentSide(h.platform);
        const ch = await p.ensureCustomerChannel(spec(h, 'since1'));
        const first = await h.agentPost(ch, 'before the cursor');
        const cursor = (await p.postsSince(ch, 0)).find((e) => e.post === first)?.createdAt ?? NaN;
        expect(cursor).toBeGreaterThan(0);
        const a = await h.agentPost(ch, 'while away 1', { files: [{ name: 'scan.pdf', mimeType: 'application/pdf', data: new TextEncoder().encode('%PDF-1.4\n') }] });
        const b = await h.agentPost(ch, 'while away 2', { rootPost: a });
        const c = await p.postMessage(ch, { relaisId: 'since-bot', text: 'bot post' });
        const caught = await p.postsSince(ch, cursor);
        expect(caught.map((e) => e.post)).toEqual([a, b, c]);
        expect(caught[0]).toMatchObject({ kind: 'post', channel: ch, text: 'while away 1', authorName: h.agents[0], fromBot: false, system: false });
        expect(caught[0]?.files.map((f) => f.name)).toEqual(['scan.pdf']);
        expect(caught[1]?.rootPost).toBe(a);
        expect(caught[2]?.fromBot).toBe(true);
        expect(await p.postsSince(ch, caught[2]?.createdAt ?? 0)).toEqual([]);

        // The same posts seen live give identical events, so the core can de-duplicate by post id.
        const rec = recorder();
        const stop = await p.listen(rec.handlers());
        try {
          await until(() => rec.connected.length === 1, 'the first connection');
          const d = await h.agentPost(ch, 'live and caught up', { rootPost: a, files: [{ name: 'photo.png', mimeType: 'image/png', data: png() }] });
          await until(() => rec.post(d) !== undefined, 'the live post');
          const again = (await p.postsSince(ch, cursor)).find((e) => e.post === d);
          expect(again).toEqual(rec.post(d));
        } finally {
          await stop();
        }
      });

      it('calls onConnected before delivering that connection\'s events, and again after a reconnection', async () => {
        const p = agentSide(h.platform);
        const ch = await p.ensureCustomerChannel(spec(h, 'recon1'));
        let cursor = 0;
        const caughtUp: AgentPostEvent[][] = [];
        const duringFirst: ChatPostRef[] = [];
        const rec = recorder();
        const stop = await p.listen(rec.handlers(async (reconnect) => {
          if (!reconnect) {
            // Posted while the connection is up but onConnected has not returned: must wait for it.
            duringFirst.push(await h.agentPost(ch, 'posted during the first catch-up'));
            await sleep(100);
          } else {
            caughtUp.push(await p.postsSince(ch, cursor));
            await sleep(100);
          }
        }));
        try {
          await until(() => rec.post(duringFirst[0] as ChatPostRef) !== undefined, 'the post made during onConnected');
          expect(rec.log.indexOf(`event:${duringFirst[0]}`)).toBeGreaterThan(rec.log.indexOf('connected-done:false'));
          cursor = rec.post(duringFirst[0] as ChatPostRef)?.createdAt ?? NaN;

          h.dropConnections();
          const away = await h.agentPost(ch, 'posted while disconnected');
          await until(() => rec.connected.length === 2, 'the reconnection');
          expect(rec.connected).toEqual([false, true]);
          expect(caughtUp[0]?.map((e) => e.post)).toContain(away);
          // If the platform also replays it live, that comes after onConnected returned.
          const live = rec.log.indexOf(`event:${away}`);
          if (live >= 0) expect(live).toBeGreaterThan(rec.log.indexOf('connected-done:true'));

          const after = await h.agentPost(ch, 'after the reconnection');
          await until(() => rec.post(after) !== undefined, 'a live post after the reconnection');
        } finally {
          await stop();
        }
      });

      it('downloads an attached file with the bot\'s credentials', async () => {
        const p = agentSide(h.platform);
        const ch = await p.ensureCustomerChannel(spec(h, 'dl1'));
        const pdf = new TextEncoder().encode('%PDF-1.4\n% relais download\n');
        const post = await h.agentPost(ch, 'the invoice', { files: [{ name: 'Fatura março.pdf', mimeType: 'application/pdf', data: pdf }] });
        const [event] = (await p.postsSince(ch, 0)).filter((e) => e.post === post);
        const ref = event?.files[0];
        expect(ref).toBeDefined();
        const file = await p.downloadFile(ref as NonNullable<typeof ref>);
        expect(file.name).toBe('Fatura março.pdf');
        expect(file.mimeType).toBe('application/pdf');
        expect(file.data).toEqual(pdf);
      });

      it('posts notices as the bot, threaded under the root of the given post', async () => {
        const p = agentSide(h.platform);
        const ch = await p.ensureCustomerChannel(spec(h, 'notice1'));
        const root = await h.agentPost(ch, 'agent root');
        const reply = await h.agentPost(ch, 'agent reply', { rootPost: root });
        const underReply = await p.postNotice(ch, ':x: not delivered', reply);
        const underRoot = await p.postNotice(ch, ':x: window closed', root);
        const plain = await p.postNotice(ch, 'unthreaded notice');
        expect(await p.threadRootOf(underReply)).toBe(root);
        expect(await p.threadRootOf(underRoot)).toBe(root);
        expect(await p.threadRootOf(plain)).toBe(plain);
        const posts = await h.posts(ch);
        const notice = posts.find((x) => x.ref === underReply);
        expect(notice).toMatchObject({ text: ':x: not delivered', authorIsBot: true, rootRef: root });
        const events = await p.postsSince(ch, 0);
        expect(events.find((e) => e.post === underReply)?.fromBot).toBe(true);
      });
    });

    runChatRemovalContract(() => h);

    it('reports readiness without throwing', async () => {
      expect(await h.platform.checkReady()).toEqual({ ok: true });
      h.failNext('any', { status: 401 });
      const ready = await h.platform.checkReady();
      expect(ready.ok).toBe(false);
      expect(ready.detail).toBeTruthy();
    });
  });
}
