/** What every route module needs from the fake. */
import type { SendOptions } from '../messages.js';
import type { FakeState } from '../state.js';
import type { UploadSettings } from '../uploads.js';

export interface Deps {
  state: FakeState;
  send: SendOptions;
  uploads: UploadSettings;
}

/** `getPaginationItems`: `offset` (default 0) and `count` (default 50, at most 100). */
export function pagination(query: Record<string, string>): { offset: number; count: number } {
  const offset = Math.max(0, Number.parseInt(query.offset ?? '0', 10) || 0);
  const raw = Number.parseInt(query.count ?? '', 10);
  const count = Number.isFinite(raw) && raw > 0 ? Math.min(raw, 100) : 50;
  return { offset, count };
}
