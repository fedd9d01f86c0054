/**
 * The emoji shortcodes `setReaction` accepts. Rocket.Chat checks `emoji.list[':name:']` (its
 * JoyPixels table, skin tones as `_tone1`…`_tone5`); the fake builds the equivalent table from the
 * `emoji-datasource` short names already installed as a dev dependency. A Unicode character such as
 * `👍` is not a key of that table, so it is refused as on the real server ("Invalid emoji provided.").
 */
import { createRequire } from 'node:module';

interface EmojiEntry {
  short_names?: string[];
  skin_variations?: Record<string, unknown>;
}

let cache: Set<string> | undefined;

export function emojiShortcodes(): Set<string> {
  if (cache) return cache;
  const require = createRequire(import.meta.url);
  const list = require('emoji-datasource/emoji.json') as EmojiEntry[];
  const out = new Set<string>();
  for (const e of list) {
    for (const name of e.short_names ?? []) {
      out.add(`:${name}:`);
      if (e.skin_variations) for (let t = 1; t <= 5; t++) out.add(`:${name}_tone${t}:`);
    }
  }
  cache = out;
  return out;
}

/** Normalises like `executeSetReaction`: strip every colon, wrap in colons. */
export function normaliseReaction(reaction: string): string {
  return `:${reaction.replace(/:/g, '')}:`;
}
