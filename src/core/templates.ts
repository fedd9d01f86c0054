/**
 * WhatsApp message templates: what `/wa template` needs to validate parameters before sending.
 * Templates are synced from the Graph API into the `templates` table. Pure functions here.
 */

export interface TemplateComponent {
  type: string; // HEADER | BODY | FOOTER | BUTTONS
  format?: string; // header: TEXT | IMAGE | VIDEO | DOCUMENT | LOCATION
  text?: string;
  buttons?: { type: string; text?: string; url?: string }[];
}

export interface Template {
  name: string;
  language: string;
  status: string;
  category?: string | null;
  components: TemplateComponent[];
}

/** Number of `{{n}}` placeholders in a template text (highest index). */
export function placeholderCount(text: string | undefined): number {
  if (!text) return 0;
  let max = 0;
  for (const m of text.matchAll(/\{\{\s*(\d+)\s*\}\}/g)) max = Math.max(max, Number(m[1]));
  return max;
}

export interface TemplateArgs {
  /** Body parameters, in order. */
  body: string[];
  /** header=<text or https URL of the media> */
  header?: string;
  /** button<N>=<dynamic URL suffix or quick-reply payload>, N from 1. */
  buttons: Record<number, string>;
}

/** Parses `"a b" c header=https://x button1=abc` into positional body params and named ones. */
export function parseTemplateArgs(words: string[]): TemplateArgs {
  const args: TemplateArgs = { body: [], buttons: {} };
  for (const w of words) {
    const named = /^(header|button(\d+))=(.*)$/s.exec(w);
    if (named) {
      if (named[1] === 'header') args.header = named[3];
      else args.buttons[Number(named[2])] = named[3]!;
    } else {
      args.body.push(w);
    }
  }
  return args;
}

/** Splits a command line into words, honouring "double" and 'single' quotes. */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (const m of line.matchAll(re)) words.push((m[1] ?? m[2] ?? m[3] ?? '').replace(/\\"/g, '"'));
  return words;
}

export type TemplateCheck =
  | { ok: true; components: unknown[]; summary: string }
  | { ok: false; problems: string[] };

/**
 * Checks the arguments against the template's components and builds the Graph API
 * `components` array. Problems are phrased for the agent (English; the caller localises the frame).
 */
export function buildTemplateComponents(t: Template, args: TemplateArgs): TemplateCheck {
  const problems: string[] = [];
  const components: unknown[] = [];
  const header = t.components.find((c) => c.type.toUpperCase() === 'HEADER');
  const body = t.components.find((c) => c.type.toUpperCase() === 'BODY');
  const buttons = t.components.find((c) => c.type.toUpperCase() === 'BUTTONS')?.buttons ?? [];

  if (header) {
    const format = (header.format ?? 'TEXT').toUpperCase();
    if (format === 'TEXT') {
      const n = placeholderCount(header.text);
      if (n > 0) {
        if (!args.header) problems.push(`header needs a text parameter: header="…"`);
        else components.push({ type: 'header', parameters: [{ type: 'text', text: args.header }] });
      } else if (args.header) problems.push('this template\'s header takes no parameter');
    } else if (['IMAGE', 'VIDEO', 'DOCUMENT'].includes(format)) {
      if (!args.header || !/^https:\/\//.test(args.header)) problems.push(`header needs a ${format.toLowerCase()}: header=https://…`);
      else components.push({ type: 'header', parameters: [{ type: format.toLowerCase(), [format.toLowerCase()]: { link: args.header } }] });
    }
  } else if (args.header) problems.push('this template has no header');

  const n = placeholderCount(body?.text);
  if (args.body.length !== n) problems.push(`body needs ${n} parameter(s), got ${args.body.length}`);
  else if (n > 0) components.push({ type: 'body', parameters: args.body.map((text) => ({ type: 'text', text })) });

  buttons.forEach((b, i) => {
    const dynamic = b.type.toUpperCase() === 'URL' && placeholderCount(b.url) > 0;
    const given = args.buttons[i + 1];
    if (dynamic && given === undefined) problems.push(`button${i + 1} (${b.text ?? 'URL'}) needs its URL suffix: button${i + 1}=…`);
    if (dynamic && given !== undefined) components.push({ type: 'button', sub_type: 'url', index: String(i), parameters: [{ type: 'text', text: given }] });
    if (b.type.toUpperCase() === 'QUICK_REPLY' && given !== undefined) {
      components.push({ type: 'button', sub_type: 'quick_reply', index: String(i), parameters: [{ type: 'payload', payload: given }] });
    }
  });
  for (const k of Object.keys(args.buttons)) {
    if (Number(k) < 1 || Number(k) > buttons.length) problems.push(`button${k}: this template has ${buttons.length} button(s)`);
  }
  if (problems.length) return { ok: false, problems };
  let summary = body?.text ?? t.name;
  args.body.forEach((v, i) => { summary = summary.replace(new RegExp(`\\{\\{\\s*${i + 1}\\s*\\}\\}`, 'g'), v); });
  return { ok: true, components, summary };
}

/** A one-line description of a template for lists: name, language, parameters expected. */
export function describeTemplate(t: Template): string {
  const body = t.components.find((c) => c.type.toUpperCase() === 'BODY');
  const header = t.components.find((c) => c.type.toUpperCase() === 'HEADER');
  const parts = [`\`${t.name}\` (${t.language})`, `${placeholderCount(body?.text)} body parameter(s)`];
  if (header && (header.format ?? 'TEXT').toUpperCase() !== 'TEXT') parts.push(`${header.format!.toLowerCase()} header`);
  return parts.join(' · ');
}
