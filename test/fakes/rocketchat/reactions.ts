/**
 * `executeSetReaction` (apps/meteor/app/reactions/server/setReaction.ts): the reaction is normalised
 * to `:name:` and must be a known shortcode; without `shouldReact` the call toggles. The changed
 * message is broadcast on `stream-room-messages` with its whole `reactions` map.
 */
import { emojiShortcodes, normaliseReaction } from './emoji.js';
import { MeteorError } from './errors.js';
import type { FakeState, UserDoc } from './state.js';

export function executeSetReaction(state: FakeState, user: UserDoc, reactionIn: string, messageId: string, shouldReactIn?: boolean): void {
  const reaction = normaliseReaction(reactionIn);
  if (!emojiShortcodes().has(reaction)) {
    throw new MeteorError('error-not-allowed', 'Invalid emoji provided.', { method: 'setReaction' });
  }
  const message = state.messages.get(messageId);
  if (!message) throw new MeteorError('error-not-allowed', 'Not allowed', { method: 'setReaction' });

  const already = Boolean(message.reactions?.[reaction]?.usernames.includes(user.username));
  const shouldReact = shouldReactIn === undefined ? !already : shouldReactIn;
  if (already === shouldReact) return;

  const room = state.rooms.get(message.rid);
  if (!room) throw new MeteorError('error-not-allowed', 'Not allowed', { method: 'setReaction' });
  if (!state.canAccessRoom(room, user._id)) throw new MeteorError('not-authorized', 'Not Authorized', { method: 'setReaction' });
  if (room.ro && !state.hasPermission(user._id, 'post-readonly', room._id)) {
    throw new Error("You can't send messages because the room is readonly.");
  }

  if (already) {
    const entry = message.reactions?.[reaction];
    if (entry) {
      entry.usernames = entry.usernames.filter((u) => u !== user.username);
      if (entry.usernames.length === 0) delete message.reactions?.[reaction];
    }
    if (message.reactions && Object.keys(message.reactions).length === 0) delete message.reactions;
  } else {
    message.reactions ??= {};
    message.reactions[reaction] ??= { usernames: [] };
    message.reactions[reaction].usernames.push(user.username);
  }
  message._updatedAt = new Date();
  if (room.lastMessage?._id === message._id) room.lastMessage = structuredClone(message);
  state.emit({ kind: 'message', message });
}
