import { describe, expect, it } from 'vitest';
import { markdownToWhatsApp, splitForWhatsApp } from '../../src/whatsapp/to-whatsapp.js';

describe('markdownToWhatsApp', () => {
  const table: [string, string, string][] = [
    ['plain', 'Hello there', 'Hello there'],
    ['bold **', 'This is **important**', 'This is *important*'],
    ['bold __', 'This is __important__', 'This is *important*'],
    ['italic *', 'an *emphasis* here', 'an _emphasis_ here'],
    ['italic _', 'an _emphasis_ here', 'an _emphasis_ here'],
    ['bold and italic', '**Order** _shipped_', '*Order* _shipped_'],
    ['strike', 'price ~~20€~~ 15€', 'price ~20€~ 15€'],
    ['inline code untouched', 'run `npm **test**`', 'run `npm **test**`'],
    ['fenced code', '```js\nconst a = **b**;\n```', '```const a = **b**;```'],
    ['link', 'see [our FAQ](https://ex.com/faq_page)', 'see our FAQ (https://ex.com/faq_page)'],
    ['bare url with underscores', 'https://ex.com/a_b_c ok', 'https://ex.com/a_b_c ok'],
    ['autolink', '<https://ex.com>', 'https://ex.com'],
    ['heading', '## Your order', '*Your order*'],
    ['bullets', '* one\n+ two\n- three', '- one\n- two\n- three'],
    ['numbered list kept', '1. first\n2. second', '1. first\n2. second'],
    ['quote kept', '> quoted', '> quoted'],
    ['snake_case word untouched', 'my_var_name', 'my_var_name'],
    ['multiplication untouched', '2 * 3 * 4', '2 * 3 * 4'],
    ['rule removed', 'a\n\n---\n\nb', 'a\n\nb'],
  ];
  for (const [name, input, expected] of table) {
    it(name, () => expect(markdownToWhatsApp(input)).toBe(expected));
  }
});

describe('splitForWhatsApp', () => {
  it('keeps short texts whole', () => expect(splitForWhatsApp('hi')).toEqual(['hi']));
  it('splits at paragraph boundaries under the limit', () => {
    const p = 'a'.repeat(3000);
    const parts = splitForWhatsApp(`${p}\n\n${p}`);
    expect(parts).toEqual([p, p]);
  });
  it('never exceeds the limit, even without spaces', () => {
    const parts = splitForWhatsApp('x'.repeat(10_000));
    expect(parts.every((x) => x.length <= 4096)).toBe(true);
    expect(parts.join('')).toBe('x'.repeat(10_000));
  });
});
