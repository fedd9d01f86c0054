/**
 * `/wa search <words>` and `!wa search <words>`: the archive search for agents in the chat.
 *
 * Who sees what: a `!wa` answer is a post every member of the channel reads, so it only ever
 * covers that channel's customer. A `/wa` answer is shown to the caller alone: it covers every
 * conversation whose channel the caller is a member of (asked of the platform before anything is
 * decrypted), or, on a platform that cannot tell, the current channel's customer only.
 * Every search is audited as `chat:<user id>`.
 */
import type { SearchOptions, SearchResult } from '../compliance/search.js';
import { RelaisError } from './errors.js';
import { t, type Language } from './i18n.js';
import { escapeMarkdown } from './render-inbound.js';

/** Results shown in the chat (the CLI and admin API go further). */
export const CHAT_SEARCH_LIMIT = 10;

export interface ChatSearchDeps {
  lang: Language;
  timeZone?: string;
  search(query: string, opts: SearchOptions): Promise<SearchResult[]>;
  /** Of `channels`, those `userId` can read; absent when the platform cannot tell. */
  visibleChannels?(userId: string, channels: string[]): Promise<Set<string>>;
}

export interface ChatSearchContext {
  /** The channel's customer, when typed in a customer channel. */
  customerId?: string;
  userId?: string;
  /** The answer is shown to the caller only (slash command); else the whole channel reads it. */
  ephemeral: boolean;
}

const formatDate = (d: Date, lang: Language, timeZone?: string) =>
  new Intl.DateTimeFormat(lang === 'fr' ? 'fr-FR' : 'en-GB', { dateStyle: 'short', timeStyle: 'short', timeZone }).format(d);

/** Runs one chat search and returns the Markdown answer. Never throws for a bad query: it explains. */
export async function runChatSearch(deps: ChatSearchDeps, ctx: ChatSearchContext, query: string): Promise<string> {
  const { lang } = deps;
  if (!query.trim()) return t(lang, 'cmdSearchUsage');
  const opts: SearchOptions = { actor: `chat:${ctx.userId || 'unknown'}`, limit: CHAT_SEARCH_LIMIT };
  if (!ctx.ephemeral || !deps.visibleChannels || !ctx.userId) {
    if (!ctx.customerId) return t(lang, 'cmdNotCustomerChannel');
    opts.customerId = ctx.customerId;
  } else {
    const userId = ctx.userId;
    const visible = deps.visibleChannels;
    opts.visibleChannels = (channels) => visible(userId, channels);
  }
  let results: SearchResult[];
  try {
    results = await deps.search(query, opts);
  } catch (err) {
    if (err instanceof RelaisError && (err.code === 'search_query_empty' || err.code === 'search_query_too_long')) return t(lang, 'cmdSearchBadQuery');
    throw err;
  }
  if (results.length === 0) return t(lang, opts.customerId ? 'cmdSearchNoneHere' : 'cmdSearchNone');
  const lines = results.map((r) => {
    const who = t(lang, r.direction === 'inbound' ? 'cmdSearchFromCustomer' : 'cmdSearchFromAgent');
    const text = escapeMarkdown(r.text.length > 140 ? `${Array.from(r.text).slice(0, 139).join('')}…` : r.text);
    const when = formatDate(r.at, lang, deps.timeZone);
    return r.chat.link ? `- ${when} · ${who} · [${text}](${r.chat.link})` : `- ${when} · ${who} · ${text}`;
  });
  const title = t(lang, results.length >= CHAT_SEARCH_LIMIT ? 'cmdSearchTitleMore' : 'cmdSearchTitle', { count: results.length });
  return [title, ...lines].join('\n');
}
