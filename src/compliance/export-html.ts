/**
 * `transcript.html` of a data-subject export: the conversations as a person reads them, in the
 * deployment's language (`config.language`, strings in src/core/i18n.ts). One self-contained file:
 * inline CSS, no script, no external request (a Content-Security-Policy forbids them, in case an
 * escape were ever missed); attachments are relative links into the ZIP's `media/` folder. Every
 * value is HTML-escaped. Pure.
 */
import { t, type Language } from '../core/i18n.js';
import type { ExportCustomer, ExportDocument, ExportMedia, ExportMessage } from './export-schema.js';

/** Escapes text for HTML element content and double- or single-quoted attributes. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** `2026-03-01 14:05:09 UTC` */
function when(iso: string | null | undefined): string {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC` : '–';
}

/** A relative link to a file in the ZIP, each path segment URI-encoded. */
function href(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

const STYLE = `body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:52rem;padding:0 1rem;color:#1d1d1f}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2.5rem;border-bottom:1px solid #ccc;padding-bottom:.3rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{color:#555}dd{margin:0}
.m{margin:.6rem 0;padding:.5rem .75rem;border-radius:.5rem;max-width:85%}
.in{background:#f0f0f3}.out{background:#dcf3e3;margin-left:auto}
.meta{font-size:.8rem;color:#555}.text{white-space:pre-wrap;overflow-wrap:anywhere}.gone{font-style:italic;color:#777}`;

function media(lang: Language, m: ExportMedia): string {
  const label = escapeHtml(m.name ?? m.kind);
  if (m.state === 'stored' && m.file) return `<div>📎 ${escapeHtml(t(lang, 'exportAttachment'))}: <a href="${escapeHtml(href(m.file))}">${label}</a></div>`;
  const why = t(lang, m.state === 'held_by_chat' ? 'exportAttachmentInChat' : 'exportAttachmentNotKept');
  return `<div class="gone">📎 ${label} (${escapeHtml(why)})</div>`;
}

function message(lang: Language, m: ExportMessage): string {
  const who = t(lang, m.author === 'customer' ? 'exportCustomer' : 'exportAgent');
  const parts = [`<div class="meta">${escapeHtml(who)} · ${escapeHtml(when(m.timestamps.sentAt ?? m.timestamps.receivedAt))}</div>`];
  if (m.contentRemoved) parts.push(`<div class="gone">${escapeHtml(t(lang, 'exportContentRemoved'))}</div>`);
  else if (m.unreadable) parts.push(`<div class="gone">${escapeHtml(t(lang, 'exportUnreadable'))}</div>`);
  else if (m.text !== undefined) parts.push(`<div class="text">${escapeHtml(m.text)}</div>`);
  for (const f of m.media) parts.push(media(lang, f));
  if (m.status) parts.push(`<div class="meta">${escapeHtml(t(lang, 'exportStatus'))}: ${escapeHtml(m.status.current)} · ${escapeHtml(when(m.status.at))}</div>`);
  return `<div class="m ${m.direction === 'inbound' ? 'in' : 'out'}">${parts.join('')}</div>`;
}

function conversation(lang: Language, c: ExportCustomer): string {
  const number = c.businessNumber.label ? `${c.businessNumber.label} (${c.businessNumber.phoneNumberId})` : c.businessNumber.phoneNumberId;
  const facts: [string, string][] = [];
  if (c.identity.profileName) facts.push([t(lang, 'exportProfileName'), c.identity.profileName]);
  facts.push([t(lang, 'exportFirstContact'), when(c.createdAt)], [t(lang, 'exportLastInbound'), when(c.lastInboundAt)]);
  if (c.conversation.legalHold) facts.push([t(lang, 'exportLegalHold'), '✔']);
  return [
    `<section><h2>${escapeHtml(t(lang, 'exportConversation', { number }))}</h2>`,
    `<dl>${facts.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>`,
    c.messages.length ? c.messages.map((m) => message(lang, m)).join('\n') : `<p class="gone">${escapeHtml(t(lang, 'exportNoMessages'))}</p>`,
    '</section>',
  ].join('\n');
}

/** The whole transcript. Pure. */
export function renderTranscript(doc: ExportDocument): string {
  const lang = doc.language;
  const title = t(lang, 'exportTitle');
  return [
    '<!DOCTYPE html>',
    `<html lang="${lang}"><head><meta charset="utf-8">`,
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>`,
    `<h1>${escapeHtml(title)}</h1>`,
    `<p>${escapeHtml(t(lang, 'exportIntro', { phone: doc.subject.phone, date: when(doc.generatedAt) }))}</p>`,
    ...doc.customers.map((c) => conversation(lang, c)),
    '</body></html>',
    '',
  ].join('\n');
}
