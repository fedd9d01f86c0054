/**
 * Uploads: `rooms.media` stores a temporary file (expires in 24 h unless confirmed), and
 * `rooms.mediaConfirm` turns it into a message through `sendFileMessage` →
 * `parseFileIntoMessageAttachments` (apps/meteor/app/file-upload/server/methods/sendFileMessage.ts):
 * `file`, `files` and one attachment whose `title_link` is the original. Images at least as large as
 * the thumbnail box (480×360 by default) also get a thumbnail upload named `thumb-<name>`, listed second
 * in `files` and referenced by the attachment's `image_url` (`/file-upload/<thumbId>/<original name>`),
 * so only `title_link` / `file._id` lead to the original bytes.
 */
import { MeteorError } from './errors.js';
import { objectIdHex } from './ids.js';
import { extensionOf, fitInside, identifyImage, synthImage } from './images.js';
import { executeSendMessage, type SendOptions } from './messages.js';
import type { FakeState, FileProp, MessageDoc, UploadDoc, UserDoc } from './state.js';

export interface UploadSettings {
  /** `FileUpload_MaxFileSize` (default 100 MiB). */
  maxFileSize: number;
  /** `Message_Attachments_Thumbnails_Width/Height`; `false` turns thumbnails off. */
  thumbnails: { width: number; height: number } | false;
}

/** `FileUpload.getPath(`${id}/${encodeURI(name)}`)`. */
export function filePath(id: string, name: string): string {
  return `/file-upload/${id}/${encodeURI(name)}`;
}

const IMAGE_TYPES = /^image\/((x-windows-)?bmp|p?jpeg|png|gif|webp)$/;

function newUpload(state: FakeState, f: { name: string; type: string; data: Buffer; rid: string; userId: string; typeGroup?: string; originalFileId?: string }): UploadDoc {
  const now = new Date();
  const _id = objectIdHex();
  const identify = IMAGE_TYPES.test(f.type) ? identifyImage(f.data) : undefined;
  const up: UploadDoc = {
    _id,
    name: f.name,
    size: f.data.length,
    type: f.type,
    rid: f.rid,
    userId: f.userId,
    uploadedAt: now,
    _updatedAt: now,
    complete: true,
    confirmed: false,
    typeGroup: f.typeGroup ?? (f.type.split('/')[0] || 'application'),
    ...(identify && { identify }),
    ...(f.originalFileId && { originalFileId: f.originalFileId }),
    path: filePath(_id, f.name),
    url: filePath(_id, f.name),
    data: f.data,
  };
  state.uploads.set(_id, up);
  return up;
}

/** `rooms.media`: validates like the `Uploads` store filter, then keeps a temporary upload. */
export function storeUpload(state: FakeState, settings: UploadSettings, user: UserDoc, rid: string, file: { name: string; type: string; data: Buffer }): UploadDoc {
  if (settings.maxFileSize >= 0 && file.data.length > settings.maxFileSize) {
    throw new MeteorError('error-file-too-large', `File exceeds allowed size of ${settings.maxFileSize} bytes`);
  }
  if (file.type === 'image/svg+xml') throw new MeteorError('error-invalid-file-type', 'File type is not accepted.');
  const up = newUpload(state, { ...file, rid, userId: user._id });
  up.expiresAt = new Date(Date.now() + 24 * 3600 * 1000);
  return up;
}

function fileProp(f: UploadDoc): FileProp {
  return { _id: f._id, name: f.name, type: f.type, size: f.size, format: f.identify?.format ?? '', typeGroup: f.typeGroup };
}

/** `parseFileIntoMessageAttachments`. Creates the thumbnail upload for large enough images. */
export function fileAttachments(state: FakeState, settings: UploadSettings, file: UploadDoc, user: UserDoc): { files: FileProp[]; attachments: Record<string, unknown>[] } {
  const fileUrl = filePath(file._id, file.name);
  const files: FileProp[] = [fileProp(file)];
  const base = { title: file.name, type: 'file', description: file.description, title_link: fileUrl, title_link_download: true, fileId: file._id };
  if (/^image\/.+/.test(file.type)) {
    const a: Record<string, unknown> = { ...base, image_url: fileUrl, image_type: file.type, image_size: file.size };
    const id = file.identify;
    if (id) {
      a.image_dimensions = id.size;
      a.image_preview = synthImage('jpeg', ...dims(fitInside(id.size, { width: 32, height: 32 }))).toString('base64');
      const box = settings.thumbnails;
      if (box && !(id.size.height < box.height && id.size.width < box.width)) {
        const t = fitInside(id.size, box);
        const thumb = newUpload(state, {
          name: `thumb-${file.name}`,
          type: file.type,
          data: synthImage(id.format, t.width, t.height),
          rid: file.rid,
          userId: user._id,
          typeGroup: 'thumb',
          originalFileId: file._id,
        });
        thumb.confirmed = true;
        thumb.identify = { format: id.format, size: t };
        a.image_url = filePath(thumb._id, file.name);
        a.image_type = thumb.type;
        a.image_dimensions = t;
        files.push(fileProp(thumb));
      }
    }
    return { files, attachments: [a] };
  }
  if (/^audio\/.+/.test(file.type)) return { files, attachments: [{ ...base, audio_url: fileUrl, audio_type: file.type, audio_size: file.size }] };
  if (/^video\/.+/.test(file.type)) return { files, attachments: [{ ...base, video_url: fileUrl, video_type: file.type, video_size: file.size }] };
  return { files, attachments: [{ ...base, format: extensionOf(file.name), size: file.size }] };
}

function dims(s: { width: number; height: number }): [number, number] {
  return [s.width, s.height];
}

const MSG_DATA_KEYS = new Set(['avatar', 'emoji', 'alias', 'groupable', 'msg', 'tmid', 'customFields', 't', 'content']);

/**
 * `rooms.mediaConfirm/{rid}/{fileId}` after the route's access check: `invalid-file` unless the
 * upload exists and was made by this user in this room; then the file message goes through the
 * ordinary insert path and the upload stops being temporary.
 */
export function confirmUpload(
  state: FakeState,
  settings: UploadSettings,
  sendOpts: SendOptions,
  user: UserDoc,
  rid: string,
  fileId: string,
  body: Record<string, unknown>,
): MessageDoc | null {
  const file = state.uploads.get(fileId);
  if (!file || file.rid !== rid || file.userId !== user._id || file.typeGroup === 'thumb') throw new MeteorError('invalid-file');
  const { description, fileName, ...msgData } = body;
  if (typeof description === 'string' && description.length > state.maxMessageSize) throw new MeteorError('error-message-size-exceeded');
  file.description = typeof description === 'string' ? description : undefined;
  if (typeof fileName === 'string' && fileName) {
    file.name = fileName;
    file.path = file.url = filePath(file._id, fileName);
  }
  for (const k of Object.keys(msgData)) if (!MSG_DATA_KEYS.has(k)) throw new Error(`Match error: Unknown key in field ${k}`);
  if (msgData.customFields !== undefined && typeof msgData.customFields !== 'string') throw new Error('Match error: Expected string, got object in field customFields');
  const data: Record<string, unknown> = { ...msgData, rid, ts: new Date(), msg: typeof msgData.msg === 'string' ? msgData.msg : '' };
  if (typeof msgData.customFields === 'string') data.customFields = JSON.parse(msgData.customFields);
  const { files, attachments } = fileAttachments(state, settings, file, user);
  const sent = executeSendMessage(state, user, data, sendOpts, {
    groupable: msgData.groupable === true,
    file: files[0],
    files,
    attachments,
  });
  file.confirmed = true;
  delete file.expiresAt;
  return sent ?? [...state.messages.values()].find((m) => m.file?._id === file._id && m.u._id === user._id) ?? null;
}
