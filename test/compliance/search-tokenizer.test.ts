import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_TOKEN_LENGTH, MAX_TOKENS_PER_TEXT, foldText, tokenize } from '../../src/compliance/tokenizer.js';

describe('search tokenizer', () => {
  it.each([
    ['Commande Nº 12345 — déjà livrée', ['commande', 'no', '12345', 'deja', 'livree']],
    ['DÉJÀ LIVRÉE', ['deja', 'livree']],
    ['Straße, Œuvre, Ærø, Łódź', ['strasse', 'oeuvre', 'aero', 'lodz']],
    ['STRASSE œuvre', ['strasse', 'oeuvre']],
    ['İstanbul ISTANBUL', ['istanbul']],
    ['ΟΔΟΣ οδος', ['οδοσ']],
    ["l'adresse d’aujourd’hui", ['adresse', 'aujourd', 'hui']],
    ['ﬁchier Ｆｕｌｌ ２０２４ x² a b c', ['fichier', 'full', '2024', 'x2']],
    ['jean.dupont@example.com', ['jean', 'dupont', 'example', 'com']],
    ['🙂 ok!!! ok?', ['ok']],
    ['', []],
    ['a 1 é', []],
  ])('%j → %j', (text, tokens) => {
    expect(tokenize(text)).toEqual(tokens);
  });

  it('adds the joined digits of a phone-like number, so a compact query finds any spelling', () => {
    expect(tokenize('Appelez le 06 12 34 56 78')).toEqual(['appelez', 'le', '06', '0612345678', '12', '34', '56', '78']);
    expect(tokenize('+33 6.12.34.56.78')).toContain('33612345678');
    expect(tokenize('06-12-34-56-78')).toContain('0612345678');
    // Not phone-like: two groups, too few digits, a group of 5, or letters glued to the digits.
    expect(tokenize('12 345')).toEqual(['12', '345']);
    expect(tokenize('1 23 45')).toEqual(['23', '45']);
    expect(tokenize('2020 2021')).toEqual(['2020', '2021']);
    expect(tokenize('12345 67890')).toEqual(['12345', '67890']);
    expect(tokenize('A12 34 56 78')).not.toContain('12345678');
  });

  it('cuts long tokens to 32 code points and keeps at most 512 tokens', () => {
    expect(tokenize('x'.repeat(40))).toEqual(['x'.repeat(MAX_TOKEN_LENGTH)]);
    expect(tokenize('𠀀'.repeat(40))[0]).toHaveLength(MAX_TOKEN_LENGTH * 2); // 32 astral code points
    const many = Array.from({ length: 600 }, (_, i) => `w${i}`).join(' ');
    const tokens = tokenize(many);
    expect(tokens).toHaveLength(MAX_TOKENS_PER_TEXT);
    expect(tokens[0]).toBe('w0');
    expect(tokens.at(-1)).toBe('w511');
  });

  // Letters agents and customers type in the languages Relais serves, with their accents.
  const letters = 'abcdefghijklmnopqrstuvwxyzàâäáãåçéèêëíìîïñóòôöõúùûüýÿßœæøłđğışžčřěůőű'.split('');
  const word = fc.array(fc.constantFrom(...letters, ...'0123456789'.split('')), { minLength: 1, maxLength: 12 }).map((cs) => cs.join(''));
  const text = fc.array(fc.tuple(word, fc.constantFrom(' ', ', ', '. ', ' — ', "'", '\n', '!')), { maxLength: 20 })
    .map((parts) => parts.map(([w, sep]) => w + sep).join(''));
  const randomCase = (s: string, flips: boolean[]) => Array.from(s).map((c, i) => (flips[i % flips.length] ? c.toUpperCase() : c)).join('');
  const stripAccents = (s: string) => s.normalize('NFD').replace(/\p{M}/gu, '');

  it('property: case variants give the same tokens', () => {
    fc.assert(fc.property(text, fc.array(fc.boolean(), { minLength: 1 }), (s, flips) => {
      expect(tokenize(randomCase(s, flips))).toEqual(tokenize(s));
      expect(tokenize(s.toUpperCase())).toEqual(tokenize(s));
    }), { numRuns: 500 });
  });

  it('property: accented and unaccented spellings give the same tokens', () => {
    fc.assert(fc.property(text, (s) => {
      expect(tokenize(stripAccents(s))).toEqual(tokenize(s));
      expect(tokenize(s.normalize('NFD'))).toEqual(tokenize(s.normalize('NFC')));
    }), { numRuns: 500 });
  });

  it('property: any text gives distinct, folded tokens of 2–32 letters or digits that tokenize to themselves', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 80 }), (s) => {
      const tokens = tokenize(s);
      expect(new Set(tokens).size).toBe(tokens.length);
      for (const t of tokens) {
        const n = Array.from(t).length;
        expect(n).toBeGreaterThanOrEqual(2);
        expect(n).toBeLessThanOrEqual(MAX_TOKEN_LENGTH);
        expect(t).toMatch(/^[\p{L}\p{N}]+$/u);
        expect(foldText(t)).toBe(t);
        expect(tokenize(t)).toEqual([t]);
      }
    }), { numRuns: 1000 });
  });
});
