import { graphErrorBody, httpStatusFor, type GraphErrorBody } from './graph-error.js';

/**
 * Fault injection for the Graph fake: queued failures and hangs per endpoint, plus download
 * tricks (slow body, corrupted bytes, redirect). In-memory, synchronous bookkeeping only.
 */

/** The fake's endpoints by name. */
export type GraphEndpoint = 'messages' | 'media' | 'media-info' | 'download' | 'templates';

/**
 * Which requests a fault applies to: an endpoint name (`'media'` is the upload, `'media-info'`
 * the `GET`/`DELETE /{media-id}`), or a RegExp / substring tested against the request path.
 */
export type FaultTarget = GraphEndpoint | RegExp | string;

export interface FailSpec {
  target: FaultTarget;
  /** How many matching requests fail (default 1). */
  times?: number;
  /** HTTP status (default: Meta's status for `graphError.code`, else 500). */
  status?: number;
  /** The Graph error in the body (default: a code that fits `status`, e.g. 130429 for 429). */
  graphError?: { code: number; message?: string; details?: string };
  /** Adds a `Retry-After` header. */
  retryAfterSeconds?: number;
}

export interface HangSpec {
  target: FaultTarget;
  /** How many matching requests hang (default 1). */
  times?: number;
}

export interface InjectedFailure {
  status: number;
  body: GraphErrorBody;
  headers: Record<string, string>;
}

type Queued = { kind: 'fail'; spec: FailSpec; left: number } | { kind: 'hang'; target: FaultTarget; left: number };

function defaultCode(status: number): number {
  if (status === 401) return 190;
  if (status === 429) return 130429;
  if (status >= 500) return 131000;
  return 100;
}

function matches(target: FaultTarget, endpoint: GraphEndpoint, path: string): boolean {
  if (target instanceof RegExp) return target.test(path);
  if (target === endpoint) return true;
  const names: readonly string[] = ['messages', 'media', 'media-info', 'download', 'templates'];
  return !names.includes(target) && path.includes(target);
}

export class GraphFaults {
  private queue: Queued[] = [];
  private hung = new Set<() => void>();
  /** Milliseconds a download stalls in the middle of its body (0 = off). */
  slowDownloadMs = 0;
  /** Downloads left that get one flipped byte. */
  corruptDownloads = 0;
  /** When set, downloads answer 302 to this URL. */
  redirectTo: string | undefined;

  failNext(spec: FailSpec): void {
    this.queue.push({ kind: 'fail', spec, left: spec.times ?? 1 });
  }

  hangNext(spec: HangSpec): void {
    this.queue.push({ kind: 'hang', target: spec.target, left: spec.times ?? 1 });
  }

  /**
   * Consumes the first queued fault matching this request. Returns the failure to send, 'hang',
   * or undefined when the request proceeds normally.
   */
  take(endpoint: GraphEndpoint, path: string): InjectedFailure | 'hang' | undefined {
    const index = this.queue.findIndex((q) => matches(q.kind === 'fail' ? q.spec.target : q.target, endpoint, path));
    const entry = this.queue[index];
    if (entry === undefined) return undefined;
    entry.left -= 1;
    if (entry.left <= 0) this.queue.splice(index, 1);
    if (entry.kind === 'hang') return 'hang';
    const { spec } = entry;
    const code = spec.graphError?.code ?? defaultCode(spec.status ?? 500);
    const status = spec.status ?? (spec.graphError ? httpStatusFor(code) : 500);
    const headers: Record<string, string> = {};
    if (spec.retryAfterSeconds !== undefined) headers['retry-after'] = String(spec.retryAfterSeconds);
    const body = graphErrorBody(code, { message: spec.graphError?.message, details: spec.graphError?.details });
    return { status, body, headers };
  }

  /** Waits until the client goes away or `releaseHung()`/`reset()` is called. */
  hang(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.hung.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.hung.add(done);
      if (signal.aborted) done();
      else signal.addEventListener('abort', done);
    });
  }

  /** How many requests are hanging right now. */
  get hangingCount(): number {
    return this.hung.size;
  }

  /** Lets every hanging request finish (they answer 503). Call before closing a server. */
  releaseHung(): void {
    for (const done of [...this.hung]) done();
  }

  /** Drops queued faults and download tricks, and releases hung requests. */
  reset(): void {
    this.queue = [];
    this.slowDownloadMs = 0;
    this.corruptDownloads = 0;
    this.redirectTo = undefined;
    this.releaseHung();
  }
}
