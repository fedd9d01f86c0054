import { randomBytes } from 'node:crypto';
import { Hono, type Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { graphErrorBody, httpStatusFor, invalidTokenBody, unknownObjectBody } from './graph-error.js';
import { GraphFaults, type FailSpec, type GraphEndpoint, type HangSpec } from './graph-faults.js';
import { createMediaStore, mountMediaRoutes, type FakeEnv, type StoredMedia } from './graph-media.js';
import { sampleTemplates, templateBodyText, type MessageTemplate } from './sample-templates.js';
import { validateSendRequest, type OutboundType } from './send-validation.js';

/**
 * An in-memory WhatsApp Cloud API (Graph) server: the test fake and the product's simulator
 * back end. Speaks the real wire protocol over HTTP; state lives in the returned object.
 *
 * Routes (relative to where `app` is mounted; `{v}` is any `vNN.N` version):
 *   POST   /{v}/{phone-number-id}/messages        send / mark as read
 *   POST   /{v}/{phone-number-id}/media           multipart upload
 *   GET    /{v}/{media-id}                        media URL (valid 5 minutes)
 *   DELETE /{v}/{media-id}                        delete media
 *   GET    /media-download/attachments?mid&ext&hash   the bytes (lookaside.fbsbx.com look-alike)
 *   GET    /{v}/{waba-id}/message_templates       templates
 * Every route requires `Authorization: Bearer <accessToken>`.
 */

export { MEDIA_URL_TTL_MS, type StoredMedia } from './graph-media.js';

export type DeliveryState = 'accepted' | 'sent' | 'delivered' | 'read' | 'failed';

/** One outbound message the fake accepted. `body` is the request JSON as received. */
export interface SentMessage {
  wamid: string;
  phoneNumberId: string;
  to: string;
  waId: string;
  type: OutboundType;
  body: Record<string, unknown>;
  acceptedAt: number;
  /** Latest status the simulator reported for it by webhook ('accepted' until then). */
  delivery: DeliveryState;
}

/** A `status:"read"` request (the business marking a customer message as read). */
export interface ReadMark {
  messageId: string;
  phoneNumberId: string;
  typingIndicator: boolean;
  at: number;
}

export interface RequestRecord {
  method: string;
  path: string;
  query: string;
  status: number;
  /** Parsed JSON body of `/messages` requests. */
  json?: unknown;
  at: number;
}

export interface GraphFakeOptions {
  accessToken: string;
  /**
   * The business phone-number id(s) the fake serves. When set, other ids get Graph error 100
   * (subcode 33), like an unknown object; unset, any id is accepted.
   */
  phoneNumberId?: string | readonly string[];
  /** When set, only this WABA id serves templates. */
  wabaId?: string;
  /** Milliseconds since the epoch; inject to test URL expiry. Default `Date.now`. */
  clock?: () => number;
  /** Public root of the fake (no version), used in media URLs. Default: derived from each request. */
  publicUrl?: string;
  templates?: MessageTemplate[];
}

export interface GraphFake {
  /** Hono app; mount with `app.route(prefix, fake.app)` or serve it directly. */
  readonly app: Hono;
  readonly media: Map<string, StoredMedia>;
  /** Every request the fake answered, oldest first. */
  readonly requests: readonly RequestRecord[];
  templates: MessageTemplate[];
  messagesSent(): SentMessage[];
  readMarks(): ReadMark[];
  findMessage(wamid: string): SentMessage | undefined;
  /** Records the latest delivery state shown for an outbound message (no webhook is sent). */
  setDeliveryState(wamid: string, state: DeliveryState): void;
  /**
   * Registers a customer's file (for inbound webhooks) and returns its media id. No size check.
   * `phoneNumberId` (default: the configured one when there is exactly one) is the owner that
   * `GET /{media-id}?phone_number_id=` checks; without one, any phone_number_id matches.
   */
  addMedia(input: { bytes: Uint8Array; mimeType: string; filename?: string; phoneNumberId?: string }): string;
  /** Calls `listener` after each accepted outbound message; returns an unsubscribe function. */
  onMessage(listener: (message: SentMessage) => void): () => void;
  failNext(spec: FailSpec): void;
  hangNext(spec: HangSpec): void;
  /** Every download stalls `ms` in the middle of its body until `slowDownload(0)` or reset. */
  slowDownload(ms: number): void;
  /** The next `times` downloads (default 1) get one byte flipped: sha256 and content differ. */
  corruptNextDownload(times?: number): void;
  /** Downloads answer `302 Location: url` until called with undefined or reset. */
  redirectDownloadTo(url: string | undefined): void;
  /** How many requests are hanging now (hangNext). */
  hanging(): number;
  /** Lets hanging requests finish with 503 (call before closing a server). */
  releaseHung(): void;
  /** Forgets messages, media, reads, requests and faults; keeps options and templates. */
  reset(): void;
}

/**
 * A Meta-looking message id: `wamid.` + base64. Meta's own ids are a base64 structure that
 * embeds the phone number; these are random bytes and deliberately carry no phone number.
 */
export function newWamid(): string {
  return `wamid.${randomBytes(24).toString('base64')}`;
}

type Ctx = Context<FakeEnv>;

/** Creates a fake with its own state. Does no I/O until its app receives requests. */
export function createGraphFake(options: GraphFakeOptions): GraphFake {
  const now = options.clock ?? Date.now;
  const knownNumbers = typeof options.phoneNumberId === 'string' ? [options.phoneNumberId] : options.phoneNumberId;
  const app = new Hono<FakeEnv>();
  const faults = new GraphFaults();
  const listeners = new Set<(m: SentMessage) => void>();
  let sent: SentMessage[] = [];
  let reads: ReadMark[] = [];
  let requests: RequestRecord[] = [];
  let templates = options.templates ?? sampleTemplates();

  const store = createMediaStore(now);
  const media = store.media;

  /** Answers an injected fault, or returns undefined to let the request proceed. */
  const injected = async (c: Ctx, endpoint: GraphEndpoint): Promise<Response | undefined> => {
    const fault = faults.take(endpoint, c.req.path);
    if (fault === undefined) return undefined;
    if (fault === 'hang') {
      await faults.hang(c.req.raw.signal);
      return c.json(graphErrorBody(2, { details: 'Released hung request' }), 503);
    }
    return new Response(JSON.stringify(fault.body), { status: fault.status, headers: { 'content-type': 'application/json', ...fault.headers } });
  };

  const wrongPhone = (c: Ctx, id: string): Response | undefined =>
    knownNumbers !== undefined && !knownNumbers.includes(id) ? c.json(unknownObjectBody('post', id), 400) : undefined;

  app.use('*', async (c, next) => {
    const url = new URL(c.req.url);
    const record = (status: number): void => {
      requests.push({ method: c.req.method, path: c.req.path, query: url.search, status, json: c.get('json'), at: now() });
    };
    if (c.req.header('authorization') !== `Bearer ${options.accessToken}`) {
      record(401);
      return c.json(invalidTokenBody(), 401, { 'www-authenticate': 'OAuth "Facebook Platform" "invalid_token"' });
    }
    await next();
    record(c.res.status);
  });

  app.post('/:version{v\\d+\\.\\d+}/:phoneNumberId/messages', async (c) => {
    const phoneNumberId = c.req.param('phoneNumberId');
    let json: unknown;
    try {
      json = JSON.parse(await c.req.text());
    } catch {
      json = undefined;
    }
    c.set('json', json);
    const early = wrongPhone(c, phoneNumberId) ?? (await injected(c, 'messages'));
    if (early) return early;
    const result = validateSendRequest(json, {
      isUploadedMedia: (id) => media.get(id)?.source === 'upload',
      templateBody: (name, lang) => {
        const t = templates.find((x) => x.name === name && x.language === lang && x.status === 'APPROVED');
        return t === undefined ? undefined : templateBodyText(t);
      },
    });
    if (!result.ok) return c.json(graphErrorBody(result.code, { details: result.details }), httpStatusFor(result.code) as ContentfulStatusCode);
    if (result.kind === 'read') {
      reads.push({ messageId: result.messageId, phoneNumberId, typingIndicator: result.typingIndicator, at: now() });
      return c.json({ success: true });
    }
    const message: SentMessage = {
      wamid: newWamid(), phoneNumberId, to: result.to, waId: result.waId, type: result.type, body: result.body, acceptedAt: now(), delivery: 'accepted',
    };
    sent.push(message);
    for (const listener of listeners) queueMicrotask(() => listener(message));
    return c.json({
      messaging_product: 'whatsapp',
      contacts: [{ input: result.to, wa_id: result.waId }],
      messages: [result.type === 'template' ? { id: message.wamid, message_status: 'accepted' } : { id: message.wamid }],
    });
  });

  app.get('/:version{v\\d+\\.\\d+}/:wabaId/message_templates', async (c) => {
    const wabaId = c.req.param('wabaId');
    if (options.wabaId !== undefined && wabaId !== options.wabaId) return c.json(unknownObjectBody('get', wabaId), 400);
    const early = await injected(c, 'templates');
    if (early) return early;
    const { name, language, status } = c.req.query();
    const data = templates.filter((t) => (name === undefined || t.name === name) && (language === undefined || t.language === language) && (status === undefined || t.status === status));
    return c.json({ data, paging: { cursors: { before: 'MAZDZD', after: 'MjQZD' } } });
  });

  mountMediaRoutes(app, store, { now, publicUrl: options.publicUrl, faults, guard: injected, wrongPhone });

  app.notFound((c) => c.json(unknownObjectBody(c.req.method.toLowerCase(), c.req.path), 400));

  return {
    app: app as unknown as Hono,
    media,
    get requests() {
      return requests;
    },
    get templates() {
      return templates;
    },
    set templates(list: MessageTemplate[]) {
      templates = list;
    },
    messagesSent: () => [...sent],
    readMarks: () => [...reads],
    findMessage: (wamid) => sent.find((m) => m.wamid === wamid),
    setDeliveryState: (wamid, state) => {
      const m = sent.find((x) => x.wamid === wamid);
      if (m) m.delivery = state;
    },
    addMedia: ({ phoneNumberId, ...input }) => store.add(input, 'inbound', phoneNumberId ?? (knownNumbers?.length === 1 ? knownNumbers[0] : undefined)),
    onMessage: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    failNext: (spec) => faults.failNext(spec),
    hangNext: (spec) => faults.hangNext(spec),
    slowDownload: (ms) => {
      faults.slowDownloadMs = ms;
    },
    corruptNextDownload: (times = 1) => {
      faults.corruptDownloads += times;
    },
    redirectDownloadTo: (url) => {
      faults.redirectTo = url;
    },
    hanging: () => faults.hangingCount,
    releaseHung: () => faults.releaseHung(),
    reset: () => {
      sent = [];
      reads = [];
      requests = [];
      store.clear();
      faults.reset();
    },
  };
}
