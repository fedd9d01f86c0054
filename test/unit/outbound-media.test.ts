import { describe, expect, it } from 'vitest';
import { planOutboundMedia } from '../../src/whatsapp/outbound-media.js';

const MB = 1024 * 1024;
describe('planOutboundMedia', () => {
  const table: [string, number, object][] = [
    ['image/jpeg', 1 * MB, { ok: true, kind: 'image' }],
    ['image/png', 6 * MB, { ok: true, kind: 'document', asDocumentFallback: true }],
    ['image/heic', 1 * MB, { ok: true, kind: 'document', asDocumentFallback: true }],
    ['image/gif', 1 * MB, { ok: true, kind: 'document' }],
    ['video/mp4', 10 * MB, { ok: true, kind: 'video' }],
    ['video/mp4', 20 * MB, { ok: true, kind: 'document' }],
    ['video/webm', 1 * MB, { ok: true, kind: 'document' }],
    ['audio/mpeg', 1 * MB, { ok: true, kind: 'audio' }],
    ['audio/ogg; codecs=opus', 1 * MB, { ok: true, kind: 'audio', mimeType: 'audio/ogg' }],
    ['audio/ogg', 1 * MB, { ok: true, kind: 'document' }],
    ['application/pdf', 50 * MB, { ok: true, kind: 'document', asDocumentFallback: false }],
    ['application/pdf', 101 * MB, { ok: false, reason: 'too_large' }],
  ];
  for (const [mime, size, expected] of table) {
    it(`${mime} ${size / MB} MB`, () => expect(planOutboundMedia(mime, size)).toMatchObject(expected));
  }
});
