/**
 * Validation of `POST /{phone-number-id}/messages` bodies, close to what the Cloud API enforces
 * (limits from the v23.0 OpenAPI description and CONTRACTS.md §1.1). Pure, no I/O.
 *
 * Error-code policy (Meta's own choice varies by field; this is the fake's stable rule):
 * - 100    — malformed request: not an object, missing or unknown parameter, wrong JSON type,
 *            text/caption too long, both or neither of `id`/`link`;
 * - 131009 — well-formed but invalid value: recipient number, unknown uploaded media id,
 *            interactive limits (button count/title length, list rows…), coordinates;
 * - 132001 — template name/language not found among the fake's templates;
 * - 132000 — template body parameter count differs from the template's `{{n}}` placeholders.
 * Lengths are counted in Unicode code points.
 */

export type OutboundType =
  | 'text' | 'image' | 'audio' | 'video' | 'document' | 'sticker'
  | 'location' | 'contacts' | 'interactive' | 'template' | 'reaction';

const OUTBOUND_TYPES: readonly OutboundType[] = [
  'text', 'image', 'audio', 'video', 'document', 'sticker', 'location', 'contacts', 'interactive', 'template', 'reaction',
];
const MEDIA_TYPES = new Set<string>(['image', 'audio', 'video', 'document', 'sticker']);
const TOP_LEVEL_KEYS = new Set(['messaging_product', 'recipient_type', 'to', 'type', 'context', 'biz_opaque_callback_data']);

/** What the validator needs to know about the fake's state. */
export interface SendValidationContext {
  isUploadedMedia(id: string): boolean;
  /** Body text of an APPROVED template with this name and language ('' without a body), undefined when there is none. */
  templateBody(name: string, languageCode: string): string | undefined;
}

export type SendValidation =
  | { ok: true; kind: 'message'; type: OutboundType; to: string; waId: string; body: Record<string, unknown> }
  | { ok: true; kind: 'read'; messageId: string; typingIndicator: boolean }
  | { ok: false; code: number; details: string };

class Invalid extends Error {
  constructor(readonly code: number, readonly details: string) {
    super(details);
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const len = (s: string): number => [...s].length;

function fail(code: number, details: string): never {
  throw new Invalid(code, details);
}

function obj(parent: Obj, key: string, path: string): Obj {
  const v = parent[key];
  if (v === undefined) fail(100, `The parameter ${path} is required.`);
  if (!isObj(v)) fail(100, `Param ${path} must be a JSON object.`);
  return v;
}

function str(parent: Obj, key: string, path: string, opts: { required?: boolean; max?: number; min?: number; code?: number } = {}): string | undefined {
  const v = parent[key];
  if (v === undefined) {
    if (opts.required) fail(100, `The parameter ${path} is required.`);
    return undefined;
  }
  if (typeof v !== 'string') fail(100, `Param ${path} must be a string.`);
  if (opts.min !== undefined && len(v) < opts.min) fail(opts.code ?? 100, `Param ${path} must be at least ${opts.min} characters long.`);
  if (opts.max !== undefined && len(v) > opts.max) fail(opts.code ?? 100, `Param ${path} must be at most ${opts.max} characters long.`);
  return v;
}

function onlyKeys(o: Obj, allowed: readonly string[], path: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) fail(100, `Param ${path}['${k}'] is not a valid parameter.`);
}

function validateMedia(type: string, m: Obj, ctx: SendValidationContext): void {
  const allowed = ['id', 'link'];
  if (type === 'image' || type === 'video' || type === 'document') allowed.push('caption');
  if (type === 'document') allowed.push('filename');
  onlyKeys(m, allowed, type);
  const id = str(m, 'id', `${type}['id']`);
  const link = str(m, 'link', `${type}['link']`);
  if (id === undefined && link === undefined) fail(100, `The parameter ${type}['id'] or ${type}['link'] is required.`);
  if (id !== undefined && link !== undefined) fail(100, `Params ${type}['id'] and ${type}['link'] cannot both be set.`);
  if (id !== undefined && !ctx.isUploadedMedia(id)) fail(131009, `Param ${type}['id'] is not a valid uploaded media id.`);
  if (link !== undefined && !/^https?:\/\/\S+$/i.test(link)) fail(100, `Param ${type}['link'] must be an http(s) URL.`);
  str(m, 'caption', `${type}['caption']`, { max: 1024 });
  str(m, 'filename', `${type}['filename']`, { max: 240 });
}

function validateText(t: Obj): void {
  onlyKeys(t, ['body', 'preview_url'], 'text');
  str(t, 'body', "text['body']", { required: true, min: 1, max: 4096 });
  if (t.preview_url !== undefined && typeof t.preview_url !== 'boolean') fail(100, "Param text['preview_url'] must be a boolean.");
}

function coordinate(l: Obj, key: 'latitude' | 'longitude', bound: number): void {
  const v = l[key];
  if (v === undefined) fail(100, `The parameter location['${key}'] is required.`);
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  if (!Number.isFinite(n) || Math.abs(n) > bound) fail(131009, `Param location['${key}'] must be a number between -${bound} and ${bound}.`);
}

function validateLocation(l: Obj): void {
  onlyKeys(l, ['latitude', 'longitude', 'name', 'address'], 'location');
  coordinate(l, 'latitude', 90);
  coordinate(l, 'longitude', 180);
  str(l, 'name', "location['name']");
  str(l, 'address', "location['address']");
}

function validateContacts(v: unknown): void {
  if (!Array.isArray(v) || v.length === 0) fail(100, 'The parameter contacts must be a non-empty array.');
  if (v.length > 5) fail(131009, 'Param contacts must have at most 5 items.');
  v.forEach((c: unknown, i) => {
    if (!isObj(c)) fail(100, `Param contacts[${i}] must be a JSON object.`);
    str(obj(c, 'name', `contacts[${i}]['name']`), 'formatted_name', `contacts[${i}]['name']['formatted_name']`, { required: true, min: 1 });
  });
}

function validateReaction(r: Obj): void {
  onlyKeys(r, ['message_id', 'emoji'], 'reaction');
  str(r, 'message_id', "reaction['message_id']", { required: true, min: 1 });
  // An empty emoji removes the reaction.
  str(r, 'emoji', "reaction['emoji']", { required: true, max: 10 });
}

function validateButtons(action: Obj): void {
  const buttons = action.buttons;
  if (!Array.isArray(buttons) || buttons.length === 0) fail(100, "The parameter interactive['action']['buttons'] is required.");
  if (buttons.length > 3) fail(131009, 'Buttons count is invalid. Min: 1, Max: 3.');
  const ids = new Set<string>();
  const titles = new Set<string>();
  buttons.forEach((b: unknown, i) => {
    const p = `interactive['action']['buttons'][${i}]`;
    if (!isObj(b) || b.type !== 'reply') fail(100, `Param ${p}['type'] must be 'reply'.`);
    const reply = obj(b, 'reply', `${p}['reply']`);
    const id = str(reply, 'id', `${p}['reply']['id']`, { required: true, min: 1, max: 256, code: 131009 }) ?? '';
    const title = str(reply, 'title', `${p}['reply']['title']`, { required: true, min: 1, max: 20, code: 131009 }) ?? '';
    if (ids.has(id) || titles.has(title)) fail(131009, 'Button ids and titles must be unique.');
    ids.add(id);
    titles.add(title);
  });
}

function validateList(action: Obj): void {
  str(action, 'button', "interactive['action']['button']", { required: true, min: 1, max: 20, code: 131009 });
  const sections = action.sections;
  if (!Array.isArray(sections) || sections.length === 0) fail(100, "The parameter interactive['action']['sections'] is required.");
  if (sections.length > 10) fail(131009, 'Sections count is invalid. Min: 1, Max: 10.');
  let rows = 0;
  const rowIds = new Set<string>();
  sections.forEach((s: unknown, i) => {
    const p = `interactive['action']['sections'][${i}]`;
    if (!isObj(s)) fail(100, `Param ${p} must be a JSON object.`);
    str(s, 'title', `${p}['title']`, { required: sections.length > 1, max: 24, code: 131009 });
    if (!Array.isArray(s.rows) || s.rows.length === 0) fail(100, `The parameter ${p}['rows'] is required.`);
    s.rows.forEach((r: unknown, j) => {
      const rp = `${p}['rows'][${j}]`;
      if (!isObj(r)) fail(100, `Param ${rp} must be a JSON object.`);
      const id = str(r, 'id', `${rp}['id']`, { required: true, min: 1, max: 200, code: 131009 }) ?? '';
      str(r, 'title', `${rp}['title']`, { required: true, min: 1, max: 24, code: 131009 });
      str(r, 'description', `${rp}['description']`, { max: 72, code: 131009 });
      if (rowIds.has(id)) fail(131009, 'Row ids must be unique.');
      rowIds.add(id);
      rows += 1;
    });
  });
  if (rows > 10) fail(131009, 'Total row count exceed max allowed count: 10.');
}

function validateInteractive(it: Obj): void {
  const kind = str(it, 'type', "interactive['type']", { required: true });
  const known = ['button', 'list', 'cta_url', 'product', 'product_list', 'catalog_message', 'flow', 'location_request_message', 'call_permission_request'];
  if (!known.includes(kind ?? '')) fail(100, `Param interactive['type'] must be one of {${known.join(', ')}}.`);
  if (it.header !== undefined) {
    const header = obj(it, 'header', "interactive['header']");
    str(header, 'type', "interactive['header']['type']", { required: true });
    str(header, 'text', "interactive['header']['text']", { max: 60, code: 131009 });
  }
  if (it.footer !== undefined) str(obj(it, 'footer', "interactive['footer']"), 'text', "interactive['footer']['text']", { required: true, max: 60, code: 131009 });
  const needsBody = kind !== 'product' && kind !== 'location_request_message';
  if (needsBody || it.body !== undefined) {
    str(obj(it, 'body', "interactive['body']"), 'text', "interactive['body']['text']", { required: true, min: 1, max: 1024, code: 131009 });
  }
  const action = obj(it, 'action', "interactive['action']");
  if (kind === 'button') validateButtons(action);
  if (kind === 'list') validateList(action);
  if (kind === 'cta_url') {
    const params = obj(action, 'parameters', "interactive['action']['parameters']");
    str(params, 'display_text', "interactive['action']['parameters']['display_text']", { required: true, min: 1, max: 20, code: 131009 });
    str(params, 'url', "interactive['action']['parameters']['url']", { required: true, min: 1 });
  }
}

function countBodyParameters(components: unknown): number {
  if (!Array.isArray(components)) return 0;
  const body = components.find((c: unknown) => isObj(c) && typeof c.type === 'string' && c.type.toLowerCase() === 'body');
  return isObj(body) && Array.isArray(body.parameters) ? body.parameters.length : 0;
}

function validateTemplate(t: Obj, ctx: SendValidationContext): void {
  const name = str(t, 'name', "template['name']", { required: true, min: 1 }) ?? '';
  const code = str(obj(t, 'language', "template['language']"), 'code', "template['language']['code']", { required: true, min: 1 }) ?? '';
  if (t.components !== undefined && !Array.isArray(t.components)) fail(100, "Param template['components'] must be an array.");
  const text = ctx.templateBody(name, code);
  if (text === undefined) fail(132001, `template name (${name}) does not exist in ${code}`);
  const expected = new Set(text.match(/\{\{\s*[\w]+\s*\}\}/g) ?? []).size;
  const given = countBodyParameters(t.components);
  if (expected !== given) fail(132000, `body: number of localizable_params (${given}) does not match the expected number of params (${expected})`);
}

function validateRead(b: Obj): SendValidation {
  if (b.status !== 'read') fail(100, "Param status must be 'read'.");
  const messageId = str(b, 'message_id', 'message_id', { required: true, min: 1 }) ?? '';
  let typing = false;
  if (b.typing_indicator !== undefined) {
    const ti = obj(b, 'typing_indicator', 'typing_indicator');
    if (ti.type !== 'text') fail(100, "Param typing_indicator['type'] must be 'text'.");
    typing = true;
  }
  return { ok: true, kind: 'read', messageId, typingIndicator: typing };
}

function validate(raw: unknown, ctx: SendValidationContext): SendValidation {
  if (!isObj(raw)) fail(100, 'The request body must be a JSON object.');
  const product = str(raw, 'messaging_product', 'messaging_product', { required: true });
  if (product !== 'whatsapp') fail(100, "Param messaging_product must be 'whatsapp'.");
  if (raw.status !== undefined) return validateRead(raw);

  const recipientType = str(raw, 'recipient_type', 'recipient_type');
  if (recipientType !== undefined && recipientType !== 'individual') fail(100, "Param recipient_type must be 'individual'.");
  const to = str(raw, 'to', 'to', { required: true }) ?? '';
  const waId = to.replace(/[\s()+-]/g, '');
  if (!/^\d{5,15}$/.test(waId)) fail(131009, "Param 'to' is not a valid WhatsApp phone number.");
  const type = str(raw, 'type', 'type') ?? 'text';
  if (!(OUTBOUND_TYPES as readonly string[]).includes(type)) fail(100, `Param type must be one of {${OUTBOUND_TYPES.join(', ')}}.`);
  for (const k of Object.keys(raw)) {
    if (k !== type && !TOP_LEVEL_KEYS.has(k)) fail(100, `Param ${k} is not a valid parameter for a ${type} message.`);
  }
  str(raw, 'biz_opaque_callback_data', 'biz_opaque_callback_data', { max: 512 });
  if (raw.context !== undefined) {
    const context = obj(raw, 'context', 'context');
    onlyKeys(context, ['message_id'], 'context');
    str(context, 'message_id', "context['message_id']", { required: true, min: 1 });
  }

  if (type === 'contacts') validateContacts(raw.contacts);
  else {
    const payload = obj(raw, type, type);
    if (MEDIA_TYPES.has(type)) validateMedia(type, payload, ctx);
    else if (type === 'text') validateText(payload);
    else if (type === 'location') validateLocation(payload);
    else if (type === 'reaction') validateReaction(payload);
    else if (type === 'interactive') validateInteractive(payload);
    else if (type === 'template') validateTemplate(payload, ctx);
  }
  return { ok: true, kind: 'message', type: type as OutboundType, to, waId, body: raw };
}

/**
 * Validates one send request. Never throws: returns the Graph error code and a `details`
 * sentence like Meta's `error_data.details`.
 */
export function validateSendRequest(raw: unknown, ctx: SendValidationContext): SendValidation {
  try {
    return validate(raw, ctx);
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, code: err.code, details: err.details };
    throw err;
  }
}
