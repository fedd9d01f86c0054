import { createHash, randomBytes } from 'node:crypto';
import type { Context, Hono } from 'hono';
import type { GraphEndpoint, GraphFaults } from './graph-faults.js';
import { fbtraceId, graphErrorBody, unknownObjectBody } from './graph-error.js';
import { mediaKindOf, sizeLimitFor, SUPPORTED_MIME_TYPES } from './media-rules.js';

/**
 * The Graph fake's media: upload (`POST /{v}/{phone-number-id}/media`), URL lookup and
 * deletion (`GET`/`DELETE /{v}/{media-id}`), and the lookaside-style download
 * (`GET /media-download/attachments?mid&ext&hash`, Bearer token, URL valid 5 minutes).
 */

export const MEDIA_URL_TTL_MS = 5 * 60 * 1000;

export interface StoredMedia {
  id: string;
  bytes: Uint8Array<ArrayBuffer>;
  mimeType: string;
  filename?: string;
  /** Hex SHA-256 of `bytes`, as `GET /{media-id}` reports it. */
  sha256: string;
  size: number;
  createdAt: number;
  /** 'upload' = sent by Relais through `/media`; 'inbound' = a customer's file (addMedia). */
  source: 'upload' | 'inbound';
  phoneNumberId?: string;
}

export interface MediaStore {
  readonly media: Map<string, StoredMedia>;
  /** Issued download URLs by their `hash`. */
  readonly downloads: Map<string, { mediaId: string; expiresAt: number }>;
  /** Stores a copy of the bytes under a fresh numeric id and returns it. */
  add(input: { bytes: Uint8Array; mimeType: string; filename?: string }, source: StoredMedia['source'], phoneNumberId?: string): string;
  clear(): void;
}

function newNumericId(taken: (id: string) => boolean): string {
  for (;;) {
    const id = String(1_000_000_000_000_000n + (randomBytes(8).readBigUInt64BE() % 9_000_000_000_000_000n));
    if (!taken(id)) return id;
  }
}

/** Waits `ms`, or less when `signal` aborts (the client went away). */
const pause = (ms: number, signal: AbortSignal): Promise<void> => new Promise((resolve) => {
  const done = (): void => {
    clearTimeout(timer);
    signal.removeEventListener('abort', done);
    resolve();
  };
  const timer = setTimeout(done, ms);
  if (signal.aborted) done();
  else signal.addEventListener('abort', done);
});

export function createMediaStore(now: () => number): MediaStore {
  const media = new Map<string, StoredMedia>();
  const downloads = new Map<string, { mediaId: string; expiresAt: number }>();
  return {
    media,
    downloads,
    add(input, source, phoneNumberId) {
      const id = newNumericId((x) => media.has(x));
      const bytes = new Uint8Array(input.bytes);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      media.set(id, { id, bytes, mimeType: input.mimeType, filename: input.filename, sha256, size: bytes.length, createdAt: now(), source, phoneNumberId });
      return id;
    },
    clear() {
      media.clear();
      downloads.clear();
    },
  };
}

/** The fake's Hono environment: `/messages` keeps the parsed body for the request log. */
export type FakeEnv = { Variables: { json: unknown } };
type Ctx = Context<FakeEnv>;

export interface MediaRouteDeps {
  now: () => number;
  publicUrl?: string;
  faults: GraphFaults;
  /** Answers an injected fault for this endpoint, or undefined to proceed. */
  guard(c: Ctx, endpoint: GraphEndpoint): Promise<Response | undefined>;
  /** A Graph error when the phone-number id is not the fake's, else undefined. */
  wrongPhone(c: Ctx, phoneNumberId: string): Response | undefined;
}

/** Adds the media routes to the fake's app. */
export function mountMediaRoutes(app: Hono<FakeEnv>, store: MediaStore, deps: MediaRouteDeps): void {
  app.post('/:version{v\\d+\\.\\d+}/:phoneNumberId/media', async (c) => {
    const phoneNumberId = c.req.param('phoneNumberId');
    const early = deps.wrongPhone(c, phoneNumberId) ?? (await deps.guard(c, 'media'));
    if (early) return early;
    const bad = (code: number, details: string): Response => c.json(graphErrorBody(code, { details }), 400);
    let form: FormData;
    try {
      form = await c.req.formData();
    } catch {
      return bad(100, 'The request must be multipart/form-data with the parameter file.');
    }
    const file = form.get('file');
    if (form.get('messaging_product') !== 'whatsapp') return bad(100, "Param messaging_product must be 'whatsapp'.");
    if (!(file instanceof File)) return bad(100, 'The parameter file is required.');
    const typeField = form.get('type');
    const mimeType = (typeof typeField === 'string' && typeField !== '' ? typeField : file.type).trim();
    if (mimeType === '') return bad(100, 'The parameter type is required.');
    const kind = mediaKindOf(mimeType);
    if (kind === undefined) {
      return bad(100, `Param file must be a file with one of the following types: ${SUPPORTED_MIME_TYPES.join(', ')}. Received file of type '${mimeType}'.`);
    }
    const bytes = new Uint8Array(await file.arrayBuffer());
    if (bytes.length === 0) return bad(131053, 'Media upload error: the file is empty.');
    const limit = sizeLimitFor(kind, bytes);
    if (bytes.length > limit) return bad(131053, `Media upload error: ${kind} file size ${bytes.length} bytes exceeds the limit of ${limit} bytes.`);
    const id = store.add({ bytes, mimeType, filename: file.name || undefined }, 'upload', phoneNumberId);
    return c.json({ id });
  });

  const findOwnedMedia = (c: Ctx): StoredMedia | undefined => {
    const item = store.media.get(c.req.param('mediaId') ?? '');
    const owner = c.req.query('phone_number_id');
    return item && (owner === undefined || item.phoneNumberId === undefined || item.phoneNumberId === owner) ? item : undefined;
  };

  app.get('/:version{v\\d+\\.\\d+}/:mediaId', async (c) => {
    const early = await deps.guard(c, 'media-info');
    if (early) return early;
    const item = findOwnedMedia(c);
    if (!item) return c.json(unknownObjectBody('get', c.req.param('mediaId')), 404);
    const version = c.req.param('version');
    const prefix = c.req.path.slice(0, c.req.path.lastIndexOf(`/${version}/`));
    const root = deps.publicUrl?.replace(/\/+$/, '') ?? `${new URL(c.req.url).origin}${prefix}`;
    const hash = randomBytes(24).toString('base64url');
    const expiresAt = deps.now() + MEDIA_URL_TTL_MS;
    store.downloads.set(hash, { mediaId: item.id, expiresAt });
    const url = `${root}/media-download/attachments?mid=${item.id}&ext=${Math.floor(expiresAt / 1000)}&hash=${hash}`;
    return c.json({ messaging_product: 'whatsapp', url, mime_type: item.mimeType, sha256: item.sha256, file_size: item.size, id: item.id });
  });

  app.delete('/:version{v\\d+\\.\\d+}/:mediaId', async (c) => {
    const early = await deps.guard(c, 'media-info');
    if (early) return early;
    const item = findOwnedMedia(c);
    if (!item) return c.json(unknownObjectBody('delete', c.req.param('mediaId')), 404);
    store.media.delete(item.id);
    return c.json({ success: true });
  });

  app.get('/media-download/attachments', async (c) => {
    const early = await deps.guard(c, 'download');
    if (early) return early;
    if (deps.faults.redirectTo !== undefined) return c.redirect(deps.faults.redirectTo, 302);
    const grant = store.downloads.get(c.req.query('hash') ?? '');
    if (!grant || grant.mediaId !== c.req.query('mid')) return c.text('URL signature mismatch', 404);
    if (deps.now() > grant.expiresAt) return c.text('URL signature expired', 404);
    const item = store.media.get(grant.mediaId);
    if (!item) return c.text('Media not found', 404);
    let bytes = item.bytes;
    if (deps.faults.corruptDownloads > 0) {
      deps.faults.corruptDownloads -= 1;
      bytes = new Uint8Array(item.bytes);
      const i = Math.floor(bytes.length / 2);
      bytes[i] = (bytes[i] ?? 0) ^ 0xff;
    }
    const headers: Record<string, string> = { 'content-type': item.mimeType, 'content-length': String(bytes.length), 'x-fb-trace-id': fbtraceId() };
    if (item.filename) {
      const ascii = item.filename.replace(/[^\x20-\x7e]|["\\]/g, '_');
      headers['content-disposition'] = `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(item.filename)}`;
    }
    const delay = deps.faults.slowDownloadMs;
    if (delay <= 0) return new Response(bytes, { headers });
    const signal = c.req.raw.signal;
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        try {
          const half = Math.floor(bytes.length / 2);
          controller.enqueue(bytes.slice(0, half));
          await pause(delay, signal);
          if (signal.aborted) return;
          controller.enqueue(bytes.slice(half));
          controller.close();
        } catch {
          // The client went away mid-body.
        }
      },
    });
    return new Response(body, { headers });
  });
}
