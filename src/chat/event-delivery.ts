import { AsyncLocalStorage } from 'node:async_hooks';
import { errorCode, isRetryable } from '../core/errors.js';
import type { Logger } from '../log.js';
import type { AgentEvent, ChatListenHandlers } from './platform.js';

/** How often and how long reading a raw event is retried when its REST look-ups fail transiently. */
const MAP_RETRY_DELAYS_MS = [250, 1000];

/**
 * The delivery contract every platform listener keeps (see `ChatAgentSide.listen`): one queue,
 * handled one item at a time; `onConnected` is queued when a connection comes up, so that
 * connection's live events wait behind it; each `onEvent` is awaited before the next. A raw event
 * that cannot be read (after two retries of transient failures) is dropped with a warning: the
 * next connection's catch-up reads it again. Handler errors are logged by code only (a message
 * could quote what someone wrote).
 */
export class EventDelivery<Raw> {
  private readonly queue: ({ kind: 'connected'; reconnect: boolean } | { kind: 'raw'; raw: Raw })[] = [];
  // Set while a handler runs, so a stop() called from inside a handler does not wait for itself.
  private readonly insideHandler = new AsyncLocalStorage<boolean>();
  private draining = false;
  private idle: Promise<void> = Promise.resolve();
  stopped = false;

  constructor(
    private readonly handlers: ChatListenHandlers,
    private readonly toEvents: (raw: Raw) => Promise<AgentEvent[]>,
    private readonly logger: Logger,
    private readonly platform: string,
  ) {}

  /** A connection came up: catch-up (onConnected) runs before anything it delivers. */
  connected(reconnect: boolean): void { this.push({ kind: 'connected', reconnect }); }

  /** A raw realtime event, read and delivered in arrival order. */
  event(raw: Raw): void { this.push({ kind: 'raw', raw }); }

  /** Stops delivering and drops what is queued; waits for the handler under way unless called from it. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.length = 0;
    if (!this.insideHandler.getStore()) await this.idle;
  }

  private push(item: EventDelivery<Raw>['queue'][number]): void {
    if (this.stopped) return;
    this.queue.push(item);
    if (!this.draining) {
      this.draining = true;
      this.idle = this.drain();
    }
  }

  private async drain(): Promise<void> {
    try {
      while (!this.stopped && this.queue.length > 0) {
        const item = this.queue.shift()!;
        await this.insideHandler.run(true, () => this.run(item));
      }
    } finally {
      this.draining = false;
    }
  }

  private async run(item: EventDelivery<Raw>['queue'][number]): Promise<void> {
    if (item.kind === 'connected') {
      try {
        await this.handlers.onConnected({ reconnect: item.reconnect });
      } catch (err) {
        this.logger.warn({ code: errorCode(err) }, `${this.platform} onConnected handler failed`);
      }
      return;
    }
    for (const event of await this.read(item.raw)) {
      if (this.stopped) return;
      try {
        await this.handlers.onEvent(event);
      } catch (err) {
        this.logger.warn({ code: errorCode(err), kind: event.kind }, 'agent event handler failed; the event is caught up later');
      }
    }
  }

  private async read(raw: Raw): Promise<AgentEvent[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.toEvents(raw);
      } catch (err) {
        const delay = MAP_RETRY_DELAYS_MS[attempt];
        if (delay === undefined || !isRetryable(err) || this.stopped) {
          this.logger.warn({ code: errorCode(err) }, `${this.platform} event could not be read; it is caught up at the next connection`);
          return [];
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }
}
