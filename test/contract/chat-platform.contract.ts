/**
 * The contract every `ChatPlatform` adapter passes, run against a protocol-faithful fake of its server
 * (`runChatPlatformContract('mattermost', makeHarness)`). The harness is platform-neutral: it hands out
 * a fresh adapter, a second adapter on the same server (for races), and inspectors/fault switches that
 * speak in the port's terms. Adapters for other platforms (Rocket.Chat…) provide their own harness.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RelaisError } from '../../src/core/errors.js';
import type { ChatChannelRef, ChatPlatform, ChatPostRef, CustomerChannelSpec } from '../../src/chat/platform.js';

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
  archive(channel: ChatChannelRef): Promise<void>;
  /** Posts in the channel, oldest first, system messages excluded. */
  posts(channel: ChatChannelRef): Promise<HarnessPost[]>;
  /** The files of a post, downloaded through the platform's own download endpoint. */
  files(post: ChatPostRef): Promise<HarnessFile[]>;
  /** Reaction names the bot has on a post. */
  botReactions(post: ChatPostRef): Promise<string[]>;
  /** A post by a human agent (as if typed in the UI). */
  agentPost(channel: ChatChannelRef, text: string): Promise<ChatPostRef>;

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

    it('reports readiness without throwing', async () => {
      expect(await h.platform.checkReady()).toEqual({ ok: true });
      h.failNext('any', { status: 401 });
      const ready = await h.platform.checkReady();
      expect(ready.ok).toBe(false);
      expect(ready.detail).toBeTruthy();
    });
  });
}
