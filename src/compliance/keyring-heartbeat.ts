/**
 * Key-ring heartbeat: every running replica records, every 30 seconds, which master-key versions
 * it has loaded (`keyring_members`). `relais keys rotate` reads these rows to refuse rewrapping
 * data keys to a master key that some running replica could not read yet.
 *
 * Times are the database's (`now()`), so clock skew between hosts does not matter.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { desc, eq, sql } from 'drizzle-orm';
import type { KeyRing } from '../archive/keyring.js';
import { errorCode } from '../core/errors.js';
import type { Db } from '../db/client.js';
import { keyringMembers } from '../db/schema/index.js';
import type { Logger } from '../log.js';

/** How often a replica reports. */
export const HEARTBEAT_INTERVAL_MS = 30_000;
/** A replica seen within this window counts as running (four missed beats). */
export const LIVE_WINDOW_MS = 2 * 60_000;
/** Rows of replicas not seen for this long are deleted by the others' heartbeats. */
const FORGET_AFTER_MS = 24 * 60 * 60_000;

/** One replica's last report. */
export interface KeyringMember {
  instanceId: string;
  currentKekVersion: number;
  kekVersions: number[];
  seenAt: Date;
  /** Seen within `LIVE_WINDOW_MS` (by the database clock). */
  live: boolean;
}

/** A running heartbeat. */
export interface KeyringHeartbeat {
  readonly instanceId: string;
  /** Reports now (also done by the timer). Database I/O; never throws (failures are logged). */
  beat(): Promise<void>;
  /** Stops the timer and deletes this replica's row. Idempotent; never throws. */
  stop(): Promise<void>;
}

/** A readable id for this process: host name (the pod name on Kubernetes), pid and a random suffix. */
export function defaultInstanceId(): string {
  return `${hostname()}/${process.pid}/${randomBytes(3).toString('hex')}`;
}

/**
 * Starts reporting this replica's key ring: one report before it resolves, then every
 * `intervalMs` (the timer does not keep the process alive). Call after the key ring is loaded;
 * call `stop()` on shutdown, before closing the database.
 */
export async function startKeyringHeartbeat(
  deps: { db: Db; ring: KeyRing; logger: Logger },
  opts: { instanceId?: string; intervalMs?: number } = {},
): Promise<KeyringHeartbeat> {
  const instanceId = opts.instanceId ?? defaultInstanceId();
  const { db, ring, logger } = deps;
  let stopped = false;
  let inFlight: Promise<void> = Promise.resolve();

  const report = async () => {
    try {
      const row = { instanceId, currentKekVersion: ring.currentKekVersion, kekVersions: [...ring.kekVersions] };
      await db.insert(keyringMembers).values({ ...row, seenAt: sql`now()` })
        .onConflictDoUpdate({ target: keyringMembers.instanceId, set: { currentKekVersion: row.currentKekVersion, kekVersions: row.kekVersions, seenAt: sql`now()` } });
      await db.delete(keyringMembers).where(sql`${keyringMembers.seenAt} < now() - ${FORGET_AFTER_MS / 1000} * interval '1 second'`);
    } catch (err) {
      logger.warn({ code: errorCode(err) }, 'key-ring heartbeat not recorded; `relais keys rotate` may not see this replica');
    }
  };
  const beat = () => {
    if (stopped) return Promise.resolve();
    inFlight = inFlight.then(report);
    return inFlight;
  };

  await beat();
  const timer = setInterval(() => void beat(), opts.intervalMs ?? HEARTBEAT_INTERVAL_MS);
  timer.unref();
  let stopping: Promise<void> | undefined;
  return {
    instanceId,
    beat,
    stop: () => {
      stopping ??= (async () => {
        stopped = true;
        clearInterval(timer);
        await inFlight;
        await db.delete(keyringMembers).where(eq(keyringMembers.instanceId, instanceId)).catch(() => undefined);
      })();
      return stopping;
    },
  };
}

/** Every recorded replica, newest report first, with `live` computed by the database clock. Read-only. */
export async function listKeyringMembers(db: Db, liveWindowMs = LIVE_WINDOW_MS): Promise<KeyringMember[]> {
  const rows = await db.select({
    instanceId: keyringMembers.instanceId,
    currentKekVersion: keyringMembers.currentKekVersion,
    kekVersions: keyringMembers.kekVersions,
    seenAt: keyringMembers.seenAt,
    live: sql<boolean>`${keyringMembers.seenAt} > now() - ${liveWindowMs / 1000} * interval '1 second'`,
  }).from(keyringMembers).orderBy(desc(keyringMembers.seenAt));
  return rows.map((r) => ({ ...r, live: r.live === true || (r.live as unknown) === 't' }));
}
