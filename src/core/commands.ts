import { and, desc, eq } from 'drizzle-orm';
import type { CustomerKeyStore } from '../archive/customer-keys.js';
import type { KeyRing } from '../archive/keyring.js';
import type { ChatPostRef } from '../chat/platform.js';
import type { Db } from '../db/client.js';
import { customers, outbox, templates } from '../db/schema/index.js';
import type { Logger } from '../log.js';
import { queueTemplate } from './agent-events.js';
import { t, type Language } from './i18n.js';
import { runChatSearch, type ChatSearchDeps } from './search-command.js';
import { formatTime, serviceWindow } from './service-window.js';
import { buildTemplateComponents, describeTemplate, parseTemplateArgs, splitWords, type Template } from './templates.js';

export interface CommandDeps {
  db: Db;
  /** Indexes queued templates for search; `/wa search` needs it too. */
  ring?: KeyRing;
  keys: CustomerKeyStore;
  logger: Logger;
  lang: Language;
  notePrefix: string;
  timeZone?: string;
  enqueueSend(tx: Db, job: { outboxId: string; customerId: string }): Promise<void>;
  /** The archive search (`search`); absent: the command is unknown. */
  search?: ChatSearchDeps['search'];
  /** Which channels a user can read (platforms that can tell); see search-command.ts. */
  visibleChannels?: ChatSearchDeps['visibleChannels'];
}

export interface CommandContext {
  /** The channel the command was typed in. */
  channel: string;
  /** A unique id of this invocation (the post id, or the slash command's trigger id). */
  invocationId: string;
  /** The post the command was typed as (for `!wa`), so a template can thread under it. */
  post?: ChatPostRef;
  /** The platform user who typed it (audited as `chat:<id>`). */
  userId?: string;
  /** The answer is shown to the caller only (slash command); else everyone in the channel reads it. */
  ephemeral?: boolean;
}

/**
 * Runs one `/wa` (or `!wa`) command line and returns the answer for the agent (Markdown).
 * Only `template` has an effect: it queues a template send exactly like an agent post.
 * Never throws for bad input: problems are explained in the answer.
 */
export async function runWaCommand(deps: CommandDeps, ctx: CommandContext, line: string): Promise<string> {
  const words = splitWords(line.trim());
  const sub = (words.shift() ?? 'help').toLowerCase();
  const [customer] = await deps.db.select().from(customers).where(eq(customers.chatChannelId, ctx.channel)).limit(1);
  switch (sub) {
    case 'help':
      return t(deps.lang, 'cmdHelp', { notePrefix: deps.notePrefix });
    case 'templates': {
      const list = await approvedTemplates(deps.db);
      if (!list.length) return t(deps.lang, 'cmdTemplatesNone');
      return [t(deps.lang, 'cmdTemplatesTitle'), ...list.map((x) => `- ${describeTemplate(x)}`)].join('\n');
    }
    case 'status': {
      if (!customer) return t(deps.lang, 'cmdNotCustomerChannel');
      const w = serviceWindow(customer.lastInboundAt);
      const state = w.open ? t(deps.lang, 'windowOpenUntil', { time: formatTime(w.closesAt!, deps.lang, deps.timeZone) }) : t(deps.lang, 'windowClosed');
      const [last] = await deps.db.select().from(outbox)
        .where(and(eq(outbox.customerId, customer.id), eq(outbox.kind, 'text')))
        .orderBy(desc(outbox.createdAt)).limit(1);
      const lastLine = last ? t(deps.lang, 'cmdStatusLast', { state: [last.status ?? last.state, last.errorCode].filter(Boolean).join(', ') }) : t(deps.lang, 'cmdStatusNone');
      return `${t(deps.lang, 'cmdStatusWindow', { state })}\n${lastLine}`;
    }
    case 'template': {
      if (!customer) return t(deps.lang, 'cmdNotCustomerChannel');
      const name = words.shift();
      if (!name) return t(deps.lang, 'cmdTemplateUsage');
      const list = (await approvedTemplates(deps.db)).filter((x) => x.name === name);
      let chosen: Template | undefined;
      if (words[0] && list.some((x) => x.language === words[0])) chosen = list.find((x) => x.language === words.shift());
      else chosen = list.find((x) => x.language.startsWith(deps.lang)) ?? list[0];
      if (!chosen) return t(deps.lang, 'cmdTemplateUnknown', { name, lang: '' });
      const check = buildTemplateComponents(chosen, parseTemplateArgs(words));
      if (!check.ok) return [t(deps.lang, 'cmdTemplateInvalid', { name }), ...check.problems.map((p) => `- ${p}`)].join('\n');
      const outcome = await queueTemplate(deps, { id: customer.id, keyVersion: customer.keyVersion }, {
        sourceKey: `template:${ctx.invocationId}`,
        chatPostId: ctx.post ?? null,
        channel: ctx.channel,
        content: { kind: 'template', name: chosen.name, language: chosen.language, components: check.components, rootPost: undefined, summary: check.summary },
      });
      deps.logger.info({ outcome, template: chosen.name }, 'template command');
      return t(deps.lang, 'cmdTemplateQueued', { name: chosen.name, lang: chosen.language, summary: check.summary });
    }
    case 'search':
      if (!deps.search) return t(deps.lang, 'cmdUnknown', { cmd: sub });
      return runChatSearch({ lang: deps.lang, timeZone: deps.timeZone, search: deps.search, visibleChannels: deps.visibleChannels },
        { customerId: customer?.id, userId: ctx.userId, ephemeral: ctx.ephemeral ?? false }, words.join(' '));
    default:
      return t(deps.lang, 'cmdUnknown', { cmd: sub });
  }
}

async function approvedTemplates(db: Db): Promise<Template[]> {
  const rows = await db.select().from(templates).where(eq(templates.status, 'APPROVED')).orderBy(templates.name, templates.language);
  return rows.map((r) => ({ name: r.name, language: r.language, status: r.status, category: r.category, components: r.components as Template['components'] }));
}

/** Replaces the synced templates (one transaction). */
export async function storeTemplates(db: Db, list: Template[]): Promise<number> {
  await db.transaction(async (tx) => {
    await tx.delete(templates);
    if (list.length) await tx.insert(templates).values(list.map((x) => ({ name: x.name, language: x.language, status: x.status, category: x.category ?? null, components: x.components })));
  });
  return list.length;
}
