import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RelaisError } from '../../src/core/errors.js';
import { createCloudApiClient, isLoopbackHost, isPrivateAddress, sha256Matches } from '../../src/whatsapp/cloud-api.js';
import { classifyGraphError, describeGraphError, GRAPH_ERROR_CODES, parseRetryAfter, scrubGraphText } from '../../src/whatsapp/error-codes.js';
import { defaultFilename, extensionFor, MEDIA_LIMITS, mediaCap } from '../../src/whatsapp/media-limits.js';

const TOKEN = 'test-token-abc';

// ------------------------------------------------------------------------------------------------
// A tiny Graph API look-alike on 127.0.0.1. Each test installs the handlers it needs.

interface Seen { method: string; path: string; query: string; auth?: string; contentType?: string; body: Buffer }
type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void;

let server: http.Server;
let origin = '';
let handlers = new Map<string, Handler>();
let seen: Seen[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', origin);
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method ?? '', path: url.pathname, query: url.search, auth: req.headers.authorization, contentType: req.headers['content-type'], body });
      const h = handlers.get(`${req.method} ${url.pathname}`);
      if (!h) return json(res, 404, { error: { message: 'Unknown path', code: 803 } });
      h(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => {
  handlers = new Map();
  seen = [];
});

function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

const client = (extra: Partial<Parameters<typeof createCloudApiClient>[0]> = {}) =>
  createCloudApiClient({ apiUrl: `${origin}/v23.0`, accessToken: TOKEN, ...extra });

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return Buffer.concat(parts);
    parts.push(value);
  }
}

async function caught(p: Promise<unknown>): Promise<RelaisError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(RelaisError);
    return err as RelaisError;
  }
  throw new Error('expected a RelaisError');
}

const PHOTO = Buffer.from('\xff\xd8\xff\xe0 a small jpeg-ish payload '.repeat(50), 'latin1');
const hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Media info for `id` pointing at `/dl/<file>`; bytes served with the token required. */
function serveMedia(id: string, file: string, bytes: Buffer, info: Record<string, unknown> = {}) {
  handlers.set(`GET /v23.0/${id}`, (_req, res) =>
    json(res, 200, { messaging_product: 'whatsapp', id, url: `${origin}/dl/${file}?ext=1&hash=abc`, mime_type: 'image/jpeg', sha256: hex(bytes), file_size: String(bytes.length), ...info }));
  handlers.set(`GET /dl/${file}`, (req, res) => {
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return json(res, 401, { error: { code: 190, message: 'no token' } });
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': String(bytes.length) });
    res.end(bytes);
  });
}

// ------------------------------------------------------------------------------------------------

describe('downloadMedia', () => {
  it('fetches the info, then the bytes, with the Bearer token on both requests', async () => {
    serveMedia('111', 'photo', PHOTO);
    const info = await client().getMediaInfo('111', '106540352242922');
    expect(info).toEqual({ url: `${origin}/dl/photo?ext=1&hash=abc`, mimeType: 'image/jpeg', sha256: hex(PHOTO), fileSize: PHOTO.length });
    expect(seen[0]).toMatchObject({ method: 'GET', path: '/v23.0/111', query: '?phone_number_id=106540352242922', auth: `Bearer ${TOKEN}` });

    seen = [];
    const dl = await client().downloadMedia('111', { maxBytes: 1_000_000 });
    expect(dl).toMatchObject({ mimeType: 'image/jpeg', sha256: hex(PHOTO), size: PHOTO.length });
    expect(await readAll(dl.stream)).toEqual(PHOTO);
    expect(seen.map((s) => [s.method, s.path, s.auth])).toEqual([
      ['GET', '/v23.0/111', `Bearer ${TOKEN}`],
      ['GET', '/dl/photo', `Bearer ${TOKEN}`],
    ]);
  });

  it('verifies the base64 hash from the webhook as well', async () => {
    serveMedia('112', 'photo2', PHOTO, { sha256: undefined });
    const b64 = createHash('sha256').update(PHOTO).digest('base64');
    expect(await readAll((await client().downloadMedia('112', { maxBytes: 1e6, expectedSha256: b64 })).stream)).toEqual(PHOTO);
    const wrong = createHash('sha256').update('other').digest('base64');
    const err = await caught(readAll((await client().downloadMedia('112', { maxBytes: 1e6, expectedSha256: wrong })).stream));
    expect(err).toMatchObject({ code: 'media_integrity', retryable: true });
  });

  it('refuses a redirect without following it', async () => {
    handlers.set('GET /v23.0/200', (_req, res) => json(res, 200, { url: `${origin}/dl/moved`, mime_type: 'image/jpeg' }));
    handlers.set('GET /dl/moved', (_req, res) => { res.writeHead(302, { location: `${origin}/dl/elsewhere` }); res.end(); });
    handlers.set('GET /dl/elsewhere', (_req, res) => { res.writeHead(200); res.end('secret'); });
    const err = await caught(client().downloadMedia('200', { maxBytes: 1e6 }));
    expect(err).toMatchObject({ code: 'media_redirect_refused', retryable: false });
    expect(seen.map((s) => s.path)).not.toContain('/dl/elsewhere');
  });

  it('refuses upfront when file_size or Content-Length exceeds the cap, without downloading', async () => {
    serveMedia('300', 'big', PHOTO);
    const err = await caught(client().downloadMedia('300', { maxBytes: PHOTO.length - 1 }));
    expect(err).toMatchObject({ code: 'media_too_large', retryable: false });
    expect(seen.map((s) => s.path)).toEqual(['/v23.0/300']);

    serveMedia('301', 'big2', PHOTO, { file_size: undefined });
    const err2 = await caught(client().downloadMedia('301', { maxBytes: 100 }));
    expect(err2).toMatchObject({ code: 'media_too_large', retryable: false });
  });

  it('aborts a stream that runs past maxBytes (no size declared anywhere)', async () => {
    let serverSawAbort = false;
    let sent = 0;
    handlers.set('GET /v23.0/400', (_req, res) => json(res, 200, { url: `${origin}/dl/endless`, mime_type: 'video/mp4' }));
    handlers.set('GET /dl/endless', (_req, res) => {
      res.writeHead(200, { 'content-type': 'video/mp4' }); // chunked, no length
      const endless = new Readable({ read() { sent += 1024; this.push(Buffer.alloc(1024, 7)); } });
      res.on('close', () => { serverSawAbort = !res.writableFinished; endless.destroy(); });
      endless.pipe(res);
    });
    const dl = await client().downloadMedia('400', { maxBytes: 8 * 1024 });
    expect(dl.size).toBe(-1);
    const reader = dl.stream.getReader();
    let received = 0;
    const err = await (async () => {
      for (;;) {
        try {
          const { done, value } = await reader.read();
          if (done) return undefined;
          received += value.length;
        } catch (e) {
          return e as RelaisError;
        }
      }
    })();
    expect(err).toMatchObject({ code: 'media_too_large', retryable: false });
    expect(received).toBeLessThanOrEqual(8 * 1024);
    await new Promise((r) => setImmediate(r));
    await vi_waitFor(() => serverSawAbort);
    expect(sent).toBeGreaterThan(8 * 1024);
  });

  it('errors the stream on a SHA-256 mismatch (retryable)', async () => {
    serveMedia('500', 'tampered', PHOTO, { sha256: hex(Buffer.from('something else')) });
    const dl = await client().downloadMedia('500', { maxBytes: 1e6 });
    const err = await caught(readAll(dl.stream));
    expect(err).toMatchObject({ code: 'media_integrity', retryable: true });
  });

  it('re-requests the media info once when the download URL has expired', async () => {
    let infoCalls = 0;
    handlers.set('GET /v23.0/600', (_req, res) => {
      infoCalls += 1;
      json(res, 200, { url: `${origin}/dl/${infoCalls === 1 ? 'expired' : 'fresh'}`, mime_type: 'image/jpeg', sha256: hex(PHOTO) });
    });
    handlers.set('GET /dl/expired', (_req, res) => json(res, 404, { error: { message: 'URL expired' } }));
    handlers.set('GET /dl/fresh', (_req, res) => { res.writeHead(200); res.end(PHOTO); });
    const dl = await client().downloadMedia('600', { maxBytes: 1e6 });
    expect(await readAll(dl.stream)).toEqual(PHOTO);
    expect(seen.map((s) => s.path)).toEqual(['/v23.0/600', '/dl/expired', '/v23.0/600', '/dl/fresh']);
  });

  it('gives up after one re-request', async () => {
    handlers.set('GET /v23.0/601', (_req, res) => json(res, 200, { url: `${origin}/dl/gone`, mime_type: 'image/jpeg' }));
    handlers.set('GET /dl/gone', (_req, res) => json(res, 403, {}));
    const err = await caught(client().downloadMedia('601', { maxBytes: 1e6 }));
    expect(err).toMatchObject({ code: 'whatsapp_http_403', retryable: false });
    expect(seen.map((s) => s.path)).toEqual(['/v23.0/601', '/dl/gone', '/v23.0/601', '/dl/gone']);
  });

  it('classifies a 429 with Retry-After on the media info call', async () => {
    handlers.set('GET /v23.0/700', (_req, res) =>
      json(res, 429, { error: { message: '(#130429) Rate limit hit', type: 'OAuthException', code: 130429, fbtrace_id: 'Axyz' } }, { 'retry-after': '7' }));
    const err = await caught(client().downloadMedia('700', { maxBytes: 1e6 }));
    expect(err).toMatchObject({ code: 'whatsapp_130429', retryable: true, retryAfterMs: 7000 });
    expect(err.message).toContain('fbtrace_id Axyz');
  });

  it('maps an invalid token (190) to whatsapp_token_invalid', async () => {
    handlers.set('GET /v23.0/800', (_req, res) =>
      json(res, 401, { error: { message: 'Error validating access token: Session has expired', type: 'OAuthException', code: 190, error_subcode: 463 } }));
    const err = await caught(client().getMediaInfo('800'));
    expect(err).toMatchObject({ code: 'whatsapp_token_invalid', retryable: false });
    expect(err.message).toContain('WHATSAPP_ACCESS_TOKEN');
    expect(err.message).not.toContain(TOKEN);
  });

  it('never puts the media URL or the token in error messages', async () => {
    handlers.set('GET /v23.0/900', (_req, res) => json(res, 200, { url: `${origin}/dl/broken?hash=SECRETHASH`, mime_type: 'image/jpeg' }));
    handlers.set('GET /dl/broken', (_req, res) => json(res, 500, { error: { message: 'boom for wamid.HBgLMTY1MDM4 and +33 6 12 34 56 78' } }));
    const err = await caught(client().downloadMedia('900', { maxBytes: 1e6 }));
    expect(err).toMatchObject({ code: 'whatsapp_http_500', retryable: true });
    expect(err.message).not.toMatch(/SECRETHASH|dl\/broken|HBgL|12 34|test-token/);
  });

  it('refuses ids that could escape the Graph path', async () => {
    expect(await caught(client().getMediaInfo('../me'))).toMatchObject({ code: 'whatsapp_invalid_id', retryable: false });
    expect(await caught(client().sendMessage('1/../../x', {}))).toMatchObject({ code: 'whatsapp_invalid_id' });
    expect(seen).toEqual([]);
  });
});

/** Polls `cond` on the event loop (no timers, no wall clock); vitest's own timeout bounds it. */
async function vi_waitFor(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setImmediate(r));
}

describe('downloadMedia URL policy (SSRF)', () => {
  /** A production-like client: https API, Graph answered by a stub fetch, DNS answered by a stub. */
  function prodClient(mediaUrl: string, resolveHost: (h: string) => Promise<string[]> = async () => ['93.184.216.34'], allowedMediaHosts?: string[]) {
    const fetchImpl = (async () => new Response(JSON.stringify({ url: mediaUrl, mime_type: 'image/jpeg' }), { status: 200 })) as typeof fetch;
    return createCloudApiClient({ apiUrl: 'https://graph.facebook.com/v23.0', accessToken: TOKEN, fetchImpl, resolveHost, allowedMediaHosts });
  }

  it.each([
    ['cloud metadata address', 'https://169.254.169.254/latest/meta-data/'],
    ['loopback IPv4', 'https://127.0.0.1/x'],
    ['private 10/8', 'https://10.1.2.3/x'],
    ['IPv4-mapped loopback', 'https://[::ffff:127.0.0.1]/x'],
    ['IPv6 loopback', 'https://[::1]/x'],
    ['IPv6 unique-local', 'https://[fd00:ec2::254]/x'],
    ['decimal-encoded loopback', 'https://2130706433/x'],
    ['plain http when the API is https', 'http://lookaside.fbsbx.com/x'],
    ['file scheme', 'file:///etc/passwd'],
    ['credentials in the URL', 'https://user:pw@lookaside.fbsbx.com/x'],
  ])('refuses %s', async (_name, url) => {
    const err = await caught(prodClient(url).downloadMedia('1', { maxBytes: 1e6 }));
    expect(err).toMatchObject({ code: 'media_url_refused', retryable: false });
    expect(err.message).not.toContain(url);
  });

  it('refuses a hostname that resolves to a private address (checked at connect time)', async () => {
    const lookups: string[] = [];
    const err = await caught(prodClient('https://media.example.test/x', async (h) => { lookups.push(h); return ['10.0.0.5']; }).downloadMedia('1', { maxBytes: 1e6 }));
    expect(err).toMatchObject({ code: 'media_url_refused', retryable: false });
    expect(lookups).toEqual(['media.example.test']);
  });

  it('refuses a host outside allowedMediaHosts', async () => {
    const err = await caught(prodClient('https://evil.example/x', undefined, ['fbsbx.com']).downloadMedia('1', { maxBytes: 1e6 }));
    expect(err).toMatchObject({ code: 'media_url_refused' });
  });

  it('allows loopback and http only when the API URL itself is loopback http', async () => {
    serveMedia('10', 'ok', PHOTO);
    expect(await readAll((await client().downloadMedia('10', { maxBytes: 1e6 })).stream)).toEqual(PHOTO);
  });

  it.each([
    ['127.0.0.1', true], ['10.0.0.1', true], ['172.16.5.4', true], ['172.32.0.1', false], ['192.168.1.1', true],
    ['169.254.169.254', true], ['100.64.0.1', true], ['0.0.0.0', true], ['224.0.0.1', true], ['255.255.255.255', true],
    ['8.8.8.8', false], ['157.240.1.1', false], ['::1', true], ['::', true], ['fe80::1', true], ['fc00::1', true],
    ['::ffff:10.0.0.1', true], ['::ffff:8.8.8.8', false], ['64:ff9b::a00:1', true], ['64:ff9b::808:808', false],
    ['2a03:2880:f12f:83:face:b00c:0:25de', false], ['not-an-ip', true],
  ])('isPrivateAddress(%s) = %s', (ip, expected) => {
    expect(isPrivateAddress(ip)).toBe(expected);
  });

  it('isLoopbackHost', () => {
    expect(['localhost', 'api.localhost', '127.0.0.1', '127.9.9.9', '[::1]', '::ffff:127.0.0.1'].every(isLoopbackHost)).toBe(true);
    expect(['graph.facebook.com', '10.0.0.1', '::2', 'localhost.example.com'].some(isLoopbackHost)).toBe(false);
  });

  it('sha256Matches reads hex and base64, and ignores what is neither', () => {
    const d = createHash('sha256').update('x').digest();
    expect(sha256Matches(d, d.toString('hex'))).toBe(true);
    expect(sha256Matches(d, d.toString('hex').toUpperCase())).toBe(true);
    expect(sha256Matches(d, d.toString('base64'))).toBe(true);
    expect(sha256Matches(d, d.toString('base64url'))).toBe(true);
    expect(sha256Matches(d, createHash('sha256').update('y').digest('base64'))).toBe(false);
    expect(sha256Matches(d, 'E3dxS/PdYZE7ppA3pQ4mpCFaXBJ8pX4SRN/dsfvds/iPGA=')).toBeUndefined();
  });
});

describe('sendMessage, uploadMedia, markRead', () => {
  it('POSTs JSON to /{phone-number-id}/messages and returns the wamid', async () => {
    handlers.set('POST /v23.0/106540352242922/messages', (_req, res) =>
      json(res, 200, { messaging_product: 'whatsapp', contacts: [{ input: '16505551234', wa_id: '16505551234' }], messages: [{ id: 'wamid.OUT1' }] }));
    const r = await client().sendMessage('106540352242922', { recipient_type: 'individual', to: '16505551234', type: 'text', text: { body: 'Bonjour 😀', preview_url: false } });
    expect(r).toEqual({ wamid: 'wamid.OUT1' });
    expect(seen[0]).toMatchObject({ method: 'POST', auth: `Bearer ${TOKEN}`, contentType: 'application/json' });
    expect(JSON.parse(seen[0]!.body.toString('utf8'))).toEqual({
      messaging_product: 'whatsapp', recipient_type: 'individual', to: '16505551234', type: 'text', text: { body: 'Bonjour 😀', preview_url: false },
    });
  });

  it('classifies 131047 (window closed) as not retryable with an agent hint', async () => {
    handlers.set('POST /v23.0/106540352242922/messages', (_req, res) =>
      json(res, 400, { error: { message: '(#131047) Re-engagement message', type: 'OAuthException', code: 131047, error_data: { messaging_product: 'whatsapp', details: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.' }, fbtrace_id: 'A1' } }));
    const err = await caught(client().sendMessage('106540352242922', { to: '16505551234', type: 'text', text: { body: 'hi' } }));
    expect(err).toMatchObject({ code: 'whatsapp_131047', retryable: false });
    expect(err.agentMessage).toMatch(/template/);
    expect(err.retryAfterMs).toBeUndefined();
  });

  it('reports a 200 without message id as a non-retryable bad response', async () => {
    handlers.set('POST /v23.0/1/messages', (_req, res) => json(res, 200, { messages: [] }));
    expect(await caught(client().sendMessage('1', {}))).toMatchObject({ code: 'whatsapp_bad_response', retryable: false });
  });

  it('uploads multipart with messaging_product, type and file', async () => {
    let form: FormData | undefined;
    handlers.set('POST /v23.0/106540352242922/media', (req, res, body) => {
      void new Request('http://x/', { method: 'POST', headers: { 'content-type': req.headers['content-type']! }, body: new Uint8Array(body) }).formData().then((f) => {
        form = f;
        json(res, 200, { id: '4490709327384033' });
      });
    });
    const bytes = new Uint8Array([0x25, 0x50, 0x44, 0x46, 0x2d, 0x31]);
    const r = await client().uploadMedia('106540352242922', { bytes, mimeType: 'application/pdf', filename: 'facture été.pdf' });
    expect(r).toEqual({ mediaId: '4490709327384033' });
    expect(seen[0]!.contentType).toMatch(/^multipart\/form-data; boundary=/);
    expect(seen[0]!.auth).toBe(`Bearer ${TOKEN}`);
    expect(form!.get('messaging_product')).toBe('whatsapp');
    expect(form!.get('type')).toBe('application/pdf');
    const file = form!.get('file') as File;
    expect(file.name).toBe('facture été.pdf');
    expect(file.type).toBe('application/pdf');
    expect(new Uint8Array(await file.arrayBuffer())).toEqual(bytes);
  });

  it('marks a message as read, optionally with the typing indicator', async () => {
    handlers.set('POST /v23.0/106540352242922/messages', (_req, res) => json(res, 200, { success: true }));
    await client().markRead('106540352242922', 'wamid.IN1');
    await client().markRead('106540352242922', 'wamid.IN2', { typingIndicator: true });
    expect(seen.map((s) => JSON.parse(s.body.toString('utf8')) as unknown)).toEqual([
      { messaging_product: 'whatsapp', status: 'read', message_id: 'wamid.IN1' },
      { messaging_product: 'whatsapp', status: 'read', message_id: 'wamid.IN2', typing_indicator: { type: 'text' } },
    ]);
  });

  it('maps 5xx without a code and unreachable servers to retryable errors', async () => {
    handlers.set('POST /v23.0/1/messages', (_req, res) => { res.writeHead(503); res.end('Service Unavailable'); });
    expect(await caught(client().sendMessage('1', {}))).toMatchObject({ code: 'whatsapp_http_503', retryable: true });

    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const down = createCloudApiClient({ apiUrl: `http://127.0.0.1:${port}/v23.0`, accessToken: TOKEN });
    expect(await caught(down.sendMessage('1', {}))).toMatchObject({ code: 'whatsapp_network', retryable: true });
  });
});

// ------------------------------------------------------------------------------------------------
// Pure tables: error codes and media limits.

describe('classifyGraphError', () => {
  const body = (code: number) => ({ error: { message: 'x', type: 'OAuthException', code } });
  it.each([
    [400, 131047, 'whatsapp_131047', false, 'window_closed'],
    [400, 131026, 'whatsapp_131026', false, 'undeliverable'],
    [429, 130429, 'whatsapp_130429', true, 'rate_limit'],
    [400, 131056, 'whatsapp_131056', true, 'pair_rate_limit'],
    [400, 131048, 'whatsapp_131048', false, 'policy'],
    [400, 131051, 'whatsapp_131051', false, 'invalid'],
    [503, 131057, 'whatsapp_131057', true, 'transient'],
    [500, 131000, 'whatsapp_131000', true, 'transient'],
    [400, 130472, 'whatsapp_130472', false, 'undeliverable'],
    [401, 190, 'whatsapp_token_invalid', false, 'auth'],
    [400, 100, 'whatsapp_100', false, 'invalid'],
    [400, 131053, 'whatsapp_131053', false, 'invalid'],
    [400, 131009, 'whatsapp_131009', false, 'invalid'],
    [400, 368, 'whatsapp_368', false, 'policy'],
  ])('HTTP %i code %i → %s (retryable %s, %s)', (status, code, expected, retryable, kind) => {
    const err = classifyGraphError(status, body(code), { retryAfter: '3' });
    expect(err).toMatchObject({ code: expected, retryable });
    expect(describeGraphError(code)!.kind).toBe(kind);
    expect(err.retryAfterMs).toBe(retryable ? 3000 : undefined);
    expect(err.agentMessage).toBe(describeGraphError(code)!.agentHint.en);
    expect(classifyGraphError(status, body(code), { locale: 'fr' }).agentMessage).toBe(describeGraphError(code)!.agentHint.fr);
  });

  it.each([
    [429, undefined, 'whatsapp_http_429', true],
    [500, undefined, 'whatsapp_http_500', true],
    [502, 'not json', 'whatsapp_http_502', true],
    [404, '', 'whatsapp_http_404', false],
    [400, { error: { code: 999999 } }, 'whatsapp_999999', false],
    [503, { error: { code: 999999 } }, 'whatsapp_999999', true],
    [429, body(131026), 'whatsapp_131026', true],
  ])('HTTP %i body %j → %s retryable %s', (status, b, code, retryable) => {
    expect(classifyGraphError(status, b)).toMatchObject({ code, retryable });
  });

  it('reads a raw JSON string body and keeps Meta details without numbers or wamids', () => {
    const err = classifyGraphError(400, JSON.stringify({ error: { code: 100, message: 'Invalid parameter', error_data: { details: "Param 'to' +33 6 12 34 56 78 invalid for wamid.HBgLMzM2MTI=" } } }));
    expect(err.code).toBe('whatsapp_100');
    expect(err.message).toContain("Param 'to' [number] invalid for wamid.[redacted]");
  });

  it('every table entry has both hints', () => {
    for (const info of Object.values(GRAPH_ERROR_CODES)) {
      expect(info.agentHint.en.length).toBeGreaterThan(10);
      expect(info.agentHint.fr.length).toBeGreaterThan(10);
    }
    expect(describeGraphError(250)).toBe(GRAPH_ERROR_CODES[200]);
  });

  it('parseRetryAfter reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('120')).toBe(120_000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(10_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });

  it('scrubGraphText removes numbers and wamids', () => {
    expect(scrubGraphText('to 16505551234 about wamid.ABC= ok')).toBe('to [number] about wamid.[redacted] ok');
  });
});

describe('media limits', () => {
  it.each([
    ['image', false, 5 * 1024 * 1024],
    ['video', false, 16 * 1024 * 1024],
    ['audio', false, 16 * 1024 * 1024],
    ['document', false, 100 * 1024 * 1024],
    ['sticker', false, 100 * 1024],
    ['sticker', true, 500 * 1024],
  ] as const)('mediaCap(%s, animated=%s) = %i', (kind, animated, cap) => {
    expect(mediaCap(kind, { animated })).toBe(cap);
  });

  it('extensionFor and defaultFilename ignore MIME parameters and never trust unknown types', () => {
    expect(extensionFor('audio/ogg; codecs=opus')).toBe('ogg');
    expect(extensionFor('IMAGE/JPEG')).toBe('jpg');
    expect(extensionFor('application/vnd.openxmlformats-officedocument.wordprocessingml.document')).toBe('docx');
    expect(extensionFor('application/x-evil')).toBe('bin');
    expect(extensionFor(undefined)).toBe('bin');
    expect(defaultFilename('audio', 'audio/ogg; codecs=opus')).toBe('audio.ogg');
    expect(defaultFilename('image', 'image/webp')).toBe('image.webp');
    expect(MEDIA_LIMITS.stickerAnimated).toBe(512_000);
  });
});
