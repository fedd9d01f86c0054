/**
 * The system emoji names the fake's server accepts for reactions, built the way Mattermost builds
 * `model.SystemEmojis` (webapp `make_emojis.mjs`): every short name of emoji-datasource 6.1.1, skin-tone
 * variants `<short name>_<tone>_skin_tone` for every short name, the backwards-compatibility aliases of
 * `shared/mattermost/emoji-additional-shortnames.json` (looked up by primary short name), and `mattermost`.
 *
 * Deliberately independent of `src/chat/mattermost/emoji-names.json`, so the adapter's table is checked
 * against a second derivation rather than against itself.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

interface DatasourceEmoji {
  short_name: string;
  short_names: string[];
  skin_variations?: Record<string, unknown>;
}

const TONES: Record<string, string> = {
  '1F3FB': 'light_skin_tone', '1F3FC': 'medium_light_skin_tone', '1F3FD': 'medium_skin_tone',
  '1F3FE': 'medium_dark_skin_tone', '1F3FF': 'dark_skin_tone',
};

export interface SystemEmojiNames {
  names: Set<string>;
  /** False when the shared alias file was absent: names that only exist as aliases are then refused. */
  aliasesLoaded: boolean;
}

export function loadSystemEmojiNames(aliasesFile: string): SystemEmojiNames {
  const require = createRequire(import.meta.url);
  const data = require('emoji-datasource/emoji.json') as DatasourceEmoji[];
  const aliasesLoaded = existsSync(aliasesFile);
  const aliases: Record<string, string[]> = aliasesLoaded ? JSON.parse(readFileSync(aliasesFile, 'utf8')) : {};
  const names = new Set<string>(['mattermost']);
  const add = (primary: string, all: string[]): void => {
    for (const n of all) names.add(n);
    for (const n of aliases[primary] ?? []) names.add(n);
  };
  for (const e of data) {
    add(e.short_name, e.short_names);
    for (const code of Object.keys(e.skin_variations ?? {})) {
      const tone = code.split('-').map((c) => TONES[c] ?? 'null').join('_');
      add(`${e.short_name}_${tone}`, e.short_names.map((n) => `${n}_${tone}`));
    }
  }
  return { names, aliasesLoaded };
}
