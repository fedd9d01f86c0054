import { Hono } from 'hono';
import { createGraphFake, type DeliveryState, type GraphFake } from './graph-fake.js';
import { mountSimulatorApi } from './simulator-api.js';
import { inboundTypeOf, isAnimatedWebp } from './media-rules.js';
import { buildMessageWebhook, buildStatusWebhook, type BuilderContext, type CustomerProfile, type InboundContent, type InboundOptions, type StatusInput, type StatusName } from './webhook-builder.js';
import { sendWebhook, type SendWebhookOptions } from './webhook-sender.js';

/**
 * The simulator: a Graph API fake plus a customer who writes to the business by webhook.
 * `app` serves the page at `/`, its JSON API under `/api/*` and the fake under `/graph`
 * (so the Graph base is `<mount>/graph/v23.0`).
 */

export interface SimulatorOptions {
  /** Public URL of the fake including the version, e.g. http://localhost:8080/simulator/graph/v23.0. */
  graphBase: string;
  /** Relais' webhook endpoint (…/webhooks/whatsapp). */
  webhookUrl: string;
  appSecret: string;
  accessToken: string;
  phoneNumberId: string;
  displayPhoneNumber: string;
  /** WABA id in `entry[].id` and the templates path (default 100000000000002). */
  wabaId?: string;
  fetchImpl?: typeof fetch;
  /** Milliseconds since the epoch (default `Date.now`). */
  clock?: () => number;
  /** Use this fake instead of creating one (its token and phone number should match). */
  fake?: GraphFake;
  /** Send a `sent` status webhook for every accepted outbound message, like Meta (default false). */
  autoSentStatus?: boolean;
  /** Retry tuning for webhook deliveries. */
  delivery?: Pick<SendWebhookOptions, 'maxAttempts' | 'baseDelayMs' | 'maxDelayMs' | 'timeoutMs' | 'sleep'>;
}

/** A customer's file, registered in the fake on send; its message type follows the MIME type. */
export interface CustomerFile {
  type: 'file';
  bytes: Uint8Array;
  mimeType: string;
  filename?: string;
  caption?: string;
  /** Audio only: a voice note (`audio.voice: true`). */
  voice?: boolean;
}

export type CustomerContent = InboundContent | CustomerFile;

/** One customer message as the page shows it. */
export interface InboundRecord {
  wamid: string;
  customer: CustomerProfile;
  content: InboundContent;
  replyTo?: string;
  at: number;
  /** HTTP status Relais answered the webhook with (null: unreachable). */
  webhookStatus: number | null;
  attempts: number;
}

export interface Simulator {
  app: Hono;
  fake: GraphFake;
  /** Registers media if needed, POSTs the signed webhook (with retries). Throws only on bad input. */
  sendCustomerMessage(customer: CustomerProfile, content: CustomerContent, opts?: InboundOptions): Promise<{ wamid: string; status: number | null }>;
  /**
   * POSTs a status webhook for an outbound message the fake accepted (or any wamid when
   * `opts.recipientId` is given). Throws when the wamid is unknown and no recipient is given.
   */
  sendStatus(wamid: string, status: StatusName, errors?: StatusInput['errors'], opts?: { recipientId?: string }): Promise<{ status: number | null }>;
  /** Customer messages sent so far, oldest first. */
  inbound(): InboundRecord[];
  /** Stops listening to the fake and releases hung requests. */
  dispose(): void;
}

const RANK: Record<DeliveryState, number> = { accepted: 0, sent: 1, delivered: 2, read: 3, failed: 4 };

export function createSimulator(options: SimulatorOptions): Simulator {
  const now = options.clock ?? Date.now;
  const fake = options.fake ?? createGraphFake({
    accessToken: options.accessToken,
    phoneNumberId: options.phoneNumberId,
    wabaId: options.wabaId,
    clock: now,
    publicUrl: options.graphBase.replace(/\/v\d+\.\d+\/*$/, ''),
  });
  const ctx: BuilderContext = {
    wabaId: options.wabaId ?? '100000000000002',
    phoneNumberId: options.phoneNumberId,
    displayPhoneNumber: options.displayPhoneNumber,
    now,
    lookupMedia: (id) => fake.media.get(id),
  };
  const customers = new Map<string, CustomerProfile>();
  const inbound: InboundRecord[] = [];

  const deliver = (body: object) => sendWebhook({ url: options.webhookUrl, appSecret: options.appSecret, body, fetchImpl: options.fetchImpl, ...options.delivery });

  const toInbound = (content: CustomerContent): InboundContent => {
    if (content.type !== 'file') return content;
    const mediaId = fake.addMedia({ bytes: content.bytes, mimeType: content.mimeType, filename: content.filename });
    const kind = inboundTypeOf(content.mimeType);
    if (kind === 'audio') return { type: 'audio', mediaId, voice: content.voice ?? false };
    if (kind === 'sticker') return { type: 'sticker', mediaId, animated: isAnimatedWebp(content.bytes) };
    if (kind === 'document') return { type: 'document', mediaId, caption: content.caption, filename: content.filename ?? 'document' };
    return { type: kind, mediaId, caption: content.caption };
  };

  const sim: Simulator = {
    app: new Hono(),
    fake,
    async sendCustomerMessage(customer, content, opts = {}) {
      customers.set(customer.waId, customer);
      const message = toInbound(content);
      const { payload, wamid } = buildMessageWebhook(ctx, customer, message, opts);
      const result = await deliver(payload);
      inbound.push({ wamid, customer, content: message, replyTo: opts.replyTo?.id, at: now(), webhookStatus: result.status, attempts: result.attempts });
      return { wamid, status: result.status };
    },
    async sendStatus(wamid, status, errors, opts = {}) {
      const sent = fake.findMessage(wamid);
      const recipientId = opts.recipientId ?? sent?.waId;
      if (recipientId === undefined) throw new Error('unknown wamid: the fake accepted no such message; pass opts.recipientId');
      const payload = buildStatusWebhook(ctx, { wamid, recipientId, status, errors, recipient: customers.get(recipientId) });
      if (sent && (sent.delivery !== 'failed') && RANK[status] > RANK[sent.delivery]) fake.setDeliveryState(wamid, status);
      const result = await deliver(payload);
      return { status: result.status };
    },
    inbound: () => [...inbound],
    dispose: () => {
      unsubscribe();
      fake.releaseHung();
    },
  };

  const unsubscribe = options.autoSentStatus
    ? fake.onMessage((m) => void sim.sendStatus(m.wamid, 'sent').catch(() => undefined))
    : () => undefined;

  mountSimulatorApi(sim.app, { sim, options });
  sim.app.route('/graph', fake.app);
  return sim;
}
