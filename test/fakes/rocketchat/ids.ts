/** Identifier formats the real server produces. */
import { randomBytes, randomInt } from 'node:crypto';

/** Meteor's `Random.id()` alphabet (no look-alike characters). */
const UNMISTAKABLE = '23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz';

/** `Random.id()`: 17 characters, used for users, messages and subscriptions. */
export function meteorId(length = 17): string {
  let out = '';
  for (let i = 0; i < length; i++) out += UNMISTAKABLE[randomInt(UNMISTAKABLE.length)];
  return out;
}

/** A MongoDB ObjectId as hex (24 characters): what rooms and uploads get on 6.x/7.x servers. */
export function objectIdHex(): string {
  const time = Math.floor(Date.now() / 1000).toString(16).padStart(8, '0');
  return time + randomBytes(8).toString('hex');
}

/** `Random.secret()`: 43 characters, the shape of login tokens and personal access tokens. */
export function loginToken(): string {
  return randomBytes(32).toString('base64url').slice(0, 43);
}
