/**
 * Read paths: `groups.history` (getChannelHistory), `chat.syncMessages` (getMessageHistory with
 * `lastUpdate`) and the DDP `loadHistory` method. All answer newest first, like the server.
 */
import type { FakeState, MessageDoc } from './state.js';

export interface HistoryQuery {
  latest?: Date;
  oldest?: Date;
  inclusive?: boolean;
  count?: number;
  offset?: number;
  showThreadMessages?: boolean;
}

export function channelHistory(state: FakeState, rid: string, q: HistoryQuery): MessageDoc[] {
  const latest = q.latest ?? new Date();
  const inclusive = q.inclusive ?? false;
  const list = state
    .roomMessages(rid)
    .filter((m) => {
      const t = m.ts.getTime();
      const beforeLatest = inclusive ? t <= latest.getTime() : t < latest.getTime();
      const afterOldest = !q.oldest || (inclusive ? t >= q.oldest.getTime() : t > q.oldest.getTime());
      return beforeLatest && afterOldest && (q.showThreadMessages !== false || !m.tmid);
    })
    .reverse();
  const offset = q.offset ?? 0;
  return list.slice(offset, offset + (q.count ?? 20));
}

/** Messages changed after `lastUpdate` (by `_updatedAt`) and the ids deleted after it. */
export function syncSince(state: FakeState, rid: string, lastUpdate: Date): { updated: MessageDoc[]; deleted: { _id: string; _deletedAt: Date }[] } {
  const updated = state
    .roomMessages(rid)
    .filter((m) => m._updatedAt.getTime() > lastUpdate.getTime())
    .reverse();
  const deleted = [...state.trash.values()]
    .filter((d) => d.rid === rid && d._deletedAt.getTime() > lastUpdate.getTime())
    .map((d) => ({ _id: d._id, _deletedAt: d._deletedAt }));
  return { updated, deleted };
}

/** DDP `loadHistory(rid, end, limit, ls, showThreadMessages)`: messages before `end`, newest first. */
export function loadHistory(state: FakeState, rid: string, end: Date | null | undefined, limit = 20, showThreadMessages = true): MessageDoc[] {
  return state
    .roomMessages(rid)
    .filter((m) => (!end || m.ts.getTime() < end.getTime()) && (showThreadMessages || !m.tmid))
    .reverse()
    .slice(0, limit);
}
