/**
 * Messages (apps/meteor/app/api/server/v1/chat.ts): sendMessage, getMessage, react, update, delete
 * and syncMessages. `chat.sendMessage` with an `_id` that already exists inserts nothing and answers
 * `400 {"success":false,"error":"Cannot read properties of undefined (reading 'starred')"}` — the
 * TypeError `normalizeMessagesForUser` throws on the `undefined` the insert path returns.
 */
import { MeteorError, failure } from '../errors.js';
import { syncSince } from '../history.js';
import { ok, type Router } from '../http.js';
import { deleteMessage, executeSendMessage, updateMessage } from '../messages.js';
import { executeSetReaction } from '../reactions.js';
import { publicMessage } from '../serialize.js';
import type { Deps } from './deps.js';

export function registerChatRoutes(router: Router, { state, send }: Deps): void {
  router.add('POST', '/api/v1/chat.sendMessage', (ctx) => {
    const message = ctx.body.message;
    if (!message || typeof message !== 'object' || Array.isArray(message)) {
      throw new MeteorError('invalid-params', "must have required property 'message'");
    }
    const m = message as Record<string, unknown>;
    if (typeof m.t === 'string' && m.t !== 'e2e') throw new Error("Cannot send system messages using 'chat.sendMessage'");
    const sent = executeSendMessage(state, ctx.user, m, send);
    if (!sent) throw new TypeError("Cannot read properties of undefined (reading 'starred')");
    return ok({ message: publicMessage(sent) });
  });

  router.add('GET', '/api/v1/chat.getMessage', (ctx) => {
    const { msgId } = ctx.query;
    if (!msgId) throw failure('The "msgId" query parameter must be provided.');
    const msg = state.messages.get(msgId);
    if (!msg) throw failure();
    const room = state.rooms.get(msg.rid);
    if (!room || !state.canAccessRoom(room, ctx.user._id)) throw new MeteorError('error-action-not-allowed', 'Not allowed');
    return ok({ message: publicMessage(msg) });
  });

  router.add('POST', '/api/v1/chat.react', (ctx) => {
    const b = ctx.body;
    const msg = typeof b.messageId === 'string' ? state.messages.get(b.messageId) : undefined;
    if (!msg) throw new MeteorError('error-message-not-found', 'The provided "messageId" does not match any existing message.');
    const emoji = 'emoji' in b ? b.emoji : b.reaction;
    if (!emoji || typeof emoji !== 'string') throw new MeteorError('error-emoji-param-not-provided', 'The required "emoji" param is missing.');
    const shouldReact = typeof b.shouldReact === 'boolean' ? b.shouldReact : undefined;
    executeSetReaction(state, ctx.user, emoji, msg._id, shouldReact);
    return ok();
  });

  router.add('POST', '/api/v1/chat.update', (ctx) => {
    const b = ctx.body;
    for (const k of ['roomId', 'msgId', 'text']) {
      if (typeof b[k] !== 'string') throw new MeteorError('invalid-params', `must have required property '${k}'`);
    }
    const msg = state.messages.get(b.msgId as string);
    if (!msg) throw failure(`No message found with the id of "${String(b.msgId)}".`);
    if (b.roomId !== msg.rid) throw failure('The room id provided does not match where the message is from.');
    const custom = b.customFields && typeof b.customFields === 'object' ? (b.customFields as Record<string, unknown>) : undefined;
    if (custom && !send.customFieldsEnabled) throw new Error('Custom fields not enabled');
    return ok({ message: publicMessage(updateMessage(state, ctx.user, msg, b.text as string, custom)) });
  });

  router.add('POST', '/api/v1/chat.delete', (ctx) => {
    const b = ctx.body;
    for (const k of ['roomId', 'msgId']) {
      if (typeof b[k] !== 'string') throw new MeteorError('invalid-params', `must have required property '${k}'`);
    }
    const msg = state.messages.get(b.msgId as string);
    if (!msg) throw failure(`No message found with the id of "${String(b.msgId)}".`);
    if (b.roomId !== msg.rid) throw failure('The room id provided does not match where the message is from.');
    const asUser = b.asUser === true;
    if (asUser && msg.u._id !== ctx.user._id && !state.hasPermission(ctx.user._id, 'force-delete-message', msg.rid)) {
      throw failure('Unauthorized. You must have the permission "force-delete-message" to delete other\'s message as them.');
    }
    const actor = asUser ? (state.users.get(msg.u._id) ?? ctx.user) : ctx.user;
    deleteMessage(state, actor, msg);
    return ok({ _id: msg._id, ts: Date.now().toString(), message: { _id: msg._id, rid: msg.rid, u: msg.u } });
  });

  router.add('GET', '/api/v1/chat.syncMessages', (ctx) => {
    const { roomId, lastUpdate, type } = ctx.query;
    if (!roomId) throw new MeteorError('error-param-required', 'The required "roomId" query param is missing');
    if (!lastUpdate && !type) throw new MeteorError('error-param-required', 'The "type" or "lastUpdate" parameters must be provided');
    if (lastUpdate && Number.isNaN(Date.parse(lastUpdate))) {
      throw new MeteorError('error-lastUpdate-param-invalid', 'The "lastUpdate" query parameter must be a valid date');
    }
    if (!lastUpdate) throw new MeteorError('error-param-required', 'fake: only "lastUpdate" synchronisation is implemented');
    const room = state.rooms.get(roomId);
    if (!room || !state.canAccessRoom(room, ctx.user._id)) throw failure();
    const { updated, deleted } = syncSince(state, roomId, new Date(lastUpdate));
    return ok({ result: { updated: updated.map(publicMessage), deleted } });
  });
}
