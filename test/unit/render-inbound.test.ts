import { describe, expect, it } from 'vitest';
import { renderInbound, type RenderInput } from '../../src/core/render-inbound.js';

const base = { customerName: 'Jeanne *Dupont*', lang: 'en' as const, markers: {} };

describe('renderInbound', () => {
  const cases: [string, Partial<RenderInput> & Pick<RenderInput, 'content'>, RegExp[]][] = [
    ['text', { content: { kind: 'text', text: 'Bonjour, ma commande 12345 ?' } }, [/^\*\*Jeanne \\\*Dupont\\\*\*\* wrote on WhatsApp/, /ma commande 12345/]],
    ['caption', { content: { kind: 'media', media: { kind: 'image', mediaId: '1', caption: 'the receipt' } } }, [/the receipt/]],
    ['voice', { content: { kind: 'media', media: { kind: 'audio', mediaId: '1', voice: true } } }, [/Voice message/]],
    ['too large', { content: { kind: 'media', media: { kind: 'video', mediaId: '1' } }, mediaProblem: { reason: 'too_large', size: 20 * 1024 * 1024 } }, [/larger than Relais accepts \(20\.0 MB\)/]],
    ['location', { content: { kind: 'location', latitude: 48.85, longitude: 2.35, name: 'Louvre', address: 'Rue de Rivoli' } }, [/Location\*\*: Louvre/, /Rue de Rivoli/, /48\.85, 2\.35/, /openstreetmap\.org\/\?mlat=48\.85&mlon=2\.35/]],
    ['contacts', { content: { kind: 'contacts', contacts: [{ name: 'Ana', phones: [{ phone: '+33 6 12', type: 'CELL' }], emails: [{ email: 'a@x.fr' }] }] } }, [/Contact card: Ana/, /\+33 6 12 \(CELL\)/, /a@x\.fr/]],
    ['button', { content: { kind: 'choice', source: 'button', title: 'Yes please' } }, [/chose: \*\*Yes please\*\*/]],
    ['list', { content: { kind: 'choice', source: 'list', title: 'Delivery', description: 'Tomorrow' } }, [/Delivery\*\* — Tomorrow/]],
    ['reaction line', { content: { kind: 'reaction', targetWamid: 'w', emoji: '👍' } }, [/reacted 👍 to a message/]],
    ['reaction removed', { content: { kind: 'reaction', targetWamid: 'w', emoji: '' } }, [/removed their reaction/]],
    ['order', { content: { kind: 'order', catalogId: 'c1', items: [{ productId: 'p1', quantity: 2, price: 9.5, currency: 'EUR' }] } }, [/Order\*\* \(c1\)/, /p1 × 2 · 9\.5 EUR/]],
    ['system', { content: { kind: 'system', event: 'user_changed_number', text: 'User changed number' } }, [/WhatsApp notice: User changed number/]],
    ['unsupported', { content: { kind: 'unsupported', waType: 'poll', errors: [{ code: 131051, title: 'Message type unknown' }] } }, [/cannot show yet \(poll\)/, /131051 Message type unknown/]],
    ['forwarded', { content: { kind: 'text', text: 'x' }, markers: { forwarded: true } }, [/_Forwarded_/]],
    ['referral', { content: { kind: 'text', text: 'x' }, markers: { referral: { headline: 'Spring sale', sourceUrl: 'https://fb.me/ad' } } }, [/Came from an ad: Spring sale · https:\/\/fb\.me\/ad/]],
    ['reply unknown', { content: { kind: 'text', text: 'x' }, markers: { replyToWamid: 'w' }, replyTargetMissing: true }, [/In reply to a message Relais does not have/]],
    ['unknown fields', { content: { kind: 'text', text: 'x' }, markers: { unknownFields: ['poll_vote'] } }, [/fields Relais does not understand yet \(poll_vote\)/]],
  ];
  for (const [name, input, patterns] of cases) {
    it(name, () => {
      const out = renderInbound({ ...base, ...input, markers: { ...base.markers, ...input.markers } });
      for (const p of patterns) expect(out).toMatch(p);
    });
  }

  it('speaks French when the setting says so', () => {
    const out = renderInbound({ ...base, lang: 'fr', content: { kind: 'unsupported', waType: 'poll', errors: [] } });
    expect(out).toMatch(/a écrit sur WhatsApp/);
    expect(out).toMatch(/ne sait pas encore afficher \(poll\)/);
  });
});
