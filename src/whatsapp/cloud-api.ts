import { createHash } from 'node:crypto';
import { lookup as dnsLookup } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import sjson from 'secure-json-parse';
import { RelaisError } from '../core/errors.js';
import { classifyGraphError } from './error-codes.js';

/**
 * Client for the WhatsApp Cloud API (Meta Graph API): media download and upload, send, mark-as-read.
 * Every method does network I/O and throws only `RelaisError` (code + retryable). Nothing here logs;
 * error messages never contain the token, a media URL, a wamid or a phone number.
 */

export interface CloudApiClientOptions {
  /** WHATSAPP_API_URL, including the version: `https://graph.facebook.com/v23.0`. */
  apiUrl: string;
  /** System-user access token (sent as `Authorization: Bearer`). */
  accessToken: string;
  /** fetch used for Graph API calls (JSON and multipart). Default: global fetch. */
  fetchImpl?: typeof fetch;
  /** Timeout of one Graph API call, and idle timeout of a media download. Default 30 s. */
  timeoutMs?: number;
  /** Resolves a media host to IP addresses. Default: the system resolver. Tests replace it. */
  resolveHost?: (hostname: string) => Promise<string[]>;
  /** When set, media is only fetched from these hosts or their subdomains (e.g. `fbsbx.com`). */
  allowedMediaHosts?: string[];
}

export interface MediaInfo { url: string; mimeType: string; sha256?: string; fileSize?: number }

export interface MediaDownload {
  mimeType: string;
  /** Meta's declared SHA-256 (as given); the stream errors if the bytes do not match it. */
  sha256?: string;
  /** Declared size in bytes (Meta's file_size, else Content-Length); -1 when neither was given. */
  size: number;
  /**
   * The bytes. Errors with `media_too_large` (not retryable) past `maxBytes`, and with
   * `media_integrity` (retryable) when the hash or declared size does not match at the end.
   * Cancel it to abort the download.
   */
  stream: ReadableStream<Uint8Array>;
}

export interface CloudApiClient {
  /** `GET /{media-id}[?phone_number_id=]`. The returned URL is valid for about 5 minutes. */
  getMediaInfo(mediaId: string, phoneNumberId?: string): Promise<MediaInfo>;
  /**
   * Media info, then the file itself from the returned URL with the Bearer token. The URL must be
   * https (http only when `apiUrl` is http), must not resolve to a private, loopback, link-local or
   * metadata address (allowed only when `apiUrl` is loopback), and is not redirected. An expired URL
   * (401/403/404) is re-requested once. Oversized files are refused before any byte when declared.
   */
  downloadMedia(
    mediaId: string,
    opts: { maxBytes: number; phoneNumberId?: string; expectedSha256?: string },
  ): Promise<MediaDownload>;
  /**
   * `POST /{phone-number-id}/messages` with `body` (`messaging_product` added). Not idempotent: a
   * `whatsapp_send_outcome_unknown` error (timeout) means the message may have been sent.
   */
  sendMessage(phoneNumberId: string, body: object): Promise<{ wamid: string }>;
  /** `POST /{phone-number-id}/media`, multipart `messaging_product`, `type`, `file`. */
  uploadMedia(phoneNumberId: string, media: { bytes: Uint8Array; mimeType: string; filename: string }): Promise<{ mediaId: string }>;
  /** Marks a customer message as read (optionally showing the typing indicator). Idempotent. */
  markRead(phoneNumberId: string, wamid: string, opts?: { typingIndicator?: boolean }): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const ERROR_BODY_CAP = 64 * 1024;
const GRAPH_ID = /^[A-Za-z0-9_-]{1,128}$/;

export function createCloudApiClient(options: CloudApiClientOptions): CloudApiClient {
  const base = new URL(options.apiUrl.endsWith('/') ? options.apiUrl : options.apiUrl + '/');
  if (base.protocol !== 'https:' && base.protocol !== 'http:') {
    throw new RelaisError('config_invalid', 'WHATSAPP_API_URL must be an http(s) URL.', { retryable: false });
  }
  const fetchImpl = options.fetchImpl ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const auth = `Bearer ${options.accessToken}`;
  const devApi = isLoopbackHost(base.hostname);
  const policy: UrlPolicy = {
    allowHttp: base.protocol === 'http:',
    allowPrivate: devApi,
    allowedHosts: options.allowedMediaHosts?.map((h) => h.toLowerCase().replace(/^\.+/, '')),
    resolveHost: options.resolveHost ?? systemResolve,
  };

  async function graph(method: 'GET' | 'POST', path: string, body?: { json?: object; form?: FormData }): Promise<Record<string, unknown>> {
    const headers: Record<string, string> = { authorization: auth, accept: 'application/json' };
    if (body?.json) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetchImpl(new URL(path, base), {
        method,
        headers,
        body: body?.json ? JSON.stringify(body.json) : body?.form,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw networkError(err);
    }
    const text = await res.text().catch((err: unknown) => { throw networkError(err); });
    if (!res.ok) throw classifyGraphError(res.status, text.slice(0, ERROR_BODY_CAP), { retryAfter: res.headers.get('retry-after') });
    try {
      const parsed: unknown = sjson.parse(text, null, { protoAction: 'remove', constructorAction: 'remove' });
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
    } catch {
      // fall through
    }
    throw new RelaisError('whatsapp_bad_response', `WhatsApp Graph API answered HTTP ${res.status} with a body that is not a JSON object.`, { retryable: true });
  }

  async function getMediaInfo(mediaId: string, phoneNumberId?: string): Promise<MediaInfo> {
    const query = phoneNumberId === undefined ? '' : `?phone_number_id=${encodeURIComponent(checkId(phoneNumberId, 'phone_number_id'))}`;
    const r = await graph('GET', encodeURIComponent(checkId(mediaId, 'media id')) + query);
    const fileSize = typeof r.file_size === 'number' ? r.file_size : typeof r.file_size === 'string' && /^\d{1,15}$/.test(r.file_size) ? Number(r.file_size) : undefined;
    if (typeof r.url !== 'string' || r.url.length === 0 || r.url.length > 8192) {
      throw new RelaisError('whatsapp_bad_response', 'WhatsApp media info has no usable url.', { retryable: true });
    }
    return {
      url: r.url,
      mimeType: typeof r.mime_type === 'string' ? r.mime_type : 'application/octet-stream',
      ...(typeof r.sha256 === 'string' ? { sha256: r.sha256 } : {}),
      ...(fileSize !== undefined ? { fileSize } : {}),
    };
  }

  async function downloadMedia(
    mediaId: string,
    opts: { maxBytes: number; phoneNumberId?: string; expectedSha256?: string },
  ): Promise<MediaDownload> {
    for (let attempt = 0; ; attempt++) {
      const info = await getMediaInfo(mediaId, opts.phoneNumberId);
      if (info.fileSize !== undefined && info.fileSize > opts.maxBytes) throw tooLarge(opts.maxBytes);
      const url = await checkMediaUrl(info.url, policy);
      const { req, res } = await get(url, { authorization: auth }, policy, timeoutMs);
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400) {
        req.destroy();
        throw new RelaisError('media_redirect_refused', `The WhatsApp media server answered with a redirect (HTTP ${status}); redirects are not followed.`, { retryable: false });
      }
      if ((status === 401 || status === 403 || status === 404) && attempt === 0) {
        req.destroy();
        continue; // the 5-minute URL expired (or was refused): ask Graph for a fresh one, once
      }
      if (status < 200 || status >= 300) {
        const body = await readCapped(res, ERROR_BODY_CAP).finally(() => req.destroy());
        throw classifyGraphError(status, body, { retryAfter: header(res, 'retry-after') });
      }
      const contentLength = /^\d{1,15}$/.test(header(res, 'content-length') ?? '') ? Number(header(res, 'content-length')) : undefined;
      if (contentLength !== undefined && contentLength > opts.maxBytes) {
        req.destroy();
        throw tooLarge(opts.maxBytes);
      }
      const declared = info.fileSize ?? contentLength;
      const hashes = [info.sha256, opts.expectedSha256].filter((h): h is string => h !== undefined);
      return {
        mimeType: info.mimeType,
        ...(info.sha256 !== undefined ? { sha256: info.sha256 } : {}),
        size: declared ?? -1,
        stream: limitedStream(req, res, opts.maxBytes, declared, hashes),
      };
    }
  }

  async function sendMessage(phoneNumberId: string, body: object): Promise<{ wamid: string }> {
    let r: Record<string, unknown>;
    try {
      r = await graph('POST', `${checkId(phoneNumberId, 'phone_number_id')}/messages`, { json: { messaging_product: 'whatsapp', ...body } });
    } catch (err) {
      if (err instanceof RelaisError && err.code === 'whatsapp_timeout') {
        throw new RelaisError('whatsapp_send_outcome_unknown', 'Sending to WhatsApp timed out: the message may or may not have been sent.', { retryable: true });
      }
      throw err;
    }
    const first = Array.isArray(r.messages) ? (r.messages[0] as Record<string, unknown> | undefined) : undefined;
    if (typeof first?.id !== 'string' || first.id.length === 0) {
      throw new RelaisError('whatsapp_bad_response', 'WhatsApp accepted the message but returned no message id.', { retryable: false });
    }
    return { wamid: first.id };
  }

  async function uploadMedia(phoneNumberId: string, media: { bytes: Uint8Array; mimeType: string; filename: string }): Promise<{ mediaId: string }> {
    const form = new FormData();
    form.set('messaging_product', 'whatsapp');
    form.set('type', media.mimeType);
    form.set('file', new Blob([media.bytes as Uint8Array<ArrayBuffer>], { type: media.mimeType }), media.filename);
    const r = await graph('POST', `${checkId(phoneNumberId, 'phone_number_id')}/media`, { form });
    if (typeof r.id !== 'string' || r.id.length === 0) {
      throw new RelaisError('whatsapp_bad_response', 'WhatsApp accepted the upload but returned no media id.', { retryable: true });
    }
    return { mediaId: r.id };
  }

  async function markRead(phoneNumberId: string, wamid: string, opts: { typingIndicator?: boolean } = {}): Promise<void> {
    await graph('POST', `${checkId(phoneNumberId, 'phone_number_id')}/messages`, {
      json: {
        messaging_product: 'whatsapp',
        status: 'read',
        message_id: wamid,
        ...(opts.typingIndicator ? { typing_indicator: { type: 'text' } } : {}),
      },
    });
  }

  return { getMediaInfo, downloadMedia, sendMessage, uploadMedia, markRead };
}

// ------------------------------------------------------------------------------------------------
// Media URL policy (SSRF): shared/RELIABILITY.md §3.1.

interface UrlPolicy {
  allowHttp: boolean;
  allowPrivate: boolean;
  allowedHosts?: string[];
  resolveHost: (hostname: string) => Promise<string[]>;
}

const refused = (why: string) =>
  new RelaisError('media_url_refused', `The WhatsApp media URL was refused: ${why}.`, { retryable: false });

/** Checks scheme, credentials, host allowlist and (for IP literals) the address. Hostnames are checked at connect time. */
async function checkMediaUrl(raw: string, policy: UrlPolicy): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refused('not a valid URL');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowHttp)) throw refused(`scheme ${url.protocol} is not allowed`);
  if (url.username || url.password) throw refused('it carries credentials');
  const host = bareHost(url.hostname).toLowerCase();
  if (policy.allowedHosts && !policy.allowedHosts.some((h) => host === h || host.endsWith('.' + h))) throw refused('host is not in the allowed list');
  if (isIP(host) && !policy.allowPrivate && isPrivateAddress(host)) throw refused('it points to a private or reserved address');
  return url;
}

/** A `lookup` for http.request that refuses private addresses at connect time (no DNS-rebinding gap). */
function guardedLookup(policy: UrlPolicy): LookupFunction {
  return (hostname, options, callback) => {
    policy.resolveHost(hostname).then(
      (addresses) => {
        const usable = addresses.filter((a) => isIP(a) !== 0 && (!options.family || isIP(a) === options.family));
        if (usable.length === 0) return callback(Object.assign(new Error('no address'), { code: 'ENOTFOUND' }), '', 4);
        if (!policy.allowPrivate && usable.some(isPrivateAddress)) {
          return callback(refused('its host resolves to a private or reserved address') as NodeJS.ErrnoException, '', 4);
        }
        if (options.all) return callback(null, usable.map((address) => ({ address, family: isIP(address) })));
        return callback(null, usable[0]!, isIP(usable[0]!));
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 4),
    );
  };
}

function systemResolve(hostname: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses.map((a) => a.address))));
  });
}

function get(url: URL, headers: Record<string, string>, policy: UrlPolicy, timeoutMs: number): Promise<{ req: http.ClientRequest; res: http.IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.request(url, { method: 'GET', headers, lookup: guardedLookup(policy) });
    req.setTimeout(timeoutMs, () => req.destroy(new RelaisError('media_timeout', 'The WhatsApp media download stalled.', { retryable: true })));
    req.once('response', (res) => resolve({ req, res }));
    req.once('error', (err) => reject(err instanceof RelaisError ? err : mediaNetworkError(err)));
    req.end();
  });
}

function limitedStream(
  req: http.ClientRequest,
  res: http.IncomingMessage,
  maxBytes: number,
  declared: number | undefined,
  expectedHashes: string[],
): ReadableStream<Uint8Array> {
  const hash = createHash('sha256');
  let total = 0;
  let settled = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const fail = (err: RelaisError) => {
        if (settled) return;
        settled = true;
        controller.error(err);
        req.destroy();
      };
      res.on('data', (chunk: Buffer) => {
        if (settled) return;
        total += chunk.length;
        if (total > maxBytes) return fail(tooLarge(maxBytes));
        hash.update(chunk);
        controller.enqueue(chunk);
        if ((controller.desiredSize ?? 1) <= 0) res.pause();
      });
      res.once('end', () => {
        if (settled) return;
        const digest = hash.digest();
        if (declared !== undefined && total !== declared) return fail(integrity('size differs from the declared size'));
        if (expectedHashes.some((h) => sha256Matches(digest, h) === false)) return fail(integrity('SHA-256 mismatch'));
        settled = true;
        controller.close();
      });
      res.once('error', (err) => fail(err instanceof RelaisError ? err : mediaNetworkError(err)));
      res.once('close', () => { if (!res.complete) fail(integrity('connection closed before the end')); });
      req.once('error', (err) => fail(err instanceof RelaisError ? err : mediaNetworkError(err)));
    },
    pull() {
      res.resume();
    },
    cancel() {
      settled = true;
      req.destroy();
    },
  });
}

/** Compares a digest with Meta's hash (hex or base64). Undefined when the expected value is neither. */
export function sha256Matches(digest: Buffer, expected: string): boolean | undefined {
  const e = expected.trim();
  if (/^[0-9a-fA-F]{64}$/.test(e)) return digest.toString('hex') === e.toLowerCase();
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(e)) return digest.toString('base64').replace(/=+$/, '') === e.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  return undefined;
}

// ------------------------------------------------------------------------------------------------
// Address classification.

const BLOCKED = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15],
  ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) BLOCKED.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128], ['::1', 128], ['100::', 64], ['2001:db8::', 32], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8],
] as const) BLOCKED.addSubnet(net, prefix, 'ipv6');

/**
 * True for loopback, private (RFC 1918, ULA), CGNAT, link-local (incl. the 169.254.169.254 metadata
 * service), multicast, documentation and reserved addresses, including IPv4 embedded in IPv6
 * (`::ffff:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`). Non-IP strings count as private (refused).
 */
export function isPrivateAddress(address: string): boolean {
  const ip = bareHost(address);
  const family = isIP(ip);
  if (family === 4) return BLOCKED.check(ip, 'ipv4');
  if (family !== 6) return true;
  const embedded = embeddedIPv4(ip);
  if (embedded) return BLOCKED.check(embedded, 'ipv4');
  return BLOCKED.check(ip, 'ipv6');
}

/** The IPv4 address inside an IPv4-mapped (`::ffff:0:0/96`) or NAT64 (`64:ff9b::/96`) IPv6 address. */
function embeddedIPv4(ip: string): string | undefined {
  const hextets = expandIPv6(ip);
  if (!hextets) return undefined;
  const mapped = hextets.slice(0, 5).every((h) => h === 0) && hextets[5] === 0xffff;
  const nat64 = hextets[0] === 0x64 && hextets[1] === 0xff9b && hextets.slice(2, 6).every((h) => h === 0);
  if (!mapped && !nat64) return undefined;
  const [hi, lo] = [hextets[6]!, hextets[7]!];
  return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join('.');
}

function expandIPv6(ip: string): number[] | undefined {
  let s = ip.toLowerCase().split('%')[0]!;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (dotted) {
    const parts = dotted[1]!.split('.').map(Number);
    s = s.slice(0, -dotted[1]!.length) + `${((parts[0]! << 8) | parts[1]!).toString(16)}:${((parts[2]! << 8) | parts[3]!).toString(16)}`;
  }
  const [head, tail] = s.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = s.includes('::') ? 8 - h.length - t.length : 0;
  const all = [...h, ...Array<string>(Math.max(0, fill)).fill('0'), ...t].map((x) => parseInt(x, 16));
  return all.length === 8 && all.every((n) => Number.isInteger(n) && n >= 0 && n <= 0xffff) ? all : undefined;
}

/** `localhost`, `*.localhost`, 127.0.0.0/8 and ::1 (also IPv4-mapped). */
export function isLoopbackHost(hostname: string): boolean {
  const h = bareHost(hostname).toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || (embeddedIPv4(h)?.startsWith('127.') ?? false);
  return false;
}

function bareHost(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

// ------------------------------------------------------------------------------------------------
// Small helpers.

function checkId(value: string, what: string): string {
  if (!GRAPH_ID.test(value)) throw new RelaisError('whatsapp_invalid_id', `A WhatsApp ${what} must be 1 to 128 letters, digits, "-" or "_".`, { retryable: false });
  return value;
}

function header(res: http.IncomingMessage, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function readCapped(res: http.IncomingMessage, cap: number): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      if (size < cap) chunks.push(c.subarray(0, cap - size));
      size += c.length;
    });
    res.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.once('error', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

function tooLarge(maxBytes: number): RelaisError {
  return new RelaisError('media_too_large', `The WhatsApp media file is larger than the ${maxBytes}-byte limit.`, {
    retryable: false,
    agentMessage: 'The customer sent a file that is too large for Relais to download.',
  });
}

function integrity(why: string): RelaisError {
  return new RelaisError('media_integrity', `The downloaded WhatsApp media is corrupt (${why}).`, { retryable: true });
}

function networkError(err: unknown): RelaisError {
  if (err instanceof RelaisError) return err;
  const name = err instanceof Error ? err.name : '';
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new RelaisError('whatsapp_timeout', 'The WhatsApp Graph API did not answer in time.', { retryable: true });
  }
  const code = errnoCode(err);
  return new RelaisError('whatsapp_network', `Could not reach the WhatsApp Graph API${code ? ` (${code})` : ''}.`, { retryable: true });
}

function mediaNetworkError(err: unknown): RelaisError {
  const code = errnoCode(err);
  return new RelaisError('media_network', `The WhatsApp media download failed${code ? ` (${code})` : ''}.`, { retryable: true });
}

function errnoCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | undefined;
  const code = typeof e?.code === 'string' ? e.code : typeof e?.cause?.code === 'string' ? e.cause.code : undefined;
  return code && /^[A-Z0-9_]{2,40}$/.test(code) ? code : undefined;
}
