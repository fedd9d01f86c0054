/**
 * `GET /file-upload/{fileId}/{name}` — the web app's file handler, not REST v1. With the defaults
 * (`FileUpload_ProtectFiles` on, `FileUpload_Restrict_to_room_members` on) it needs `rc_uid` +
 * `rc_token` (query string, then cookies) or `X-User-Id` + `X-Auth-Token`, from a member of the
 * file's room; otherwise it answers **403 with an empty body** (FileUpload.requestCanAccessFiles), and
 * 404 for an unknown id. The name segment is not checked: only the id selects the file.
 */
import { cookie, type Reply, type Router } from '../http.js';
import type { Deps } from './deps.js';

export function registerFileRoutes(router: Router, { state }: Deps): void {
  router.add(
    'GET',
    '/file-upload/{fileId}/{name}',
    (ctx): Reply => {
      const file = state.uploads.get(ctx.params.fileId as string);
      if (!file) return { status: 404, bytes: Buffer.alloc(0), headers: {} };
      let uid = ctx.query.rc_uid;
      let token = ctx.query.rc_token;
      if (!uid) {
        uid = cookie(ctx.headers, 'rc_uid');
        token = cookie(ctx.headers, 'rc_token');
      }
      uid ||= ctx.headers['x-user-id'] as string | undefined;
      token ||= ctx.headers['x-auth-token'] as string | undefined;
      const user = state.authenticate(uid, token);
      if (!user || !state.sub(file.rid, user._id)) return { status: 403, bytes: Buffer.alloc(0), headers: {} };
      const disposition = 'download' in ctx.query ? 'attachment' : 'inline';
      return {
        status: 200,
        bytes: file.data,
        headers: {
          'Content-Type': file.type || 'application/octet-stream',
          'Content-Length': String(file.data.length),
          'Content-Disposition': `${disposition}; filename="${encodeURI(file.name)}"`,
          'Content-Security-Policy': "default-src 'none'",
          'Cache-Control': 'max-age=31536000',
          'Last-Modified': file.uploadedAt.toUTCString(),
        },
      };
    },
    { auth: false },
  );
}
