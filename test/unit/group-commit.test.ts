import { describe, expect, it } from 'vitest';
import { createGroupCommit } from '../../src/db/group-commit.js';

/** A `run` whose transactions complete only when the test says so. */
function controlledRun(fail?: (items: number[]) => boolean) {
  const calls: number[][] = [];
  const gates: (() => void)[] = [];
  const run = async (items: number[]) => {
    calls.push(items);
    await new Promise<void>((r) => gates.push(r));
    if (fail?.(items)) throw new Error(`batch ${items.join(',')} failed`);
    return items.map((i) => i * 10);
  };
  const openAll = async () => { while (gates.length) { gates.shift()!(); await new Promise((r) => setImmediate(r)); } };
  return { calls, run, openAll };
}

describe('group commit', () => {
  it('commits callers that arrive during a transaction together, each with its own result', async () => {
    const c = controlledRun();
    const commit = createGroupCommit<number, number>({ maxBatch: 3, maxInFlight: 1, run: c.run });
    const results = Promise.all([1, 2, 3, 4, 5, 6].map((i) => commit(i)));
    await new Promise((r) => setImmediate(r));
    for (let i = 0; i < 10 && c.calls.length < 3; i++) await c.openAll();
    await c.openAll();
    expect(await results).toEqual([10, 20, 30, 40, 50, 60]);
    // The first goes alone at once; the rest queue behind it in batches of at most 3.
    expect(c.calls).toEqual([[1], [2, 3, 4], [5, 6]]);
  });

  it('runs up to maxInFlight transactions at once', async () => {
    const c = controlledRun();
    const commit = createGroupCommit<number, number>({ maxBatch: 10, maxInFlight: 2, run: c.run });
    const results = Promise.all([1, 2, 3, 4].map((i) => commit(i)));
    await new Promise((r) => setImmediate(r));
    expect(c.calls).toEqual([[1], [2]]);
    for (let i = 0; i < 10; i++) await c.openAll();
    expect(await results).toEqual([10, 20, 30, 40]);
    expect(c.calls).toEqual([[1], [2], [3, 4]]);
  });

  it('retries a failed batch item by item: only the bad item is refused', async () => {
    const c = controlledRun((items) => items.includes(3));
    const failures: number[] = [];
    const commit = createGroupCommit<number, number>({ maxBatch: 10, maxInFlight: 1, run: c.run, onBatchFailure: (_e, n) => failures.push(n) });
    const settled = Promise.allSettled([1, 2, 3, 4].map((i) => commit(i)));
    for (let i = 0; i < 20; i++) await c.openAll();
    const out = await settled;
    expect(out.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(out.filter((o) => o.status === 'fulfilled').map((o) => (o as PromiseFulfilledResult<number>).value)).toEqual([10, 20, 40]);
    expect(failures).toEqual([3]);
    expect(c.calls).toEqual([[1], [2, 3, 4], [2], [3], [4]]);
  });
});
