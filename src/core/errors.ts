/**
 * The one error type Relais code throws on purpose.
 *
 * Contract: `code` is stable (operators grep for it, metrics label by it), `retryable` is the
 * only thing workers look at to choose retry versus dead-letter, and `agentMessage` (when set)
 * is safe to show to agents in the chat platform. `message` is for operators: it says what is
 * wrong and what to do, and never contains a secret, a phone number, a wamid or message text.
 */
export class RelaisError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  readonly agentMessage?: string;
  /** Milliseconds the caller should wait before retrying (e.g. from a `Retry-After` header). */
  readonly retryAfterMs?: number;

  constructor(
    code: string,
    message: string,
    opts: { retryable: boolean; agentMessage?: string; retryAfterMs?: number; cause?: unknown },
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'RelaisError';
    this.code = code;
    this.retryable = opts.retryable;
    this.agentMessage = opts.agentMessage;
    this.retryAfterMs = opts.retryAfterMs;
  }
}

/** True when `err` should be retried: RelaisErrors decide for themselves, anything else is presumed transient. */
export function isRetryable(err: unknown): boolean {
  return err instanceof RelaisError ? err.retryable : true;
}

/** A stable code for metrics and logs, whatever was thrown. */
export function errorCode(err: unknown): string {
  return err instanceof RelaisError ? err.code : 'unexpected';
}
