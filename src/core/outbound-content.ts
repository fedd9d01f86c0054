import type { ChatFileRef, ChatPostRef } from '../chat/platform.js';

/** What an outbox row asks to send, sealed in `outbox.content_enc`. */
export type OutboundContent =
  | { kind: 'text'; text: string; rootPost?: ChatPostRef }
  | { kind: 'media'; text: string; files: ChatFileRef[]; rootPost?: ChatPostRef }
  | { kind: 'reaction'; targetMessageId: string; emoji: string /* '' removes */ }
  | { kind: 'template'; name: string; language: string; components: unknown[]; rootPost?: ChatPostRef; summary: string };

/** Delivery indicator shown on the agent's post, as a reaction by the bot (Unicode emoji). */
export const INDICATORS: Record<string, string> = {
  sent: '☑️',
  delivered: '✅',
  read: '👀',
  played: '👀',
  failed: '❌',
};
