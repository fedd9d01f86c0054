/**
 * Fault injection. A pattern is `"/api/v1/chat.sendMessage"` or `"POST /api/v1/rooms.media/{rid}"`
 * (segments `*` or `{name}` match any one segment; without a method any method matches), or a RegExp
 * tested on `"METHOD /path"` (query string excluded).
 */
export type FaultPattern = string | RegExp;

export interface FailOptions {
  status: number;
  /** JSON body; default `{success:false, error:'fake: injected failure'}`. */
  body?: unknown;
  headers?: Record<string, string>;
  /** How many matching requests fail (default 1). */
  times?: number;
}

interface Rule {
  kind: 'fail' | 'reset';
  test: (methodAndPath: string) => boolean;
  remaining: number;
  fail?: FailOptions;
}

function matcher(pattern: FaultPattern): (methodAndPath: string) => boolean {
  if (pattern instanceof RegExp) return (s) => pattern.test(s);
  const parts = pattern.trim().split(/\s+/);
  const method = parts.length > 1 ? parts[0]?.toUpperCase() : undefined;
  const path = parts.length > 1 ? (parts[1] as string) : (parts[0] as string);
  const rx = new RegExp(
    `^${path
      .split('/')
      .map((seg) => (seg === '*' || /^\{[^}]+\}$/.test(seg) ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/')}$`,
  );
  return (s) => {
    const i = s.indexOf(' ');
    return (method === undefined || s.slice(0, i) === method) && rx.test(s.slice(i + 1));
  };
}

export class Faults {
  private rules: Rule[] = [];

  failNext(pattern: FaultPattern, opts: FailOptions): void {
    this.rules.push({ kind: 'fail', test: matcher(pattern), remaining: opts.times ?? 1, fail: opts });
  }

  resetAfterAccept(pattern: FaultPattern, times = 1): void {
    this.rules.push({ kind: 'reset', test: matcher(pattern), remaining: times });
  }

  clear(): void {
    this.rules = [];
  }

  /** Consumes and returns the first matching rule of that kind. */
  take(kind: Rule['kind'], method: string, path: string): Rule | undefined {
    const key = `${method} ${path}`;
    const rule = this.rules.find((r) => r.kind === kind && r.remaining > 0 && r.test(key));
    if (rule) rule.remaining -= 1;
    return rule;
  }
}
