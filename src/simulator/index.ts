/**
 * The WhatsApp simulator: a Graph API fake (`createGraphFake`) that Relais talks to instead of
 * graph.facebook.com, a webhook builder and signed sender, and `createSimulator`, which puts
 * both behind a customer web page. Tests reuse all of it through test/fakes/graph-api.ts.
 */
export { createGraphFake, newWamid, MEDIA_URL_TTL_MS } from './graph-fake.js';
export type { DeliveryState, GraphFake, GraphFakeOptions, ReadMark, RequestRecord, SentMessage, StoredMedia } from './graph-fake.js';
export type { FailSpec, FaultTarget, GraphEndpoint, HangSpec } from './graph-faults.js';
export { GRAPH_ERRORS, graphErrorBody, statusError } from './graph-error.js';
export type { GraphErrorBody, StatusErrorPayload } from './graph-error.js';
export { MEDIA_LIMITS, STATIC_STICKER_LIMIT, SUPPORTED_MIME_TYPES, mediaKindOf } from './media-rules.js';
export type { MediaKind } from './media-rules.js';
export { sampleTemplates } from './sample-templates.js';
export type { MessageTemplate } from './sample-templates.js';
export { validateSendRequest } from './send-validation.js';
export type { OutboundType, SendValidation } from './send-validation.js';
export { buildMessageWebhook, buildStatusWebhook, mergeWebhooks } from './webhook-builder.js';
export type {
  BuilderContext, BusinessIdentity, CustomerProfile, InboundContent, InboundOptions, MediaFacts, SharedContact, StatusInput, StatusName, WebhookPayload,
} from './webhook-builder.js';
export { encodeWebhookBody, sendWebhook, signWebhookBody } from './webhook-sender.js';
export type { SendWebhookOptions, WebhookDelivery } from './webhook-sender.js';
export { PAGE_STRINGS, pickLanguage, renderPage } from './page.js';
export type { PageLanguage } from './page.js';
export { createSimulator } from './simulator.js';
export type { CustomerContent, CustomerFile, InboundRecord, Simulator, SimulatorOptions } from './simulator.js';
