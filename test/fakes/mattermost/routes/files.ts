/** `/files*`: multipart (or raw) upload, download with the bearer token, and file infos. */
import type { FileInfo } from '@mattermost/types/files';
import type { UserProfile } from '@mattermost/types/users';
import { FakeAppError, invalidParam, permissionDenied } from '../errors.js';
import { json, type Ctx, type Router } from '../http.js';
import { type FakeState, newId } from '../state.js';

/** `FileSettings.MaxFileSize` default (100 MB). */
const MAX_FILE_SIZE = 100 * 1024 * 1024;

/**
 * The server derives `mime_type` from the file name's extension (Go `mime.TypeByExtension`), never from
 * the part's Content-Type. This is the subset of Go's table plus the usual system `mime.types` entries
 * that chat attachments use; an unknown extension gives "".
 */
const MIME_BY_EXT: Record<string, string> = {
  png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp',
  svg: 'image/svg+xml', heic: 'image/heic', pdf: 'application/pdf', txt: 'text/plain; charset=utf-8',
  csv: 'text/csv; charset=utf-8', json: 'application/json', zip: 'application/zip',
  mp3: 'audio/mpeg', ogg: 'audio/ogg', oga: 'audio/ogg', opus: 'audio/ogg', m4a: 'audio/mp4', aac: 'audio/aac',
  amr: 'audio/amr', wav: 'audio/wav', mp4: 'video/mp4', '3gp': 'video/3gpp', mov: 'video/quicktime',
  webm: 'video/webm', doc: 'application/msword',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xls: 'application/vnd.ms-excel', xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  ppt: 'application/vnd.ms-powerpoint',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  vcf: 'text/vcard',
};

/** Width and height from a PNG or GIF header (the real server decodes every image). */
function imageSize(data: Uint8Array): { width: number; height: number } {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (b.length >= 24 && b.readUInt32BE(0) === 0x89504e47) return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
  if (b.length >= 10 && b.toString('latin1', 0, 3) === 'GIF') return { width: b.readUInt16LE(6), height: b.readUInt16LE(8) };
  return { width: 0, height: 0 };
}

/** Stores one upload as `user` in `channelId` (app `UploadFileX`). Shared with the test controls. */
export function storeUpload(state: FakeState, user: UserProfile, channelId: string, name: string, data: Uint8Array): FileInfo {
  if (!state.canUseChannel(user, channelId)) throw permissionDenied();
  state.requireChannel(channelId);
  if (data.byteLength > MAX_FILE_SIZE) {
    throw new FakeAppError(413, 'api.file.upload_file.too_large_detailed.app_error', `Unable to upload file ${name}. ${data.byteLength} bytes exceeds the maximum allowed ${MAX_FILE_SIZE} bytes.`);
  }
  const baseName = name.split(/[\\/]/).pop() || 'file';
  const dot = baseName.lastIndexOf('.');
  const extension = dot > 0 ? baseName.slice(dot + 1).toLowerCase() : '';
  const mime = MIME_BY_EXT[extension] ?? '';
  const now = state.now();
  const { width, height } = mime.startsWith('image/') ? imageSize(data) : { width: 0, height: 0 };
  const info: FileInfo = {
    id: newId(),
    user_id: user.id,
    channel_id: channelId,
    post_id: '',
    create_at: now,
    update_at: now,
    delete_at: 0,
    name: baseName,
    extension,
    size: data.byteLength,
    mime_type: mime,
    width,
    height,
    has_preview_image: mime.startsWith('image/') && mime !== 'image/svg+xml',
    clientId: '',
    archived: false,
  };
  state.files.set(info.id, { info, data: new Uint8Array(data) });
  return info;
}

async function parseMultipart(ctx: Ctx): Promise<Array<[string, FormDataEntryValue]>> {
  const type = String(ctx.headers['content-type'] ?? '');
  try {
    const form = await new Response(new Uint8Array(ctx.rawBody), { headers: { 'content-type': type } }).formData();
    const entries: Array<[string, FormDataEntryValue]> = [];
    form.forEach((value, key) => entries.push([key, value]));
    return entries;
  } catch {
    throw new FakeAppError(400, 'api.file.upload_file.read_request.app_error', 'Unable to upload file(s). Error reading or parsing request data.');
  }
}

function readableFile(state: FakeState, ctx: Ctx): { info: FileInfo; data: Uint8Array } {
  const f = state.files.get(ctx.params.file_id as string);
  if (!f || f.info.delete_at !== 0) throw new FakeAppError(404, 'app.file_info.get.app_error', 'Unable to get the file info.');
  const allowed = f.info.user_id === ctx.user.id || (f.info.post_id ? state.canUseChannel(ctx.user, f.info.channel_id) : false);
  if (!allowed) throw permissionDenied();
  return f;
}

export function registerFileRoutes(router: Router, state: FakeState): void {
  // Multipart: form fields are read in order and `channel_id` must come before the first file part,
  // as in api4 uploadFileMultipart. Raw body: `?channel_id=&filename=`.
  router.add('POST', '/api/v4/files', async (ctx) => {
    const type = String(ctx.headers['content-type'] ?? '');
    const infos: FileInfo[] = [];
    const clientIds: string[] = [];
    if (!type.startsWith('multipart/form-data')) {
      const channelId = ctx.query.get('channel_id') ?? '';
      const filename = ctx.query.get('filename') ?? '';
      if (!channelId) throw invalidParam('channel_id');
      if (!filename) throw invalidParam('filename');
      infos.push(storeUpload(state, ctx.user, channelId, filename, ctx.rawBody));
      return json(201, { file_infos: infos, client_ids: [] });
    }
    let channelId = ctx.query.get('channel_id') ?? '';
    const files: Array<{ name: string; data: Uint8Array }> = [];
    for (const [field, value] of await parseMultipart(ctx)) {
      if (typeof value === 'string') {
        if (field === 'channel_id') {
          if (channelId && value && channelId !== value) {
            throw new FakeAppError(400, 'api.file.upload_file.multiple_channel_ids.app_error', 'Unable to upload file(s). Multiple conflicting channel_ids.');
          }
          if (value) channelId = value;
        } else if (field === 'client_ids') clientIds.push(value);
        continue;
      }
      if (!channelId) throw invalidParam('channel_id');
      files.push({ name: value.name, data: new Uint8Array(await value.arrayBuffer()) });
    }
    if (clientIds.length > 0 && clientIds.length !== files.length) {
      throw new FakeAppError(400, 'api.file.upload_file.incorrect_number_of_client_ids.app_error', `Unable to upload file(s). Have ${clientIds.length} client_ids for ${files.length} files.`);
    }
    for (const f of files) infos.push(storeUpload(state, ctx.user, channelId, f.name, f.data));
    return json(201, { file_infos: infos, client_ids: clientIds });
  });

  router.add('GET', '/api/v4/files/{file_id}', (ctx) => {
    const f = readableFile(state, ctx);
    const encoded = encodeURIComponent(f.info.name);
    return {
      status: 200,
      bytes: f.data,
      headers: {
        'Content-Type': f.info.mime_type || 'application/octet-stream',
        'Content-Disposition': `attachment;filename="${f.info.name.replace(/"/g, '')}"; filename*=UTF-8''${encoded}`,
        'X-Content-Type-Options': 'nosniff',
        'Cache-Control': 'max-age=2592000, private',
      },
    };
  });

  router.add('GET', '/api/v4/files/{file_id}/info', (ctx) => json(200, readableFile(state, ctx).info));
}
