import { isNotNull } from 'drizzle-orm';
import type { AgentEvent, ChatChannelRef, ChatPlatform } from '../chat/platform.js';
import type { Database } from '../db/client.js';
import { startLeaderLease } from '../db/leader-lease.js';
import { customers } from '../db/schema/index.js';
import { dbErrorFields, type Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { errorCode } from './errors.js';
import { KeyedLanes } from './keyed-lanes.js';

/** Advisory-lock id of the chat listener lease ("RLSN"). */
export const LISTENER_LOCK_ID = 0x524c534e;

/** Agent events captured at once (each channel's in order). */
const CAPTURE_IN_FLIGHT = 16;

/** How far before the stored cursor catch-up starts reading again. */
export const CATCH_UP_OVERLAP_MS = 5 * 60_000;

export interface ListenerDeps {
  database: Database;
  platform: ChatPlatform;
  logger: Logger;
  metrics: Metrics;
  capture(event: AgentEvent): Promise<string>;
  pollMs?: number;
}

/**
 * Runs the one chat listener of the deployment: the replica holding the lease listens to the
 * chat platform's realtime stream; on every (re)connection it first catches up every customer
 * channel from its stored cursor, so replies posted while Relais was down or disconnected are
 * relayed exactly once (capture is idempotent). Other replicas keep serving webhooks and jobs
 * and take over within `pollMs` when the leader goes away.
 */
export function startAgentListener(deps: ListenerDeps) {
  let stopListening: (() => Promise<void>) | undefined;
  let catchUps = 0;

  // Events of one channel are captured in order; different channels in parallel (a capture is
  // several sequential database round trips, so one at a time caps the whole deployment).
  const lanes = new KeyedLanes(CAPTURE_IN_FLIGHT, () => undefined);
  const handle = (event: AgentEvent) => lanes.submit(event.channel, () => captureOne(event));
  const captureOne = async (event: AgentEvent) => {
    try {
      const outcome = await deps.capture(event);
      deps.metrics.agentEvents.inc({ outcome });
    } catch (err) {
      // Not lost: the cursor did not move, so the next catch-up sees it again.
      deps.metrics.agentEvents.inc({ outcome: 'error' });
      deps.logger.error({ code: errorCode(err), err: dbErrorFields(err) }, 'agent event not captured; it will be caught up');
    }
  };

  const catchUp = async () => {
    catchUps++;
    const rows = await deps.database.db.select({ channel: customers.chatChannelId, cursor: customers.chatCursor, createdAt: customers.createdAt })
      .from(customers).where(isNotNull(customers.chatChannelId));
    let seen = 0;
    for (const r of rows) {
      // Look back a little before the cursor: capture is idempotent, and the overlap covers an
      // event that failed while later ones in the same channel succeeded.
      const since = r.cursor !== null ? r.cursor - CATCH_UP_OVERLAP_MS : r.createdAt.getTime() - 1;
      try {
        const posts = await deps.platform.postsSince(r.channel as ChatChannelRef, since);
        for (const p of posts) { seen++; await handle(p); }
      } catch (err) {
        deps.logger.warn({ code: errorCode(err) }, 'catch-up of one channel failed; retried at the next reconnection');
      }
    }
    await lanes.drain();
    deps.logger.info({ channels: rows.length, posts: seen }, 'caught up with agent posts');
  };

  const lease = startLeaderLease(deps.database, LISTENER_LOCK_ID, async (leader) => {
    if (leader) {
      stopListening = await deps.platform.listen({
        onEvent: handle,
        onConnected: async ({ reconnect }) => {
          deps.logger.info({ reconnect }, 'chat listener connected');
          await catchUp();
        },
      });
    } else if (stopListening) {
      const s = stopListening;
      stopListening = undefined;
      await s();
    }
  }, { pollMs: deps.pollMs, logger: deps.logger });

  return {
    isLeader: () => lease.isLeader(),
    catchUps: () => catchUps,
    stop: async () => {
      await lease.stop();
      await lanes.drain();
    },
  };
}
