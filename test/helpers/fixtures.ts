import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** ../shared/fixtures/whatsapp beside the repository (absent in some checkouts: tests then skip visibly). */
export const FIXTURES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/fixtures/whatsapp');
export const HAVE_FIXTURES = existsSync(FIXTURES_DIR);

export function fixtureNames(): string[] {
  return HAVE_FIXTURES ? readdirSync(FIXTURES_DIR).filter((f) => f.endsWith('.json')).sort() : [];
}

/** The exact bytes of a fixture (signatures are computed over bytes, never re-serialised JSON). */
export function fixtureBytes(name: string): Uint8Array {
  return new Uint8Array(readFileSync(path.join(FIXTURES_DIR, name)));
}

/**
 * A fixture with every wamid made unique to `tag` (Meta's samples reuse one wamid across types,
 * which would be deduplicated). References (context.id, reaction.message_id) are rewritten the
 * same way, so they still point at each other inside one fixture.
 */
export function fixtureWithUniqueIds(name: string, tag: string): string {
  const text = readFileSync(path.join(FIXTURES_DIR, name), 'utf8');
  return text.replace(/"(wamid\.[A-Za-z0-9_=+/.-]+)"/g, (_m, id: string) => `"${id}.${tag}"`);
}
