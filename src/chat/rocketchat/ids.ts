/**
 * Deterministic message ids. `chat.sendMessage` accepts a caller-chosen `_id` and inserts nothing when
 * a message with that id exists, so deriving the id from Relais' own id makes a re-sent post a no-op.
 * The id is a SHA-256 of `relais:<relaisId>:<part>` written in the 55-letter alphabet of Meteor's
 * `Random.id()` (17 characters, about 98 bits): it looks like any other message id, reveals nothing
 * (the relais id is a UUID; no number or wamid ever enters it) and two parts of one message differ.
 * Pure, no I/O.
 */
import { createHash } from 'node:crypto';

const ALPHABET = '23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz';
export const MESSAGE_ID_LENGTH = 17;

/** The `_id` of text part `part` (0 = the message's anchor) of Relais message `relaisId`. */
export function messageIdFor(relaisId: string, part = 0): string {
  const digest = createHash('sha256').update(`relais:${relaisId}:${part}`, 'utf8').digest();
  let n = BigInt(`0x${digest.toString('hex')}`);
  const base = BigInt(ALPHABET.length);
  let out = '';
  for (let i = 0; i < MESSAGE_ID_LENGTH; i++) {
    out += ALPHABET[Number(n % base)];
    n /= base;
  }
  return out;
}

/** `integration id` of the `bot` marker Relais puts on its messages. */
export const RELAIS_BOT_ID = 'relais';
