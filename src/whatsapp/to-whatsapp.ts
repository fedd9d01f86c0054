/**
 * Converts the Markdown agents type (Mattermost / Rocket.Chat flavour) into WhatsApp's own
 * formatting: *bold*, _italic_, ~strike~, `inline code`, ```monospace block```, "- " / "1. "
 * lists and "> " quotes. Links become "text (url)" since WhatsApp has no link syntax; headings
 * become bold lines. Pure; table-tested.
 *
 * Code spans and fenced blocks are protected first so their content is never reformatted.
 * Placeholders use Unicode private-use characters (U+E000–E002), which agents do not type.
 */
export function markdownToWhatsApp(input: string): string {
  const saved: string[] = [];
  const keep = (s: string) => `\uE000${saved.push(s) - 1}\uE000`;
  let s = input.replace(/\r\n/g, '\n');
  // Fenced code blocks → ```block``` (WhatsApp monospace).
  s = s.replace(/```[^\n]*\n([\s\S]*?)\n?```/g, (_m, body: string) => keep('```' + body + '```'));
  // Inline code stays inline code.
  s = s.replace(/`([^`\n]+)`/g, (_m, body: string) => keep('`' + body + '`'));
  // Links and images: [text](url) → text (url); bare autolinks <url> → url.
  s = s.replace(/!\[([^\]]*)\]\(([^)\s]+)[^)]*\)/g, (_m, alt: string, url: string) => keep(alt ? `${alt} (${url})` : url));
  s = s.replace(/\[([^\]]+)\]\(([^)\s]+)[^)]*\)/g, (_m, text: string, url: string) => keep(text === url ? url : `${text} (${url})`));
  s = s.replace(/<(https?:\/\/[^>\s]+)>/g, (_m, url: string) => keep(url));
  // Bare URLs are protected so underscores in them are not read as italics.
  s = s.replace(/https?:\/\/[^\s)]+/g, (url) => keep(url));
  // Headings → bold line.
  s = s.replace(/^#{1,6}\s+(.+?)\s*#*$/gm, (_m, title: string) => `\uE001${title}\uE001`);
  // Bold (**x** or __x__) → placeholder, then italics (*x* or _x_) → _x_, then bold → *x*.
  s = s.replace(/\*\*(?=\S)([\s\S]*?\S)\*\*/g, '\uE001$1\uE001');
  s = s.replace(/__(?=\S)([\s\S]*?\S)__/g, '\uE001$1\uE001');
  s = s.replace(/(^|[^\w*])\*(?=\S)([^*\n]*?\S)\*(?!\w)/g, '$1\uE002$2\uE002');
  s = s.replace(/(^|[^\w])_(?=\S)([^_\n]*?\S)_(?!\w)/g, '$1\uE002$2\uE002');
  s = s.replace(/~~(?=\S)([\s\S]*?\S)~~/g, '~$1~');
  // Bullets: "* item" and "+ item" → "- item" (WhatsApp renders "- " and "* " lists; one style).
  s = s.replace(/^(\s*)[*+]\s+/gm, '$1- ');
  // Horizontal rules disappear.
  s = s.replace(/^\s*([-*_])(\s*\1){2,}\s*$/gm, '');
  s = s.replace(/\uE001/g, '*').replace(/\uE002/g, '_');
  s = s.replace(/\uE000(\d+)\uE000/g, (_m, i: string) => saved[Number(i)]!);
  return s.replace(/\n{3,}/g, '\n\n').trim();
}

/** WhatsApp's text body limit (Cloud API `text.body` maxLength). */
export const WHATSAPP_TEXT_MAX = 4096;

/** Splits a long text into WhatsApp-sized parts at paragraph, line, then word boundaries. Pure. */
export function splitForWhatsApp(text: string, max = WHATSAPP_TEXT_MAX): string[] {
  const parts: string[] = [];
  let rest = text;
  while ([...rest].length > max) {
    const chars = [...rest];
    const window = chars.slice(0, max).join('');
    let cut = window.lastIndexOf('\n\n');
    if (cut < max / 2) cut = window.lastIndexOf('\n');
    if (cut < max / 2) cut = window.lastIndexOf(' ');
    if (cut < max / 2) cut = window.length;
    parts.push(window.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
  }
  if (rest.length) parts.push(rest);
  return parts;
}
