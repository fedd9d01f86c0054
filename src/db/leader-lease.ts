import type { Database } from './client.js';
import { dbErrorFields, type Logger } from '../log.js';

/**
 * Leader election with a PostgreSQL session advisory lock: the replica whose dedicated session
 * holds the lock is the leader (e.g. the one chat listener). If that replica dies or its session
 * drops, PostgreSQL releases the lock and another replica takes it at its next poll, within
 * `pollMs`. On PGlite (one process by construction) this process is always the leader.
 *
 * `onChange(true)` is called when leadership is gained, `onChange(false)` when lost. Never throws;
 * database errors count as "not leader" and are retried.
 */
export function startLeaderLease(
  database: Database,
  lockId: number,
  onChange: (leader: boolean) => Promise<void> | void,
  opts: { pollMs?: number; logger: Logger },
): { stop(): Promise<void>; isLeader(): boolean } {
  const pollMs = opts.pollMs ?? 2000;
  let leader = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let reserved: (import('postgres').ReservedSql) | undefined;

  const set = async (v: boolean) => {
    if (v === leader) return;
    leader = v;
    opts.logger.info({ lockId, leader: v }, v ? 'became leader' : 'lost leadership');
    try { await onChange(v); } catch (err) { opts.logger.error({ err }, 'leadership change handler failed'); }
  };

  const tick = async () => {
    if (stopped) return;
    if (database.kind === 'pglite') { await set(true); return; }
    try {
      if (!reserved) {
        const client = (database.db as unknown as { $client: import('postgres').Sql }).$client;
        reserved = await client.reserve();
      }
      if (leader) {
        // Still holding it? A dropped session would have released the lock.
        await reserved`select 1`;
      } else {
        const [row] = await reserved`select pg_try_advisory_lock(${lockId}) as ok`;
        await set(Boolean(row?.ok));
      }
    } catch (err) {
      opts.logger.warn({ err: dbErrorFields(err) }, 'leader lease check failed');
      try { reserved?.release(); } catch { /* already gone */ }
      reserved = undefined;
      await set(false);
    }
  };

  const loop = async () => {
    await tick();
    if (!stopped) timer = setTimeout(loop, pollMs);
  };
  void loop();

  return {
    isLeader: () => leader,
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (reserved) {
        try { if (leader) await reserved`select pg_advisory_unlock(${lockId})`; } catch { /* session gone */ }
        reserved.release();
        reserved = undefined;
      }
      await set(false);
    },
  };
}
