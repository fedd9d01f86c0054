import { eq } from 'drizzle-orm';
import type { ChatChannelRef, ChatPlatform, ChatPostRef } from '../chat/platform.js';
import type { Db } from '../db/client.js';
import { outbox } from '../db/schema/index.js';
import { describeGraphError } from '../whatsapp/error-codes.js';
import { t, type Language } from './i18n.js';
import { INDICATORS } from './outbound-content.js';

/**
 * Shows the delivery state of an agent's message on the agent's own post, as one reaction by the
 * bot (☑️ sent, ✅ delivered, 👀 read, ❌ failed) — visible at a glance without editing the
 * agent's text. Statuses are monotonic in the database, so this only ever moves forward. When a
 * message fails after it was accepted (e.g. 131047 arriving as a status webhook), the agents get a
 * notice in the thread, once. Idempotent; network I/O to the chat platform.
 */
export function createIndicatorUpdater(deps: { db: Db; platform: ChatPlatform; lang: Language }) {
  return async function showIndicator(outboxId: string): Promise<void> {
    const [row] = await deps.db.select().from(outbox).where(eq(outbox.id, outboxId)).limit(1);
    if (!row?.chatPostId || !row.status) return;
    const wanted = INDICATORS[row.status];
    if (!wanted || wanted === row.indicator) return;
    const post = row.chatPostId as ChatPostRef;
    if (row.indicator) await deps.platform.setReaction(post, row.indicator, false);
    await deps.platform.setReaction(post, wanted, true);
    await deps.db.update(outbox).set({ indicator: wanted }).where(eq(outbox.id, row.id));
    if (row.status === 'failed' && row.state === 'sent') {
      // Failed after WhatsApp accepted it: only the status webhook tells us.
      const info = describeGraphError(row.statusErrorCode ?? undefined);
      const hint = info?.agentHint[deps.lang] ?? t(deps.lang, 'sendFailedGeneric');
      await deps.platform.postNotice(row.chatChannelId as ChatChannelRef, `:x: ${t(deps.lang, 'sendFailed')} ${hint}${row.statusErrorCode ? ` (${row.statusErrorCode})` : ''}`, post);
    }
  };
}
