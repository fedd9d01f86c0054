/**
 * `rooms.info`, `rooms.delete`, `rooms.media/{rid}` and `rooms.mediaConfirm/{rid}/{fileId}`
 * (apps/meteor/app/api/server/v1/rooms.ts). `rooms.info` uses `findRoomByIdOrName` with its default
 * `checkedArchived = true`, so an archived room answers `error-room-archived` there.
 */
import { MeteorError, failure, forbidden } from '../errors.js';
import { ok, readUploadForm, type Router } from '../http.js';
import { mimeTypeOf } from '../images.js';
import { publicMessage, publicRoom } from '../serialize.js';
import { eraseRoom } from '../rooms.js';
import { confirmUpload, storeUpload } from '../uploads.js';
import type { Deps } from './deps.js';

export function registerRoomRoutes(router: Router, { state, send, uploads }: Deps): void {
  router.add('GET', '/api/v1/rooms.info', (ctx) => {
    const { roomId, roomName } = ctx.query;
    if (!roomId && !roomName) throw new MeteorError('error-roomid-param-not-provided', 'The parameter "roomId" or "roomName" is required');
    const room = roomId ? state.rooms.get(roomId) : state.roomByName(roomName as string);
    if (!room) throw new MeteorError('error-room-not-found', 'The required "roomId" or "roomName" param provided does not match any channel');
    if (room.archived) throw new MeteorError('error-room-archived', `The channel, ${room.name}, is archived`);
    if (!state.canAccessRoom(room, ctx.user._id)) throw failure('not-allowed', 'Not Allowed');
    const team = room.teamId ? state.teams.get(room.teamId) : undefined;
    return ok({
      room: publicRoom(room),
      ...(team && { team: { _id: team._id, name: team.name, type: team.type, roomId: team.roomId } }),
    });
  });

  // eraseRoom directly by id (5.4+): no membership lookup first, so a deleted room is `error-invalid-room`.
  router.add('POST', '/api/v1/rooms.delete', (ctx) => {
    const { roomId } = ctx.body;
    if (typeof roomId !== 'string' || !roomId) throw failure("The 'roomId' param is required");
    eraseRoom(state, ctx.user, roomId);
    return ok();
  });

  const accessible = (rid: string, userId: string) => {
    const room = state.rooms.get(rid);
    return room !== undefined && state.canAccessRoom(room, userId);
  };

  router.add('POST', '/api/v1/rooms.media/{rid}', async (ctx) => {
    const { rid } = ctx.params as { rid: string };
    if (!accessible(rid, ctx.user._id)) throw forbidden();
    const { file, fields } = await readUploadForm(ctx.headers['content-type'], ctx.rawBody, 'file');
    if (fields.content) {
      try {
        JSON.parse(fields.content);
      } catch {
        throw new MeteorError('invalid-field-content');
      }
    }
    const up = storeUpload(state, uploads, ctx.user, rid, { name: file.name, type: mimeTypeOf(file.type, file.name), data: file.data });
    return ok({ file: { _id: up._id, url: up.path } });
  });

  router.add('POST', '/api/v1/rooms.mediaConfirm/{rid}/{fileId}', (ctx) => {
    const { rid, fileId } = ctx.params as { rid: string; fileId: string };
    if (!accessible(rid, ctx.user._id)) throw forbidden();
    const message = confirmUpload(state, uploads, send, ctx.user, rid, fileId, ctx.body);
    return ok({ message: message ? publicMessage(message) : null });
  });
}
