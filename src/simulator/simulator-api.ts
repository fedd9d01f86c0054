import { randomBytes } from 'node:crypto';
import type { Context, Hono } from 'hono';
import { z } from 'zod';
import { inboundTypeOf, isAnimatedWebp } from './media-rules.js';
import { pickLanguage, renderPage } from './page.js';
import { templateBodyText } from './sample-templates.js';
import type { Simulator, SimulatorOptions } from './simulator.js';
import type { InboundContent } from './webhook-builder.js';

/**
 * The page and the JSON endpoints it calls, all relative to where the simulator is mounted:
 *   GET  / (and /index.html; /simulator/ when mounted at /simulator)   the page (English or French)
 *   GET  /api/state        business identity, customer messages, business messages with their state
 *   POST /api/media        multipart `file` → registered in the fake as a customer's media
 *   POST /api/messages     { customer, content, replyTo? } → signed webhook to Relais
 *   POST /api/statuses     { wamid, status, errorCode? } → status webhook to Relais
 *   GET  /api/media/:id    media bytes for display (development tool: no token)
 */

const customerSchema = z.object({ waId: z.string().regex(/^\d{5,15}$/), name: z.string().trim().min(1).max(100) });
const mediaContent = z.object({ mediaId: z.string().min(1), caption: z.string().max(1024).optional() });
const contentSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text'), body: z.string().min(1).max(4096) }),
  mediaContent.extend({ type: z.enum(['image', 'video']) }),
  mediaContent.extend({ type: z.literal('document'), filename: z.string().max(240).optional() }),
  z.object({ type: z.literal('audio'), mediaId: z.string().min(1), voice: z.boolean().optional() }),
  z.object({ type: z.literal('sticker'), mediaId: z.string().min(1), animated: z.boolean().optional() }),
  z.object({ type: z.literal('location'), latitude: z.number().min(-90).max(90), longitude: z.number().min(-180).max(180), name: z.string().max(200).optional(), address: z.string().max(300).optional() }),
  z.object({ type: z.literal('reaction'), messageId: z.string().min(1), emoji: z.string().max(10) }),
  z.object({ type: z.literal('button_reply'), id: z.string().min(1), title: z.string().min(1) }),
  z.object({ type: z.literal('list_reply'), id: z.string().min(1), title: z.string().min(1), description: z.string().optional() }),
  z.object({ type: z.literal('button'), payload: z.string().min(1), text: z.string().min(1) }),
]);
const messageSchema = z.object({ customer: customerSchema, content: contentSchema, replyTo: z.string().min(1).optional() });
const statusSchema = z.object({
  wamid: z.string().min(1),
  status: z.enum(['sent', 'delivered', 'read', 'failed']),
  errorCode: z.number().int().positive().optional(),
});

/** Template body with the request's parameters filled in, and its quick-reply labels, for display. */
function templatePreview(sim: Simulator, body: Record<string, unknown>): { templateText?: string; templateButtons?: string[] } {
  const t = body.template as { name?: string; language?: { code?: string }; components?: { type?: string; parameters?: { text?: string }[] }[] } | undefined;
  const tpl = sim.fake.templates.find((x) => x.name === t?.name && x.language === t?.language?.code);
  if (!t || !tpl) return {};
  const params = t.components?.find((c) => c.type?.toLowerCase() === 'body')?.parameters ?? [];
  return {
    templateText: templateBodyText(tpl).replace(/\{\{\s*(\d+)\s*\}\}/g, (m, n: string) => params[Number(n) - 1]?.text ?? m),
    templateButtons: tpl.components.flatMap((c) => c.buttons ?? []).filter((b) => b.type === 'QUICK_REPLY').map((b) => b.text),
  };
}

/** Adds the page and `/api/*` routes to `app`. */
export function mountSimulatorApi(app: Hono, deps: { sim: Simulator; options: SimulatorOptions }): void {
  const { sim, options } = deps;
  const bad = (issues: unknown) => ({ error: 'invalid request', issues });

  const page = (c: Context): Response => {
    const lang = pickLanguage(c.req.query('lang'), c.req.header('accept-language'));
    const nonce = randomBytes(16).toString('base64');
    c.header('content-security-policy', `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src 'self' blob:; media-src 'self' blob:; base-uri 'none'; form-action 'none'`);
    c.header('cache-control', 'no-store');
    return c.html(renderPage(lang, nonce)) as Response;
  };
  // Mounted at /simulator, '/' answers /simulator and the second pattern /simulator/ (and /index.html).
  app.get('/', page);
  app.get('/:page{(index\\.html)?}', page);

  app.get('/api/state', (c) => c.json({
    business: { displayPhoneNumber: options.displayPhoneNumber, phoneNumberId: options.phoneNumberId },
    graphBase: options.graphBase,
    webhookUrl: options.webhookUrl,
    inbound: sim.inbound(),
    outbound: sim.fake.messagesSent().map((m) => ({
      wamid: m.wamid, waId: m.waId, type: m.type, body: m.body, at: m.acceptedAt, delivery: m.delivery,
      ...(m.type === 'template' ? templatePreview(sim, m.body) : {}),
    })),
    reads: sim.fake.readMarks().map((r) => r.messageId),
  }));

  app.post('/api/media', async (c) => {
    const form = await c.req.formData().catch(() => undefined);
    const file = form?.get('file');
    if (!(file instanceof File) || file.size === 0) return c.json(bad('multipart field "file" is required'), 400);
    const mimeType = file.type || 'application/octet-stream';
    const mediaId = sim.fake.addMedia({ bytes: new Uint8Array(await file.arrayBuffer()), mimeType, filename: file.name || undefined });
    return c.json({ mediaId, mimeType, type: inboundTypeOf(mimeType), filename: file.name, size: file.size });
  });

  app.get('/api/media/:id', (c) => {
    const item = sim.fake.media.get(c.req.param('id'));
    if (!item) return c.json({ error: 'unknown media' }, 404);
    return new Response(item.bytes, { headers: { 'content-type': item.mimeType, 'x-content-type-options': 'nosniff', 'content-disposition': 'inline' } });
  });

  app.post('/api/messages', async (c) => {
    const parsed = messageSchema.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) return c.json(bad(parsed.error.issues), 400);
    const { customer, content, replyTo } = parsed.data;
    if ('mediaId' in content && !sim.fake.media.has(content.mediaId)) return c.json(bad('unknown mediaId: upload the file first'), 400);
    if ((content.type === 'button_reply' || content.type === 'list_reply') && !replyTo) return c.json(bad('replyTo is required for a reply'), 400);
    const stored = 'mediaId' in content ? sim.fake.media.get(content.mediaId) : undefined;
    if (content.type === 'sticker' && content.animated === undefined && stored) content.animated = isAnimatedWebp(stored.bytes);
    const result = await sim.sendCustomerMessage(customer, content as InboundContent, replyTo ? { replyTo: { id: replyTo } } : {});
    return c.json(result);
  });

  app.post('/api/statuses', async (c) => {
    const parsed = statusSchema.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) return c.json(bad(parsed.error.issues), 400);
    const { wamid, status, errorCode } = parsed.data;
    if (!sim.fake.findMessage(wamid)) return c.json(bad('unknown wamid'), 404);
    const result = await sim.sendStatus(wamid, status, status === 'failed' ? [{ code: errorCode ?? 131026 }] : undefined);
    return c.json(result);
  });
}
