/**
 * The search tokenizer: turns message text (and, identically, a search query) into the words the
 * blind index stores. Pure, no I/O, deterministic across Node versions (Unicode data aside).
 * docs/search.md explains the rules to operators; changing any rule changes the stored index, so
 * bump `TOKENIZER_VERSION` and run `relais search reindex`.
 *
 * Rules, in order:
 * 1. Unicode NFKD (compatibility decomposition: "ﬁ" → "fi", "Nº" → "No", full-width and
 *    superscript digits → ASCII digits), lower-case, NFKD again (lower-casing can compose).
 * 2. Combining marks removed (é → e, ñ → n, ç → c, İ → i).
 * 3. Letters that do not decompose are folded: ß → ss, œ → oe, æ → ae, ø → o, đ/ð → d, þ → th,
 *    ł → l, ı → i, ħ → h, ŧ → t, ĸ → k, final sigma ς → σ.
 * 4. A token is a maximal run of letters and digits (Unicode categories L and N): everything
 *    else (spaces, punctuation, apostrophes, symbols, emoji) separates tokens. No stop words, so
 *    the index stays language-neutral.
 * 5. Tokens shorter than 2 characters are dropped; longer than 32 are cut to their first 32.
 * 6. Phone-like digit groups ("06 12 34 56 78", "+33 6 12-34-56-78", "0612 345 678"): 3 or more
 *    groups of 1–4 digits separated by one space, dot or dash, 6–15 digits in all, also give the
 *    joined digits ("0612345678") as a token. A query typed without separators therefore finds
 *    the number however it was written.
 * 7. Duplicates are dropped (first occurrence kept); at most 512 tokens per text.
 *
 * Scripts written without spaces (Chinese, Japanese, Thai) become one token per run of
 * characters: a word inside such a run is not findable on its own.
 */

/** Bump when any rule above changes (the stored index must then be rebuilt). */
export const TOKENIZER_VERSION = 1;
export const MIN_TOKEN_LENGTH = 2;
export const MAX_TOKEN_LENGTH = 32;
export const MAX_TOKENS_PER_TEXT = 512;

const FOLDS: Record<string, string> = {
  'ß': 'ss', 'œ': 'oe', 'æ': 'ae', 'ø': 'o', 'đ': 'd', 'ð': 'd', 'þ': 'th',
  'ł': 'l', 'ı': 'i', 'ħ': 'h', 'ŧ': 't', 'ĸ': 'k', 'ς': 'σ',
};
const FOLD_RE = new RegExp(`[${Object.keys(FOLDS).join('')}]`, 'gu');
const MARKS_RE = /\p{M}+/gu;
const TOKEN_RE = /[\p{L}\p{N}]+/gu;
/** Digit groups joined by single separators (rule 6), on the folded text. */
const DIGIT_GROUPS_RE = /(?<![\p{L}\p{N}])\d{1,4}(?:[ .-]\d{1,4}){2,}(?![\p{L}\p{N}])/gu;

/** Rules 1–3: the folded form of `text`, in which tokens are looked for. Pure. */
export function foldText(text: string): string {
  return text.normalize('NFKD').toLowerCase().normalize('NFKD').replace(MARKS_RE, '').replace(FOLD_RE, (c) => FOLDS[c]!);
}

function clip(token: string): string {
  // Tokens are compared by code points, never by UTF-16 units (no split surrogate pair).
  if (token.length <= MAX_TOKEN_LENGTH) return token;
  const cps = Array.from(token);
  return cps.length <= MAX_TOKEN_LENGTH ? token : cps.slice(0, MAX_TOKEN_LENGTH).join('');
}

/**
 * The distinct tokens of `text`, in order of first appearance, at most `MAX_TOKENS_PER_TEXT`.
 * Used for message text when indexing and for queries when searching. Pure; never throws.
 */
export function tokenize(text: string): string[] {
  if (typeof text !== 'string' || text.length === 0) return [];
  const folded = foldText(text);
  const out = new Set<string>();
  const add = (raw: string) => {
    if (out.size >= MAX_TOKENS_PER_TEXT) return;
    const token = clip(raw);
    if (Array.from(token).length >= MIN_TOKEN_LENGTH) out.add(token);
  };
  // Joined numbers come right after the group they start, so caps keep them with their parts.
  const joinedAt = new Map<number, string>();
  for (const m of folded.matchAll(DIGIT_GROUPS_RE)) {
    const digits = m[0].replace(/[ .-]/g, '');
    if (digits.length >= 6 && digits.length <= 15) joinedAt.set(m.index, digits);
  }
  for (const m of folded.matchAll(TOKEN_RE)) {
    add(m[0]);
    const joined = joinedAt.get(m.index);
    if (joined) add(joined);
  }
  return [...out];
}
