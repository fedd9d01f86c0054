import type { InboundContent, InboundMarkers } from './messages.js';
import { t, type Language } from './i18n.js';

/**
 * Turns one stored customer message into the Markdown agents read in their chat platform.
 * Pure; table-tested in test/unit/render-inbound.test.ts.
 *
 * Every post starts with a header line naming the customer, so nobody mistakes it for a
 * colleague's message; platform-specific escaping is the adapter's business (Markdown here is
 * the CommonMark subset both Mattermost and Rocket.Chat render).
 */
export interface RenderInput {
  content: InboundContent;
  markers: InboundMarkers;
  customerName: string;
  lang: Language;
  /** Set when the replied-to message is unknown (so the post cannot be threaded). */
  replyTargetMissing?: boolean;
  /** Set by the worker when the media could not be attached. */
  mediaProblem?: { reason: 'too_large' | 'unavailable'; size?: number; code?: string };
}

/** Escapes Markdown control characters in text that comes from customers' profiles. */
export function escapeMarkdown(s: string): string {
  return s.replace(/([\\`*_{}[\]()#+\-.!|>~])/g, '\\$1');
}

function quote(s: string): string {
  return s.split('\n').map((l) => `> ${l}`).join('\n');
}

function humanSize(bytes: number | undefined): string {
  if (bytes === undefined) return '?';
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} B`;
}

export function renderInbound(input: RenderInput): string {
  const { content, markers, lang } = input;
  const name = escapeMarkdown(input.customerName);
  const lines: string[] = [];
  const prefixes: string[] = [];
  if (markers.forwarded) prefixes.push(`_${t(lang, markers.frequentlyForwarded ? 'frequentlyForwarded' : 'forwarded')}_`);
  if (markers.referral) {
    const r = markers.referral;
    const what = [r.headline, r.sourceUrl].filter(Boolean).join(' · ');
    prefixes.push(`_${t(lang, 'fromAd')}${what ? `: ${what}` : ''}_`);
  }
  if (markers.productInquiry) prefixes.push(`_${t(lang, 'productInquiry')} ${markers.productInquiry.productId ?? ''}_`.trim());
  if (input.replyTargetMissing) prefixes.push(`_↪ ${t(lang, 'inReplyToUnknown')}_`);

  lines.push(`**${name}** ${t(lang, 'customerWrote')}${prefixes.length ? ' · ' + prefixes.join(' · ') : ''}`);
  lines.push(...renderBody(content, input, name));
  if (markers.errors?.length && content.kind !== 'unsupported') {
    lines.push(`_${t(lang, 'whatsappErrors')}: ${markers.errors.map((e) => [e.code, e.title].filter(Boolean).join(' ')).join('; ')}_`);
  }
  if (markers.unknownFields?.length) {
    lines.push(`:information_source: _${t(lang, 'unknownFields', { fields: markers.unknownFields.join(', ') })}_`);
  }
  return lines.join('\n');
}

function renderBody(content: InboundContent, input: RenderInput, name: string): string[] {
  const lang = input.lang;
  switch (content.kind) {
    case 'text':
      return [content.text];
    case 'media': {
      const out: string[] = [];
      const m = content.media;
      if (m.voice) out.push(`:microphone: _${t(lang, 'voiceNote')}_`);
      if (input.mediaProblem?.reason === 'too_large') {
        out.push(`:warning: ${name} ${t(lang, 'mediaTooLarge', { kind: m.kind, size: humanSize(input.mediaProblem.size) })}`);
      } else if (input.mediaProblem) {
        out.push(`:warning: ${name} ${t(lang, 'mediaUnavailable', { kind: m.kind, code: input.mediaProblem.code ?? 'error' })}`);
      }
      if (m.caption) out.push(m.caption);
      return out;
    }
    case 'location': {
      const map = `https://www.openstreetmap.org/?mlat=${content.latitude}&mlon=${content.longitude}#map=17/${content.latitude}/${content.longitude}`;
      const out = [`:round_pushpin: **${t(lang, 'location')}**${content.name ? ': ' + escapeMarkdown(content.name) : ''}`];
      if (content.address) out.push(escapeMarkdown(content.address));
      out.push(`${content.latitude}, ${content.longitude} · [${t(lang, 'openMap')}](${map})`);
      if (content.url) out.push(content.url);
      return out;
    }
    case 'contacts':
      return content.contacts.flatMap((c) => {
        const out = [`:bust_in_silhouette: **${t(lang, 'contactCard')}: ${escapeMarkdown(c.name)}**`];
        if (c.org) out.push(`- ${escapeMarkdown(c.org)}`);
        for (const p of c.phones) out.push(`- :telephone_receiver: ${p.phone ?? p.waId ?? ''}${p.type ? ` (${p.type})` : ''}`);
        for (const e of c.emails) out.push(`- :email: ${e.email}${e.type ? ` (${e.type})` : ''}`);
        for (const u of c.urls ?? []) out.push(`- ${u}`);
        for (const a of c.addresses ?? []) out.push(`- ${escapeMarkdown(a)}`);
        if (c.birthday) out.push(`- :birthday: ${c.birthday}`);
        return out;
      });
    case 'choice':
      return [`:ballot_box_with_check: ${t(lang, 'chose')}: **${escapeMarkdown(content.title)}**${content.description ? ` — ${escapeMarkdown(content.description)}` : ''}`];
    case 'reaction':
      return [content.emoji ? `${t(lang, 'reacted')} ${content.emoji} ${t(lang, 'toAMessage')}` : t(lang, 'reactionRemoved')];
    case 'order': {
      const out = [`:shopping_cart: **${t(lang, 'order')}**${content.catalogId ? ` (${content.catalogId})` : ''}`];
      for (const i of content.items) out.push(`- ${i.productId} × ${i.quantity}${i.price !== undefined ? ` · ${i.price} ${i.currency ?? ''}`.trimEnd() : ''}`);
      if (content.text) out.push(content.text);
      return out;
    }
    case 'system':
      return [`:information_source: _${t(lang, 'systemEvent')}: ${content.text ?? content.event}_`];
    case 'unsupported': {
      const out = [`:warning: ${name} ${t(lang, 'unsupported', { type: content.waType })}`];
      if (content.errors.length) out.push(`_${t(lang, 'whatsappErrors')}: ${content.errors.map((e) => [e.code, e.title].filter(Boolean).join(' ')).join('; ')}_`);
      return out;
    }
  }
}

/** Quotes text (used when a reply cannot be threaded). */
export { quote };
