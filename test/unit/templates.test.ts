import { describe, expect, it } from 'vitest';
import { buildTemplateComponents, parseTemplateArgs, splitWords, type Template } from '../../src/core/templates.js';

const orderUpdate: Template = {
  name: 'order_update', language: 'fr', status: 'APPROVED',
  components: [
    { type: 'HEADER', format: 'IMAGE' },
    { type: 'BODY', text: 'Bonjour {{1}}, votre commande {{2}} est partie.' },
    { type: 'BUTTONS', buttons: [{ type: 'URL', text: 'Suivre', url: 'https://ex.com/track/{{1}}' }, { type: 'QUICK_REPLY', text: 'Merci' }] },
  ],
};

describe('template parameters', () => {
  it('splits quoted words', () => {
    expect(splitWords(`order_update fr "Jeanne Dupont" 12345 header=https://x/y.png`)).toEqual(['order_update', 'fr', 'Jeanne Dupont', '12345', 'header=https://x/y.png']);
  });

  it('builds the Graph components when everything is given', () => {
    const r = buildTemplateComponents(orderUpdate, parseTemplateArgs(['Jeanne', '12345', 'header=https://cdn.ex.com/p.png', 'button1=AB12']));
    expect(r).toEqual({
      ok: true,
      summary: 'Bonjour Jeanne, votre commande 12345 est partie.',
      components: [
        { type: 'header', parameters: [{ type: 'image', image: { link: 'https://cdn.ex.com/p.png' } }] },
        { type: 'body', parameters: [{ type: 'text', text: 'Jeanne' }, { type: 'text', text: '12345' }] },
        { type: 'button', sub_type: 'url', index: '0', parameters: [{ type: 'text', text: 'AB12' }] },
      ],
    });
  });

  it('lists every problem at once', () => {
    const r = buildTemplateComponents(orderUpdate, parseTemplateArgs(['Jeanne', 'button5=x']));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.problems).toEqual(expect.arrayContaining([
        expect.stringMatching(/header needs a image: header=https/),
        expect.stringMatching(/body needs 2 parameter\(s\), got 1/),
        expect.stringMatching(/button1 \(Suivre\) needs its URL suffix/),
        expect.stringMatching(/button5: this template has 2 button/),
      ]));
    }
  });

  it('accepts a template without parameters', () => {
    const hello: Template = { name: 'hello', language: 'en_US', status: 'APPROVED', components: [{ type: 'BODY', text: 'Hello!' }] };
    expect(buildTemplateComponents(hello, parseTemplateArgs([]))).toEqual({ ok: true, components: [], summary: 'Hello!' });
  });
});
