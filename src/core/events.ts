/**
 * The closed list of domain event names, shared by plugins, metrics labels and log fields.
 * Adding an event means adding it here; nothing else may invent one.
 */
export const EVENT_NAMES = [
  'message.inbound',
  'message.relayed',
  'message.outbound',
  'message.status',
  'conversation.opened',
  'conversation.resolved',
  'webhook.quarantined',
] as const;

export type EventName = (typeof EVENT_NAMES)[number];
