import type { Sql } from 'postgres';

/**
 * The postgres.js client drizzle is given, with every parameterised statement prepared.
 *
 * Why: drizzle's postgres.js driver asks for `prepare: false` unless a query is explicitly named.
 * postgres.js then sends each statement as Parse + Describe, waits for the parameter types, and
 * only then sends Bind + Execute: two round trips per statement, and PostgreSQL parses and plans
 * it every time. Prepared (postgres.js's own default), a statement costs one round trip once its
 * text has been seen on a connection. postgres.js keeps prepared statements per connection and
 * recycles connections after 30 to 60 minutes (`max_lifetime`), which bounds how many a backend
 * holds. Statements without parameters still go as simple queries (migrations, multi-statement
 * text). Transactions and savepoints hand drizzle a client wrapped the same way.
 */
export function preparedStatements<T extends Sql>(client: T): T {
  return new Proxy(client, {
    get(target, prop) {
      if (prop === 'unsafe') {
        return (query: string, params?: unknown[], options?: Record<string, unknown>) =>
          target.unsafe(query, params as never, { ...options, prepare: true } as never);
      }
      if (prop === 'begin' || prop === 'savepoint') {
        return (...args: unknown[]) => {
          const fn = args[args.length - 1] as (tx: Sql) => unknown;
          const method = (target as unknown as Record<string, (...a: unknown[]) => unknown>)[prop as string]!;
          return method.call(target, ...args.slice(0, -1), (tx: Sql) => fn(preparedStatements(tx)));
        };
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
