/**
 * Readable text and portable content for exported messages. Pure functions: they turn what Relais
 * stored (`InboundContent`, `OutboundContent`) into the `text` and `content` fields of
 * `export.json`, leaving out handles that only mean something inside WhatsApp's or the chat
 * platform's servers (Graph media ids, chat file ids, thread roots).
 */
import type { InboundContent } from '../core/messages.js';
import type { OutboundContent } from '../core/outbound-content.js';
import { t, type Language } from '../core/i18n.js';

/** The words of an inbound message, or a one-line rendering of a non-text one; undefined when it has none. */
export function inboundText(c: InboundContent, lang: Language): string | undefined {
  switch (c.kind) {
    case 'text': return c.text;
    case 'media': return c.media.caption || undefined;
    case 'location': return [c.name, c.address, `${c.latitude}, ${c.longitude}`, c.url].filter(Boolean).join(' · ');
    case 'contacts': return c.contacts.map((k) => [k.name, ...k.phones.map((p) => p.phone ?? p.waId), ...k.emails.map((e) => e.email), k.org]
      .filter(Boolean).join(', ')).join('; ');
    case 'choice': return [c.title, c.description].filter(Boolean).join(' · ');
    case 'reaction': return c.emoji ? `${t(lang, 'reacted')} ${c.emoji}` : t(lang, 'reactionRemoved');
    case 'order': return [c.text, ...c.items.map((i) => `${i.productId} × ${i.quantity}${i.price !== undefined ? ` (${i.price}${i.currency ? ` ${i.currency}` : ''})` : ''}`)]
      .filter(Boolean).join('; ');
    case 'system': return c.text ?? c.event;
    case 'unsupported': return `(${c.waType})`;
  }
}

/** The words of an agent's message; undefined when it has none. */
export function outboundText(c: OutboundContent): string | undefined {
  switch (c.kind) {
    case 'text': return c.text;
    case 'media': return c.text || undefined;
    case 'reaction': return c.emoji || undefined;
    case 'template': return c.summary;
  }
}

/** Inbound content without WhatsApp's media handle (it expires and identifies nothing for the person). */
export function portableInbound(c: InboundContent): unknown {
  if (c.kind !== 'media') return c;
  const { mediaId: _mediaId, ...media } = c.media;
  return { ...c, media };
}

/** Outbound content without chat-platform handles (file ids, thread root). */
export function portableOutbound(c: OutboundContent): unknown {
  switch (c.kind) {
    case 'text': return { kind: c.kind, text: c.text };
    case 'media': return { kind: c.kind, text: c.text, files: c.files.map((f) => ({ name: f.name, mimeType: f.mimeType, size: f.size })) };
    case 'reaction': return c;
    case 'template': return { kind: c.kind, name: c.name, language: c.language, components: c.components, summary: c.summary };
  }
}

/** A file name safe inside a ZIP (no directories, no control or reserved characters), at most 100 characters. */
export function zipSafeName(name: string | undefined, fallback: string): string {
  const visible = Array.from((name ?? '').normalize('NFC'), (ch) => (ch.charCodeAt(0) < 0x20 || ch === '\u007f' ? '_' : ch)).join('');
  const cleaned = visible.replace(/[/\\:*?"<>|]+/g, '_').replace(/^\.+/, '').trim();
  const cps = Array.from(cleaned || fallback);
  return cps.length <= 100 ? cps.join('') : cps.slice(cps.length - 100).join('');
}
