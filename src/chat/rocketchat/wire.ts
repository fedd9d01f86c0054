/**
 * The few Rocket.Chat wire shapes this adapter reads (REST v1 JSON and DDP `stream-room-messages`
 * payloads), declared loosely: servers add fields between versions, and only what is listed here is
 * relied upon. These types never leave `chat/rocketchat/`.
 */

/** A user reference inside a message (`u`). */
export interface RcUserRef {
  _id: string;
  username?: string;
  name?: string;
}

/** One entry of `message.files` (the original first; image thumbnails follow with typeGroup `thumb`). */
export interface RcFileProp {
  _id: string;
  name?: string;
  type?: string;
  size?: number;
  typeGroup?: string;
}

/** A message attachment; file messages have one per file (`title_link` points at the original). */
export interface RcAttachment {
  title?: string;
  title_link?: string;
  image_url?: string;
  type?: string;
  fileId?: string;
  image_type?: string;
  image_size?: number;
  audio_type?: string;
  audio_size?: number;
  video_type?: string;
  video_size?: number;
  size?: number;
  format?: string;
}

/** The marker Relais puts on the messages it posts (`message.bot`, kept by the server as sent). */
export interface RelaisBotMarker {
  i: string;
  /** Relais' own id of the message (a UUID, never a wamid). */
  relaisId?: string;
  /** Which text part this message is, and how many there are. */
  part?: number;
  parts?: number;
  /** Ids of the uploads confirmed after the first part, one message each (first part only). */
  files?: string[];
  /** Set on notices (errors, window closed…). */
  notice?: boolean;
}

/** A message as REST answers it (dates as ISO strings) or DDP streams it (dates as `{$date}`). */
export interface RcMessage {
  _id: string;
  rid: string;
  msg?: string;
  /** A system message type (`uj`, `au`, `room_changed_topic`…); absent for user messages. */
  t?: string;
  ts: unknown;
  _updatedAt?: unknown;
  editedAt?: unknown;
  u: RcUserRef;
  tmid?: string;
  file?: RcFileProp;
  files?: RcFileProp[];
  attachments?: RcAttachment[];
  reactions?: Record<string, { usernames: string[] }>;
  bot?: Partial<RelaisBotMarker> & Record<string, unknown>;
  tcount?: number;
}

/** A room as `groups.info` / `groups.create` answer it. */
export interface RcRoom {
  _id: string;
  name: string;
  fname?: string;
  t: string;
  topic?: string;
  announcement?: string;
  description?: string;
  archived?: boolean;
}

/** REST or EJSON date → ms since epoch (NaN when unreadable). */
export function dateMs(value: unknown): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'string' || typeof value === 'number') return new Date(value).getTime();
  if (value && typeof value === 'object' && typeof (value as { $date?: unknown }).$date === 'number') return (value as { $date: number }).$date;
  return Number.NaN;
}
