import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES_DIR, HAVE_FIXTURES, fixtureNames, fixtureWithUniqueIds } from '../helpers/fixtures.js';
import { eventually } from '../helpers/relais.js';
import { CHAT_PLATFORMS, type WorldPost } from '../helpers/chat-world.js';
import { startWorld, type World } from '../helpers/world.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const MEDIA_TYPES = ['image', 'video', 'audio', 'document', 'sticker'] as const;

/** Registers every media id of a fixture in the Graph fake (with distinct bytes) and rewrites the ids. */
function withRegisteredMedia(w: World, body: string): { body: string; media: Map<string, Uint8Array> } {
  const json = JSON.parse(body);
  const media = new Map<string, Uint8Array>();
  for (const entry of json.entry ?? []) for (const change of entry.changes ?? []) {
    for (const m of change.value?.messages ?? []) {
      const kind = MEDIA_TYPES.find((k) => m.type === k && m[k]);
      if (!kind) continue;
      const bytes = new TextEncoder().encode(`bytes of ${kind} ${Math.random()}`);
      const mime = String(m[kind].mime_type ?? 'application/octet-stream');
      const id = w.graph.fake.addMedia({ bytes, mimeType: mime, filename: m[kind].filename });
      m[kind].id = id;
      delete m[kind].sha256; // the fixture's hash is of Meta's sample bytes, not ours
      media.set(id, bytes);
    }
  }
  return { body: JSON.stringify(json), media };
}

/** What the bot posted in customer channels (system messages excluded). */
function customerPosts(w: World): WorldPost[] {
  return w.chat.customerChannels().flatMap((c) => w.chat.posts(c.id)).filter((p) => p.byBot);
}

describe.skipIf(!HAVE_FIXTURES).each(CHAT_PLATFORMS)('inbound relay: WhatsApp → %s (needs ../shared/fixtures)', (platform) => {
  let w: World;
  beforeAll(async () => { w = await startWorld({ platform, listener: false }); });
  afterAll(async () => { await w?.stop(); });

  it('relays every customer message of every fixture exactly once', async () => {
    const names = fixtureNames().filter((n) => !n.startsWith('status_'));
    let expected = 0;
    for (const name of names) {
      const { body } = withRegisteredMedia(w, fixtureWithUniqueIds(name, name.replace(/\W/g, '')));
      const res = await w.relais.postWebhook(body);
      expect(res.status, name).toBe(200);
      // Redelivery of the same payload is a no-op.
      expect((await w.relais.postWebhook(body)).status, name).toBe(200);
    }
    expected = await w.relais.count('messages', `direction = 'inbound'`);
    expect(expected).toBeGreaterThanOrEqual(names.length);
    await eventually(async () => (await w.relais.count('messages', `relay_state = 'posted'`)) === expected, 'every message posted');
    // Exactly once: one post per message that is not a reaction turned into a real reaction.
    const posts = customerPosts(w);
    const ids = posts.map((p) => String(p.relaisId));
    expect(new Set(ids).size).toBe(ids.length);
    const reactedAsReaction = await w.relais.count('messages', `type = 'reaction' and chat_post_id is not null and id::text not in (${ids.map((i) => `'${i}'`).join(',') || `''`})`);
    expect(ids.length + reactedAsReaction).toBe(expected);
    expect(w.chat.specViolations).toEqual([]);
  });

  it('opens one private channel per customer whose name does not reveal the number', () => {
    const channels = w.chat.customerChannels();
    expect(channels.length).toBeGreaterThan(1);
    for (const c of channels) {
      expect(c.private).toBe(true);
      for (const n of ['12195555358', '16505551234', '19835552319', '972912345678', '972987654321']) expect(c.name).not.toContain(n);
      expect(c.name).toMatch(/^wa-[a-f0-9]{26}$/);
      expect(c.displayName.length).toBeLessThanOrEqual(64);
      expect(c.memberIds).toEqual(expect.arrayContaining([w.chat.botId]));
      expect(c.memberIds.length).toBe(4); // bot, alice, bob and carol (via her group)
      expect(c.memberIds).toEqual(expect.arrayContaining([w.chat.userId('carol')]));
    }
    const sheena = channels.find((c) => c.displayName.startsWith('Sheena Nelson'));
    expect(sheena?.displayName).toMatch(/^Sheena Nelson \+16•+34$/);
  });

  it('uploads media as chat files with the right name, type and bytes', async () => {
    const { body, media } = withRegisteredMedia(w, fixtureWithUniqueIds('document.json', 'docbytes'));
    expect((await w.relais.postWebhook(body)).status).toBe(200);
    const [mediaId, bytes] = [...media][0]!;
    const post = await eventually(async () => customerPosts(w).find((p) => p.fileIds.length > 0 && Buffer.from(w.chat.fileBytes(p.fileIds[0]!)).equals(Buffer.from(bytes))), `post with ${mediaId}`);
    expect(post.fileIds).toHaveLength(1);
    const file = w.chat.fileInfo(post.fileIds[0]!);
    const src = JSON.parse(readFileSync(path.join(FIXTURES_DIR, 'document.json'), 'utf8')).entry[0].changes[0].value.messages[0].document;
    expect(file.name).toBe(src.filename);
    expect(file.mimeType).toBe(src.mime_type);
  });

  it('puts a customer reaction on the referenced post', async () => {
    const target = fixtureWithUniqueIds('text.json', 'react-target');
    expect((await w.relais.postWebhook(target)).status).toBe(200);
    const targetWamid = /"id":\s*"(wamid\.[^"]+)"/.exec(target)![1]!;
    const reaction = JSON.parse(fixtureWithUniqueIds('reaction.json', 'react'));
    const msg = reaction.entry[0].changes[0].value.messages[0];
    msg.reaction.message_id = targetWamid;
    msg.reaction.emoji = '👍';
    expect((await w.relais.postWebhook(JSON.stringify(reaction))).status).toBe(200);
    await eventually(async () => w.chat.customerChannels().some((c) => w.chat.posts(c.id).some((p) => w.chat.botReactions(p.id).includes(w.chat.emoji.thumbsup))), 'reaction on the post');
  });

  it('threads a reply with context under the message it answers', async () => {
    const first = fixtureWithUniqueIds('text.json', 'thread-root');
    expect((await w.relais.postWebhook(first)).status).toBe(200);
    const rootWamid = /"id":\s*"(wamid\.[^"]+)"/.exec(first)![1]!;
    const reply = JSON.parse(fixtureWithUniqueIds('reply_with_context.json', 'thread-reply'));
    const m = reply.entry[0].changes[0].value;
    // Same customer and number as text.json, answering the first message.
    m.metadata = JSON.parse(first).entry[0].changes[0].value.metadata;
    m.contacts = JSON.parse(first).entry[0].changes[0].value.contacts;
    m.messages[0].from = m.contacts[0].wa_id;
    m.messages[0].context.id = rootWamid;
    expect((await w.relais.postWebhook(JSON.stringify(reply))).status).toBe(200);
    await eventually(async () => customerPosts(w).some((p) => p.rootId && customerPosts(w).some((r) => r.id === p.rootId)), 'a threaded reply');
  });

  it('restores an archived channel when the customer writes again', async () => {
    const channel = w.chat.customerChannels().find((c) => c.displayName.startsWith('Sheena Nelson'))!;
    await w.chat.archive(channel.id);
    expect(w.chat.customerChannels().find((c) => c.id === channel.id)!.archived).toBe(true);
    // The worker trusts a channel it verified recently; posting into the archived one must not
    // leave the message where agents do not look: the channel is restored before (or after a
    // refused) post.
    const again = fixtureWithUniqueIds('text.json', 'after-archive');
    expect((await w.relais.postWebhook(again)).status).toBe(200);
    await eventually(async () => (await w.relais.count('messages', `relay_state = 'posted'`)) === (await w.relais.count('messages')), 'posted');
    expect(w.chat.customerChannels().find((c) => c.id === channel.id)!.archived).toBe(false);
    expect(w.chat.customerChannels().filter((c) => c.displayName.startsWith('Sheena Nelson'))).toHaveLength(1);
    // …and the message is in it, where the agents see it.
    const [last] = await w.relais.query(`select id::text as id from messages order by received_at desc limit 1`);
    expect(w.chat.posts(channel.id).some((p) => p.relaisId === last!.id)).toBe(true);
  });
});
