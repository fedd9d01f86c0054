/**
 * Fault injection for the fake. A pattern is `"METHOD /api/v4/path"` (path segments may be `*` or
 * `{name}` wildcards; without a method any method matches) or a RegExp tested on `"METHOD /path"`.
 */
export type FaultPattern = string | RegExp;

export interface FailOptions {
  status: number;
  /** JSON body; defaults to an AppError body with id `fake.injected_failure`. */
  body?: unknown;
  /** Extra response headers, e.g. `{ 'Retry-After': '2' }`. */
  headers?: Record<string, string>;
  /** How many matching requests fail (default 1). */
  times?: number;
}

interface Rule {
  kind: 'fail' | 'reset' | 'hang';
  test: (methodAndPath: string) => boolean;
  remaining: number;
  fail?: FailOptions;
}

function compile(pattern: FaultPattern): (methodAndPath: string) => boolean {
  if (pattern instanceof RegExp) return (s) => pattern.test(s);
  const [first, second] = pattern.trim().split(/\s+/, 2) as [string, string | undefined];
  const method = second === undefined ? undefined : first.toUpperCase();
  const path = second ?? first;
  const rx = new RegExp(
    '^' + path.split('/').map((seg) => (seg === '*' || /^\{.+\}$/.test(seg) ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/') + '$',
  );
  return (s) => {
    const [m, p] = s.split(' ', 2) as [string, string];
    return (method === undefined || method === m) && rx.test(p);
  };
}

export class Faults {
  private rules: Rule[] = [];

  failNext(pattern: FaultPattern, opts: FailOptions): void {
    this.rules.push({ kind: 'fail', test: compile(pattern), remaining: opts.times ?? 1, fail: opts });
  }

  resetAfterAccept(pattern: FaultPattern, times = 1): void {
    this.rules.push({ kind: 'reset', test: compile(pattern), remaining: times });
  }

  /** Matching requests are never answered (until `close()`); `null` removes every hang rule. */
  setHang(pattern: FaultPattern | null, times = Infinity): void {
    if (pattern === null) {
      this.rules = this.rules.filter((r) => r.kind !== 'hang');
      return;
    }
    this.rules.push({ kind: 'hang', test: compile(pattern), remaining: times });
  }

  clear(): void {
    this.rules = [];
  }

  /** Consumes and returns the first live rule of `kind` matching the request. */
  take(kind: Rule['kind'], method: string, path: string): Rule | undefined {
    const key = `${method} ${path}`;
    const rule = this.rules.find((r) => r.kind === kind && r.remaining > 0 && r.test(key));
    if (rule) {
      rule.remaining -= 1;
      if (rule.remaining <= 0) this.rules = this.rules.filter((r) => r !== rule);
    }
    return rule;
  }
}
