import { z } from 'zod';
import type { Template } from '../core/templates.js';
import { classifyGraphError } from './error-codes.js';

const templateSchema = z.looseObject({
  name: z.string(),
  language: z.string(),
  status: z.string(),
  category: z.string().optional(),
  components: z.array(z.looseObject({
    type: z.string(),
    format: z.string().optional(),
    text: z.string().optional(),
    buttons: z.array(z.looseObject({ type: z.string(), text: z.string().optional(), url: z.string().optional() })).optional(),
  })).default([]),
});
const pageSchema = z.looseObject({
  data: z.array(templateSchema),
  paging: z.looseObject({ next: z.string().optional() }).optional(),
});

/**
 * Lists the WhatsApp Business Account's message templates
 * (`GET /{waba-id}/message_templates`, following `paging.next`, at most `maxPages` pages).
 * Network I/O; throws RelaisError (classified Graph errors).
 */
export async function fetchTemplates(opts: { apiUrl: string; accessToken: string; wabaId: string; fetchImpl?: typeof fetch; maxPages?: number }): Promise<Template[]> {
  const doFetch = opts.fetchImpl ?? fetch;
  const out: Template[] = [];
  let url: string | undefined = `${opts.apiUrl}/${encodeURIComponent(opts.wabaId)}/message_templates?limit=100`;
  for (let page = 0; url && page < (opts.maxPages ?? 20); page++) {
    const res: Response = await doFetch(url, { headers: { authorization: `Bearer ${opts.accessToken}` }, signal: AbortSignal.timeout(30_000) });
    const body: unknown = await res.json().catch(() => undefined);
    if (!res.ok) throw classifyGraphError(res.status, body, { retryAfter: res.headers.get('retry-after') });
    const parsed = pageSchema.parse(body);
    out.push(...parsed.data.map((t) => ({ name: t.name, language: t.language, status: t.status, category: t.category, components: t.components })));
    url = parsed.paging?.next;
  }
  return out;
}
