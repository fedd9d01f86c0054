import { RelaisError } from '../core/errors.js';

/**
 * `wa-<key>`: the customer channel's name on every platform (valid for Mattermost channel names
 * and Rocket.Chat room names; never the phone number). Throws for a key outside `[a-z0-9]{1,40}`.
 */
export function customerChannelName(key: string): string {
  if (!/^[a-z0-9]{1,40}$/.test(key)) {
    throw new RelaisError('chat_invalid_channel_key', 'Customer channel key must be 1–40 characters of [a-z0-9]', { retryable: false });
  }
  return `wa-${key}`;
}

/** Truncates to `max` code points (platforms count runes), never splitting a surrogate pair, marking the cut with `…`. */
export function truncateRunes(s: string, max: number): string {
  const cps = Array.from(s);
  return cps.length <= max ? s : cps.slice(0, max - 1).join('') + '…';
}

/**
 * The name a customer channel takes when it is retired (archived by erasure): `wa-<key>-r<time>`,
 * base-36 milliseconds. The `wa-<key>` name becomes free, so a later conversation with the same key
 * gets a new channel instead of the retired one being restored. Pure.
 */
export function retiredChannelName(name: string, atMs: number): string {
  return `${name}-r${Math.max(0, Math.floor(atMs)).toString(36)}`;
}

/** Whether `name` is one `retiredChannelName` produced. Pure. */
export function isRetiredChannelName(name: string): boolean {
  return /^wa-[a-z0-9]{1,40}-r[0-9a-z]+$/.test(name);
}
