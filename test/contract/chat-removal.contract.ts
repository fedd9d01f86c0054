/**
 * Removal cases of the ChatPlatform contract (erasure and retention use them): `deletePost`,
 * `deleteCustomerChannel` and `archiveCustomerChannel`, run by `runChatPlatformContract` for every
 * adapter against its fake. Each case checks the server's state through the harness, and that a
 * second call is a no-op.
 */
import { expect, it } from 'vitest';
import type { ChatChannelRef, CustomerChannelSpec } from '../../src/chat/platform.js';
import type { ContractHarness } from './chat-platform.contract.js';

const spec = (h: ContractHarness, key: string): CustomerChannelSpec => ({
  key, displayName: 'Ana Souza · +55••••••21', team: h.team, agents: h.agents, header: 'WhatsApp customer', purpose: 'Relais',
});

const pdf = (n: number) => new TextEncoder().encode(`%PDF-1.4\n% relais removal ${n}\n`);

/** Registers the removal cases inside the caller's `describe` (the harness is made by its `beforeEach`). */
export function runChatRemovalContract(harness: () => ContractHarness): void {
  /** A channel with a bot post carrying two files and an agent post. */
  async function populated(key: string): Promise<ChatChannelRef> {
    const h = harness();
    const ch = await h.platform.ensureCustomerChannel(spec(h, key));
    await h.platform.postMessage(ch, { relaisId: `${key}-files`, text: 'two files', files: [
      { name: 'a.pdf', mimeType: 'application/pdf', data: pdf(1) },
      { name: 'b.pdf', mimeType: 'application/pdf', data: pdf(2) },
    ] });
    await h.agentPost(ch, 'agent answer');
    expect(await h.liveFileCount(ch)).toBe(2);
    return ch;
  }

  it('deletes a bot post with its files, and again without error', async () => {
    const h = harness();
    const ch = await populated('delpost1');
    const keep = await h.platform.postMessage(ch, { relaisId: 'keep-me', text: 'stays' });
    const [withFiles] = (await h.posts(ch)).filter((p) => JSON.stringify(p.meta).includes('delpost1-files'));
    await h.platform.deletePost(withFiles!.ref);
    const after = await h.posts(ch);
    expect(after.some((p) => JSON.stringify(p.meta).includes('delpost1-files'))).toBe(false);
    expect(after.some((p) => p.ref === keep)).toBe(true);
    expect(after.some((p) => p.text === 'agent answer')).toBe(true);
    expect(await h.liveFileCount(ch)).toBe(0);
    await h.platform.deletePost(withFiles!.ref);
  });

  it('deletes every part of a post spread over several messages', async () => {
    const h = harness();
    const ch = await h.platform.ensureCustomerChannel(spec(h, 'delpost2'));
    const text = 'A long line that fills the post limit quickly.\n'.repeat(900);
    const files = Array.from({ length: 7 }, (_, i) => ({ name: `p${i}.pdf`, mimeType: 'application/pdf', data: pdf(i) }));
    const ref = await h.platform.postMessage(ch, { relaisId: 'many-parts', text, files });
    expect((await h.posts(ch)).filter((p) => JSON.stringify(p.meta).includes('many-parts')).length).toBeGreaterThan(1);
    await h.platform.deletePost(ref);
    expect((await h.posts(ch)).filter((p) => JSON.stringify(p.meta).includes('many-parts'))).toEqual([]);
    expect(await h.liveFileCount(ch)).toBe(0);
  });

  it('deletes an agent\'s post', async () => {
    const h = harness();
    const ch = await h.platform.ensureCustomerChannel(spec(h, 'delpost3'));
    const agent = await h.agentPost(ch, 'my reply', { files: [{ name: 'c.pdf', mimeType: 'application/pdf', data: pdf(3) }] });
    await h.platform.deletePost(agent);
    expect((await h.posts(ch)).some((p) => p.ref === agent)).toBe(false);
    expect(await h.liveFileCount(ch)).toBe(0);
    await h.platform.deletePost(agent);
  });

  it('deletes a customer channel with its posts and files, idempotently; the key then gets a new channel', async () => {
    const h = harness();
    h.forbidChannelDeletion(false);
    const ch = await populated('delch1');
    expect(await h.platform.deleteCustomerChannel(ch)).toEqual({ outcome: 'deleted' });
    expect(await h.channelByRef(ch)).toBeUndefined();
    expect(await h.channels('delch1')).toEqual([]);
    expect(await h.platform.deleteCustomerChannel(ch)).toEqual({ outcome: 'deleted' });
    const fresh = await h.platform.ensureCustomerChannel(spec(h, 'delch1'));
    expect(fresh).not.toBe(ch);
    expect(await h.posts(fresh)).toEqual([]);
  });

  it('retires the channel instead when the server forbids deleting it, and says why', async () => {
    const h = harness();
    h.forbidChannelDeletion(true);
    const ch = await populated('delch2');
    const r = await h.platform.deleteCustomerChannel(ch);
    expect(r.outcome).toBe('archived');
    expect(r.detail).toMatch(/EnableAPIChannelDeletion|delete-p/);
    const retired = await h.channelByRef(ch);
    expect(retired?.archived).toBe(true);
    expect(retired?.name).not.toBe('wa-delch2');
    expect(await h.channels('delch2')).toEqual([]);
    expect((await h.platform.deleteCustomerChannel(ch)).outcome).toBe('archived');
    expect((await h.channelByRef(ch))?.name).toBe(retired?.name);
  });

  it('archives and renames a channel so the key gets a new one; an agent-archived channel too; idempotent', async () => {
    const h = harness();
    const ch = await populated('arch2');
    await h.archive(ch); // an agent archived it first
    await h.platform.archiveCustomerChannel(ch);
    const retired = await h.channelByRef(ch);
    expect(retired?.archived).toBe(true);
    expect(retired?.name).toMatch(/^wa-arch2-r[0-9a-z]+$/);
    await h.platform.archiveCustomerChannel(ch);
    expect(await h.channelByRef(ch)).toEqual(retired);
    const fresh = await h.platform.ensureCustomerChannel(spec(h, 'arch2'));
    expect(fresh).not.toBe(ch);
    expect((await h.channelByRef(ch))?.archived).toBe(true);
    expect((await h.posts(ch)).some((p) => p.text === 'agent answer')).toBe(true);

    const other = await h.platform.ensureCustomerChannel(spec(h, 'arch3'));
    await h.platform.archiveCustomerChannel(other);
    expect((await h.channelByRef(other))?.archived).toBe(true);
  });
}
