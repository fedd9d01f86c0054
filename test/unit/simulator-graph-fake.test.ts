import { createHash } from 'node:crypto';
import { Hono } from 'hono';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { MEDIA_URL_TTL_MS, createGraphFake, listen, startGraphFake, type RunningGraphFake } from '../fakes/graph-api.js';

// The Graph fake over real HTTP on 127.0.0.1: what Relais' Cloud API client will see.

let clock = 1_750_000_000_000;
let g: RunningGraphFake;
beforeAll(async () => { g = await startGraphFake({ clock: () => clock, phoneNumberId: ['106540352242922', '1122334455667'] }); });
afterAll(async () => { await g.close(); });
afterEach(() => { g.fake.reset(); });

const auth = (): Record<string, string> => ({ authorization: `Bearer ${g.accessToken}` });
const call = (path: string, init: RequestInit & { token?: string | null } = {}): Promise<Response> => {
  const headers: Record<string, string> = { ...(init.headers as Record<string, string> | undefined) };
  if (init.token !== null) headers.authorization = `Bearer ${init.token ?? g.accessToken}`;
  return fetch(path.startsWith('http') ? path : `${g.baseUrl}${path}`, { ...init, headers });
};
const send = (body: unknown, phone = g.phoneNumberId): Promise<Response> =>
  call(`/${phone}/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
const upload = (bytes: Uint8Array, type: string, extra: Record<string, string> = { messaging_product: 'whatsapp' }): Promise<Response> => {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(bytes)], { type }), 'file.bin');
  for (const [k, v] of Object.entries(extra)) form.append(k, v);
  form.append('type', type);
  return call(`/${g.phoneNumberId}/media`, { method: 'POST', body: form });
};
const errorCode = async (res: Response): Promise<number> => ((await res.json()) as { error: { code: number } }).error.code;
const base = { messaging_product: 'whatsapp', recipient_type: 'individual', to: '+16505551234' };

describe('Graph fake: authentication', () => {
  it('answers 401 with a Graph OAuthException (code 190) without or with a wrong token', async () => {
    for (const token of [null, 'wrong']) {
      const res = await call(`/${g.phoneNumberId}/messages`, { method: 'POST', token, body: JSON.stringify({ ...base, text: { body: 'hi' } }) });
      expect(res.status).toBe(401);
      const body = (await res.json()) as { error: Record<string, unknown> };
      expect(body.error).toMatchObject({ type: 'OAuthException', code: 190 });
      expect(body.error.fbtrace_id).toEqual(expect.any(String));
      expect(body.error.message).toEqual(expect.any(String));
    }
  });
});

describe('Graph fake: POST /messages', () => {
  it('accepts a text message, answers like Meta and records it', async () => {
    const res = await send({ ...base, type: 'text', text: { body: 'Hello', preview_url: false } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { messaging_product: string; contacts: unknown[]; messages: { id: string }[] };
    expect(body.messaging_product).toBe('whatsapp');
    expect(body.contacts).toEqual([{ input: '+16505551234', wa_id: '16505551234' }]);
    const wamid = body.messages[0]!.id;
    expect(wamid).toMatch(/^wamid\.[A-Za-z0-9+/]+=*$/);
    // Unlike Meta's, the id carries no phone number.
    expect(Buffer.from(wamid.slice(6), 'base64').toString('latin1')).not.toContain('16505551234');
    const [sent] = g.fake.messagesSent();
    expect(sent).toMatchObject({ wamid, to: '+16505551234', waId: '16505551234', type: 'text', delivery: 'accepted', acceptedAt: clock, phoneNumberId: g.phoneNumberId });
    expect(sent!.body).toMatchObject({ text: { body: 'Hello' } });
    expect(g.fake.requests.at(-1)).toMatchObject({ method: 'POST', status: 200, json: { text: { body: 'Hello' } } });
  });

  it('gives every message a different wamid', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 20; i++) ids.add(((await (await send({ ...base, text: { body: `m${i}` } })).json()) as { messages: { id: string }[] }).messages[0]!.id);
    expect(ids.size).toBe(20);
  });

  it('marks a customer message as read (with a typing indicator) and records it', async () => {
    const res = await send({ messaging_product: 'whatsapp', status: 'read', message_id: 'wamid.customer1', typing_indicator: { type: 'text' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ success: true });
    expect(g.fake.readMarks()).toEqual([expect.objectContaining({ messageId: 'wamid.customer1', typingIndicator: true })]);
    expect(g.fake.messagesSent()).toEqual([]);
  });

  it('accepts every supported type in its valid form', async () => {
    const uploaded = ((await (await upload(new Uint8Array([1, 2, 3]), 'image/jpeg')).json()) as { id: string }).id;
    const good: unknown[] = [
      { ...base, type: 'text', text: { body: '👍'.repeat(4096) } },
      { ...base, type: 'image', image: { id: uploaded, caption: 'c' } },
      { ...base, type: 'document', document: { link: 'https://example.com/a.pdf', filename: 'a.pdf', caption: 'c' } },
      { ...base, type: 'audio', audio: { link: 'https://example.com/a.ogg' } },
      { ...base, type: 'sticker', sticker: { link: 'https://example.com/a.webp' } },
      { ...base, type: 'location', location: { latitude: 48.85, longitude: 2.29, name: 'Tour Eiffel' } },
      { ...base, type: 'contacts', contacts: [{ name: { formatted_name: 'Lucía Gómez' }, phones: [{ phone: '+1 983', type: 'MOBILE' }] }] },
      { ...base, type: 'reaction', reaction: { message_id: 'wamid.x', emoji: '😀' } },
      { ...base, type: 'reaction', reaction: { message_id: 'wamid.x', emoji: '' } },
      { ...base, type: 'text', context: { message_id: 'wamid.x' }, text: { body: 'quoted' } },
      { ...base, type: 'interactive', interactive: { type: 'button', body: { text: 'Pick' }, action: { buttons: [1, 2, 3].map((i) => ({ type: 'reply', reply: { id: `b${i}`, title: `Button ${i}` } })) } } },
      { ...base, type: 'interactive', interactive: { type: 'list', body: { text: 'Pick' }, action: { button: 'Options', sections: [{ title: 'S', rows: [{ id: 'r1', title: 'Row', description: 'd' }] }] } } },
      { ...base, type: 'template', template: { name: 'relais_follow_up', language: { code: 'fr' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'Sheena' }, { type: 'text', text: '#1' }] }] } },
    ];
    for (const body of good) {
      const res = await send(body);
      expect(res.status, JSON.stringify(body).slice(0, 120)).toBe(200);
    }
    expect(g.fake.messagesSent()).toHaveLength(good.length);
  });

  it('says message_status accepted for templates', async () => {
    const res = await send({ ...base, type: 'template', template: { name: 'relais_follow_up', language: { code: 'en_US' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }] } });
    expect(((await res.json()) as { messages: { message_status: string }[] }).messages[0]!.message_status).toBe('accepted');
  });

  const button = (title: string, id = title): unknown => ({ type: 'reply', reply: { id, title } });
  const bad: [string, unknown, number, number?][] = [
    ['not JSON', 'not json', 100],
    ['no messaging_product', { to: '1650555', type: 'text', text: { body: 'x' } }, 100],
    ['wrong messaging_product', { ...base, messaging_product: 'sms', text: { body: 'x' } }, 100],
    ['no recipient', { messaging_product: 'whatsapp', type: 'text', text: { body: 'x' } }, 100],
    ['recipient not a number', { ...base, to: 'alice', text: { body: 'x' } }, 131009],
    ['unknown type', { ...base, type: 'poll', poll: {} }, 100],
    ['type object missing', { ...base, type: 'image' }, 100],
    ['empty text', { ...base, type: 'text', text: { body: '' } }, 100],
    ['text over 4096 characters', { ...base, type: 'text', text: { body: 'a'.repeat(4097) } }, 100],
    ['unknown key in text', { ...base, type: 'text', text: { body: 'x', bold: true } }, 100],
    ['unknown top-level key', { ...base, type: 'text', text: { body: 'x' }, priority: 'high' }, 100],
    ['media with neither id nor link', { ...base, type: 'image', image: { caption: 'c' } }, 100],
    ['media with id and link', { ...base, type: 'image', image: { id: '1', link: 'https://x/y.jpg' } }, 100],
    ['media id never uploaded', { ...base, type: 'image', image: { id: '123456789' } }, 131009],
    ['caption on audio', { ...base, type: 'audio', audio: { link: 'https://x/y.ogg', caption: 'c' } }, 100],
    ['caption over 1024', { ...base, type: 'video', video: { link: 'https://x/y.mp4', caption: 'c'.repeat(1025) } }, 100],
    ['context without message_id', { ...base, type: 'text', text: { body: 'x' }, context: {} }, 100],
    ['reaction without message_id', { ...base, type: 'reaction', reaction: { emoji: '😀' } }, 100],
    ['4 reply buttons', { ...base, type: 'interactive', interactive: { type: 'button', body: { text: 'b' }, action: { buttons: ['a', 'b', 'c', 'd'].map((t) => button(t)) } } }, 131009],
    ['button title over 20', { ...base, type: 'interactive', interactive: { type: 'button', body: { text: 'b' }, action: { buttons: [button('x'.repeat(21), 'id')] } } }, 131009],
    ['duplicate button titles', { ...base, type: 'interactive', interactive: { type: 'button', body: { text: 'b' }, action: { buttons: [button('Same', '1'), button('Same', '2')] } } }, 131009],
    ['interactive body over 1024', { ...base, type: 'interactive', interactive: { type: 'button', body: { text: 'b'.repeat(1025) }, action: { buttons: [button('a')] } } }, 131009],
    ['list with 11 rows', { ...base, type: 'interactive', interactive: { type: 'list', body: { text: 'b' }, action: { button: 'Go', sections: [{ title: 'S', rows: Array.from({ length: 11 }, (_, i) => ({ id: `r${i}`, title: `Row ${i}` })) }] } } }, 131009],
    ['list row title over 24', { ...base, type: 'interactive', interactive: { type: 'list', body: { text: 'b' }, action: { button: 'Go', sections: [{ rows: [{ id: 'r', title: 't'.repeat(25) }] }] } } }, 131009],
    ['latitude out of range', { ...base, type: 'location', location: { latitude: 91, longitude: 0 } }, 131009],
    ['more than 5 contacts', { ...base, type: 'contacts', contacts: Array.from({ length: 6 }, () => ({ name: { formatted_name: 'A' } })) }, 131009],
    ['unknown template', { ...base, type: 'template', template: { name: 'nope', language: { code: 'en_US' } } }, 132001, 404],
    ['template in a missing language', { ...base, type: 'template', template: { name: 'relais_follow_up', language: { code: 'de' } } }, 132001, 404],
    ['template parameter count', { ...base, type: 'template', template: { name: 'relais_follow_up', language: { code: 'en_US' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'a' }] }] } }, 132000],
    ['read without message_id', { messaging_product: 'whatsapp', status: 'read' }, 100],
  ];
  for (const [name, body, code, status = 400] of bad) {
    it(`refuses ${name} with Graph error ${code}`, async () => {
      const res = await send(body);
      expect(res.status).toBe(status);
      const json = (await res.json()) as { error: { code: number; type: string; message: string; error_data: { messaging_product: string; details: string }; fbtrace_id: string } };
      expect(json.error).toMatchObject({ code, type: 'OAuthException', error_data: { messaging_product: 'whatsapp', details: expect.any(String) }, fbtrace_id: expect.any(String) });
      expect(json.error.message).toContain(`(#${code})`);
      expect(g.fake.messagesSent()).toEqual([]);
    });
  }

  it('refuses another phone number id like an unknown Graph object', async () => {
    const res = await send({ ...base, text: { body: 'x' } }, '999999999');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 100, error_subcode: 33, type: 'GraphMethodException' } });
  });
});

describe('Graph fake: media', () => {
  const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
  const info = async (id: string): Promise<{ url: string; mime_type: string; sha256: string; file_size: number; id: string; messaging_product: string }> => {
    const res = await call(`/${id}`);
    expect(res.status).toBe(200);
    return res.json() as never;
  };

  it('uploads, describes and serves the bytes with the token only', async () => {
    const bytes = new Uint8Array(2048).map((_, i) => i % 251);
    const res = await upload(bytes, 'image/png');
    expect(res.status).toBe(200);
    const { id } = (await res.json()) as { id: string };
    expect(id).toMatch(/^\d{16}$/);
    const meta = await info(id);
    expect(meta).toEqual({ messaging_product: 'whatsapp', url: expect.stringMatching(new RegExp(`^${g.origin}/media-download/`)), mime_type: 'image/png', sha256: sha(bytes), file_size: 2048, id });
    const ok = await fetch(meta.url, { headers: auth() });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('image/png');
    expect(new Uint8Array(await ok.arrayBuffer())).toEqual(bytes);
    expect((await fetch(meta.url)).status).toBe(401);
    expect((await fetch(meta.url, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
  });

  it('expires download URLs 5 minutes after they were issued (injected clock)', async () => {
    const id = g.fake.addMedia({ bytes: new Uint8Array([9, 9, 9]), mimeType: 'audio/ogg; codecs=opus' });
    const { url } = await info(id);
    clock += MEDIA_URL_TTL_MS;
    expect((await fetch(url, { headers: auth() })).status).toBe(200);
    clock += 1;
    expect((await fetch(url, { headers: auth() })).status).toBe(404);
    const fresh = await info(id);
    expect((await fetch(fresh.url, { headers: auth() })).status).toBe(200);
  });

  it('deletes media, then answers a Graph error for the id', async () => {
    const id = g.fake.addMedia({ bytes: new Uint8Array([1]), mimeType: 'image/jpeg' });
    expect(await (await call(`/${id}`, { method: 'DELETE' })).json()).toEqual({ success: true });
    const res = await call(`/${id}`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 100, error_subcode: 33 } });
    expect((await call('/1234567890123456')).status).toBe(404);
  });

  it('checks the optional phone_number_id owner filter', async () => {
    const id = ((await (await upload(new Uint8Array([1]), 'image/jpeg')).json()) as { id: string }).id;
    expect((await call(`/${id}?phone_number_id=${g.phoneNumberId}`)).status).toBe(200);
    expect((await call(`/${id}?phone_number_id=42424242`)).status).toBe(404);
  });

  const webp = (animated: boolean, size: number): Uint8Array => {
    const b = new Uint8Array(size);
    b.set(new TextEncoder().encode('RIFF\0\0\0\0WEBPVP8X'), 0);
    b[20] = animated ? 0x02 : 0;
    return b;
  };
  const MB = 1024 * 1024;
  const limits: [string, Uint8Array, string, number | null][] = [
    ['a 5 MB image', new Uint8Array(5 * MB), 'image/jpeg', null],
    ['an image over 5 MB', new Uint8Array(5 * MB + 1), 'image/jpeg', 131053],
    ['audio over 16 MB', new Uint8Array(16 * MB + 1), 'audio/mpeg', 131053],
    ['video over 16 MB', new Uint8Array(16 * MB + 1), 'video/mp4', 131053],
    ['a static sticker over 100 KB', webp(false, 100 * 1024 + 1), 'image/webp', 131053],
    ['an animated sticker of 400 KB', webp(true, 400 * 1024), 'image/webp', null],
    ['an animated sticker over 500 KB', webp(true, 500 * 1024 + 1), 'image/webp', 131053],
    ['a 20 MB pdf', new Uint8Array(20 * MB), 'application/pdf', null],
    ['a gif', new Uint8Array(10), 'image/gif', 100],
    ['an empty file', new Uint8Array(0), 'image/png', 131053],
  ];
  for (const [name, bytes, type, code] of limits) {
    it(`${code === null ? 'accepts' : `refuses (${code})`} ${name}`, async () => {
      const res = await upload(bytes, type);
      if (code === null) expect(res.status).toBe(200);
      else {
        expect(res.status).toBe(400);
        expect(await errorCode(res)).toBe(code);
      }
    });
  }

  it('requires messaging_product on upload', async () => {
    const res = await upload(new Uint8Array([1]), 'image/png', {});
    expect(await errorCode(res)).toBe(100);
  });
});

describe('Graph fake: templates', () => {
  it('lists the seeded en_US and fr templates in Meta\'s shape, with filters', async () => {
    const res = await call('/419561257915477/message_templates');
    const body = (await res.json()) as { data: { name: string; language: string; status: string; category: string; components: { type: string }[] }[]; paging: unknown };
    expect(body.data.map((t) => t.language).sort()).toEqual(['en_US', 'fr']);
    for (const t of body.data) {
      expect(t).toMatchObject({ name: 'relais_follow_up', status: 'APPROVED', category: 'UTILITY', id: expect.any(String) });
      expect(t.components.map((c) => c.type)).toContain('BODY');
    }
    expect(body.paging).toEqual({ cursors: { before: expect.any(String), after: expect.any(String) } });
    const fr = (await (await call('/419561257915477/message_templates?language=fr')).json()) as { data: unknown[] };
    expect(fr.data).toHaveLength(1);
    expect((await call('/1/message_templates')).status).toBe(400);
  });
});

describe('Graph fake: fault injection', () => {
  const text = { ...base, type: 'text', text: { body: 'x' } };

  it('fails the next N sends with a rate limit and Retry-After, then recovers', async () => {
    g.fake.failNext({ target: 'messages', times: 2, status: 429, graphError: { code: 130429, message: '(#130429) Rate limit hit' }, retryAfterSeconds: 7 });
    for (let i = 0; i < 2; i++) {
      const res = await send(text);
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBe('7');
      expect(await res.json()).toMatchObject({ error: { code: 130429, message: '(#130429) Rate limit hit' } });
    }
    expect((await send(text)).status).toBe(200);
    expect(g.fake.messagesSent()).toHaveLength(1);
  });

  it('uses Meta\'s HTTP status for a code, and a fitting code for a status', async () => {
    g.fake.failNext({ target: 'messages', graphError: { code: 131056 } });
    g.fake.failNext({ target: 'messages', graphError: { code: 131047 } });
    g.fake.failNext({ target: 'messages', graphError: { code: 131026 } });
    g.fake.failNext({ target: 'messages', status: 500 });
    g.fake.failNext({ target: 'messages', graphError: { code: 190 } });
    const seen: [number, number][] = [];
    for (let i = 0; i < 5; i++) {
      const res = await send(text);
      seen.push([res.status, await errorCode(res)]);
    }
    expect(seen).toEqual([[400, 131056], [400, 131047], [400, 131026], [500, 131000], [401, 190]]);
  });

  it('targets media, media-info, download and path patterns separately', async () => {
    const id = g.fake.addMedia({ bytes: new Uint8Array([1, 2]), mimeType: 'image/png' });
    g.fake.failNext({ target: 'download', status: 503 });
    g.fake.failNext({ target: /message_templates$/, status: 500 });
    g.fake.failNext({ target: 'media-info', status: 500 });
    expect((await send(text)).status).toBe(200);
    expect((await call('/419561257915477/message_templates')).status).toBe(500);
    expect((await call(`/${id}`)).status).toBe(500);
    const { url } = (await (await call(`/${id}`)).json()) as { url: string };
    expect((await fetch(url, { headers: auth() })).status).toBe(503);
    expect((await fetch(url, { headers: auth() })).status).toBe(200);
    g.fake.failNext({ target: 'media', status: 500 });
    expect((await upload(new Uint8Array([1]), 'image/png')).status).toBe(500);
  });

  it('hangs a request until the client gives up, then answers normally', async () => {
    g.fake.hangNext({ target: 'messages' });
    await expect(fetch(`${g.baseUrl}/${g.phoneNumberId}/messages`, { method: 'POST', headers: auth(), body: JSON.stringify(text), signal: AbortSignal.timeout(150) })).rejects.toThrow();
    await vi.waitFor(() => expect(g.fake.hanging()).toBe(0));
    expect((await send(text)).status).toBe(200);
  });

  it('releases hung requests with a 503 on demand', async () => {
    g.fake.hangNext({ target: 'messages' });
    const pending = send(text);
    await vi.waitFor(() => expect(g.fake.hanging()).toBe(1));
    g.fake.releaseHung();
    expect((await pending).status).toBe(503);
  });

  it('slows, corrupts and redirects downloads', async () => {
    const bytes = new Uint8Array(1000).map((_, i) => i % 256);
    const id = g.fake.addMedia({ bytes, mimeType: 'application/pdf', filename: 'facture 📄 n°1.pdf' });
    const url = async (): Promise<string> => ((await (await call(`/${id}`)).json()) as { url: string }).url;

    const plain = await fetch(await url(), { headers: auth() });
    expect(plain.headers.get('content-disposition')).toBe(`attachment; filename="facture __ n_1.pdf"; filename*=UTF-8''${encodeURIComponent('facture 📄 n°1.pdf')}`);
    await plain.arrayBuffer();

    g.fake.slowDownload(20);
    expect(new Uint8Array(await (await fetch(await url(), { headers: auth() })).arrayBuffer())).toEqual(bytes);
    g.fake.slowDownload(30_000);
    const slow = await fetch(await url(), { headers: auth(), signal: AbortSignal.timeout(200) });
    await expect(slow.arrayBuffer()).rejects.toThrow();
    g.fake.slowDownload(0);

    g.fake.corruptNextDownload();
    const corrupted = new Uint8Array(await (await fetch(await url(), { headers: auth() })).arrayBuffer());
    expect(corrupted).toHaveLength(bytes.length);
    expect(createHash('sha256').update(corrupted).digest('hex')).not.toBe(g.fake.media.get(id)!.sha256);
    expect(new Uint8Array(await (await fetch(await url(), { headers: auth() })).arrayBuffer())).toEqual(bytes);

    g.fake.redirectDownloadTo('http://127.0.0.1:9/elsewhere');
    const redirected = await fetch(await url(), { headers: auth(), redirect: 'manual' });
    expect(redirected.status).toBe(302);
    expect(redirected.headers.get('location')).toBe('http://127.0.0.1:9/elsewhere');
    g.fake.redirectDownloadTo(undefined);
    expect((await fetch(await url(), { headers: auth(), redirect: 'manual' })).status).toBe(200);
  });

  it('forgets everything on reset', async () => {
    await send(text);
    g.fake.failNext({ target: 'messages', status: 500 });
    g.fake.reset();
    expect(g.fake.messagesSent()).toEqual([]);
    expect(g.fake.requests).toEqual([]);
    expect((await send(text)).status).toBe(200);
  });
});

describe('Graph fake without a phone number restriction', () => {
  it('accepts any phone_number_id, and media registered without an owner matches any', async () => {
    const open = await startGraphFake();
    try {
      const id = open.fake.addMedia({ bytes: new Uint8Array([1]), mimeType: 'image/jpeg' });
      const headers = { authorization: `Bearer ${open.accessToken}` };
      expect((await fetch(`${open.baseUrl}/${id}?phone_number_id=555`, { headers })).status).toBe(200);
      const res = await fetch(`${open.baseUrl}/555/messages`, { method: 'POST', headers, body: JSON.stringify({ ...base, text: { body: 'x' } }) });
      expect(res.status).toBe(200);
      expect(open.phoneNumberId).toBe('106540352242922');
    } finally {
      await open.close();
    }
  });

  it('lets addMedia name the owner explicitly', async () => {
    const id = g.fake.addMedia({ bytes: new Uint8Array([1]), mimeType: 'image/jpeg', phoneNumberId: '1122334455667' });
    expect((await call(`/${id}?phone_number_id=1122334455667`)).status).toBe(200);
    expect((await call(`/${id}?phone_number_id=106540352242922`)).status).toBe(404);
  });
});

describe('Graph fake mounted under a prefix', () => {
  it('serves /prefix/v23.0 and issues download URLs under the prefix', async () => {
    const fake = createGraphFake({ accessToken: 'tok' });
    const parent = new Hono();
    parent.route('/simulator/graph', fake.app);
    const server = await listen(parent);
    try {
      const id = fake.addMedia({ bytes: new Uint8Array([7]), mimeType: 'image/jpeg' });
      const res = await fetch(`${server.origin}/simulator/graph/v23.0/${id}`, { headers: { authorization: 'Bearer tok' } });
      const { url } = (await res.json()) as { url: string };
      expect(url.startsWith(`${server.origin}/simulator/graph/media-download/`)).toBe(true);
      expect(new Uint8Array(await (await fetch(url, { headers: { authorization: 'Bearer tok' } })).arrayBuffer())).toEqual(new Uint8Array([7]));
      const sent = await fetch(`${server.origin}/simulator/graph/v23.0/123456/messages`, {
        method: 'POST', headers: { authorization: 'Bearer tok', 'content-type': 'application/json' }, body: JSON.stringify({ ...base, text: { body: 'hi' } }),
      });
      expect(sent.status).toBe(200);
    } finally {
      await server.close();
    }
  });
});
