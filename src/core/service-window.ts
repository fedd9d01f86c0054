/** WhatsApp's customer service window: 24 hours after the customer's last message. */
export const SERVICE_WINDOW_MS = 24 * 3600 * 1000;

export interface WindowState {
  open: boolean;
  /** When the window closes (or closed); undefined when the customer never wrote. */
  closesAt?: Date;
}

/**
 * Whether free-form messages may be sent now. Only inbound customer messages open or refresh the
 * window; outbound messages, templates and receipts never extend it. Pure.
 */
export function serviceWindow(lastInboundAt: Date | null | undefined, now: Date = new Date()): WindowState {
  if (!lastInboundAt) return { open: false };
  const closesAt = new Date(lastInboundAt.getTime() + SERVICE_WINDOW_MS);
  return { open: now < closesAt, closesAt };
}

/** "HH:MM" in the deployment's time zone (TZ), for channel headers and notices. */
export function formatTime(d: Date, lang: string, timeZone?: string): string {
  return new Intl.DateTimeFormat(lang === 'fr' ? 'fr-FR' : 'en-GB', { hour: '2-digit', minute: '2-digit', timeZone }).format(d);
}
