import { beforeAll, describe, expect, it } from 'vitest';
import { createKeyRing } from '../../src/archive/keyring.js';
import { initSodium, randomBytes } from '../../src/archive/sodium.js';
import type { ChatFileRef } from '../../src/chat/platform.js';
import { hashTokens, inboundSearchText, outboundSearchText } from '../../src/compliance/search-index.js';

beforeAll(async () => { await initSodium(); });
const ring = () => createKeyRing([{ version: 1, key: randomBytes(32) }], { indexRoot: randomBytes(32) });

describe('search index: what is indexed and how tokens are hashed', () => {
  it.each([
    [{ kind: 'text', text: 'Bonjour' }, 'Bonjour'],
    [{ kind: 'media', media: { kind: 'document', mediaId: 'm1', caption: 'Ma facture', filename: 'facture-mars.pdf' } }, 'Ma facture\nfacture-mars.pdf'],
    [{ kind: 'location', latitude: 1, longitude: 2, name: 'Gare de Lyon', address: 'Paris' }, 'Gare de Lyon\nParis'],
    [{ kind: 'contacts', contacts: [{ name: 'Ana Lima', org: 'ACME', phones: [{ phone: '+351 912 345 678' }], emails: [] }] }, 'Ana Lima ACME'],
    [{ kind: 'choice', source: 'list', title: 'Retour', description: 'Sous 30 jours' }, 'Retour\nSous 30 jours'],
    [{ kind: 'order', items: [], text: 'livrer vite' }, 'livrer vite'],
    [{ kind: 'reaction', targetWamid: 'wamid.X', emoji: '👍' }, ''],
    [{ kind: 'unsupported', waType: 'poll', errors: [] }, ''],
  ] as const)('customer %j → %j', (content, text) => {
    expect(inboundSearchText(content as never)).toBe(text);
  });

  it('agent replies: text and file names, or the template as the agent saw it; never reactions', () => {
    const files: ChatFileRef[] = [{ id: 'f1', name: 'devis.pdf', mimeType: 'application/pdf', size: 1 }];
    expect(outboundSearchText({ kind: 'media', text: 'Voici', files })).toBe('Voici\ndevis.pdf');
    expect(outboundSearchText({ kind: 'template', name: 't', language: 'fr', components: [], summary: 'Votre colis 42 arrive' })).toBe('Votre colis 42 arrive');
    expect(outboundSearchText({ kind: 'reaction', targetMessageId: 'x', emoji: '👍' })).toBe('');
  });

  it('hashes are keyed, deterministic, distinct per token list and within the truncation', () => {
    const r1 = ring();
    const a = hashTokens(r1, ['commande', '12345', 'commande']);
    expect(a).toHaveLength(2);
    expect(hashTokens(r1, ['commande', '12345'])).toEqual(a);
    expect(hashTokens(ring(), ['commande', '12345'])).not.toEqual(a);
    for (const v of a) expect(v >= 0 && v < 2 ** 20).toBe(true);
    const wide = hashTokens(r1, Array.from({ length: 200 }, (_, i) => `w${i}`), { bits: 32 });
    expect(wide.some((v) => v < 0)).toBe(true); // full 32 bits fit PostgreSQL integer as signed values
    expect(hashTokens(r1, ['a1', 'b2', 'c3', 'd4', 'e5', 'f6'], { bits: 1 }).every((v) => v === 0 || v === 1)).toBe(true);
    expect(() => hashTokens(r1, ['x'], { bits: 0 })).toThrow(RangeError);
  });
});
