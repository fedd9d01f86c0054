/**
 * Runs tasks one at a time per key (in submission order) and up to `maxInFlight` keys at once.
 * `submit` resolves as soon as the task is queued, unless `maxInFlight` tasks are already
 * queued or running: then it waits for room (backpressure on the submitter). `drain` resolves
 * when every submitted task has finished. Task errors go to `onError`; they never stop a lane.
 */
export class KeyedLanes {
  private readonly lanes = new Map<string, Promise<void>>();
  private pending = 0;
  private readonly waiters: (() => void)[] = [];
  private readonly idle: (() => void)[] = [];

  constructor(private readonly maxInFlight: number, private readonly onError: (err: unknown) => void) {}

  async submit(key: string, task: () => Promise<void>): Promise<void> {
    while (this.pending >= this.maxInFlight) await new Promise<void>((r) => this.waiters.push(r));
    this.pending++;
    const previous = this.lanes.get(key) ?? Promise.resolve();
    const next = previous.then(task).catch(this.onError).finally(() => {
      this.pending--;
      if (this.lanes.get(key) === next) this.lanes.delete(key);
      this.waiters.shift()?.();
      if (this.pending === 0) for (const r of this.idle.splice(0)) r();
    });
    this.lanes.set(key, next);
  }

  /** Resolves when nothing is queued or running. */
  drain(): Promise<void> {
    return this.pending === 0 ? Promise.resolve() : new Promise<void>((r) => this.idle.push(r));
  }
}
