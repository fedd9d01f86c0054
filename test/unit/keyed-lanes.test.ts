import { describe, expect, it } from 'vitest';
import { KeyedLanes } from '../../src/core/keyed-lanes.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('KeyedLanes', () => {
  it('keeps each key in order while different keys overlap, and bounds what is in flight', async () => {
    const lanes = new KeyedLanes(3, () => undefined);
    const log: string[] = [];
    const gates = new Map<string, () => void>();
    const task = (name: string) => async () => { log.push(`start ${name}`); await new Promise<void>((r) => gates.set(name, r)); log.push(`end ${name}`); };
    await lanes.submit('a', task('a1'));
    await lanes.submit('a', task('a2'));
    await lanes.submit('b', task('b1'));
    let fourthQueued = false;
    const fourth = lanes.submit('c', task('c1')).then(() => { fourthQueued = true; });
    await tick();
    expect(log).toEqual(['start a1', 'start b1']); // a2 waits behind a1
    expect(fourthQueued).toBe(false); // 3 in flight: the submitter waits
    gates.get('b1')!();
    await fourth;
    await tick();
    expect(log).toEqual(['start a1', 'start b1', 'end b1', 'start c1']);
    gates.get('a1')!(); await tick(); await tick();
    expect(log.slice(-2)).toEqual(['end a1', 'start a2']);
    let drained = false;
    const d = lanes.drain().then(() => { drained = true; });
    gates.get('a2')!(); await tick();
    expect(drained).toBe(false);
    gates.get('c1')!();
    await d;
    expect(drained).toBe(true);
  });

  it('a failing task goes to onError and its lane goes on', async () => {
    const errors: unknown[] = [];
    const lanes = new KeyedLanes(4, (e) => errors.push(e));
    const done: number[] = [];
    await lanes.submit('k', async () => { throw new Error('boom'); });
    await lanes.submit('k', async () => { done.push(2); });
    await lanes.drain();
    expect(done).toEqual([2]);
    expect(errors).toHaveLength(1);
  });
});
