/**
 * Group commit: callers that arrive while transactions are under way wait and are then committed
 * together in one transaction, so the per-transaction cost (BEGIN, COMMIT, the fsync, one
 * multi-row statement instead of one per item) is shared. Each caller still resolves only after
 * the commit that holds its item, and with its own result.
 *
 * At most `maxInFlight` transactions run at once (the first callers never wait for a batch to
 * form: with no transaction under way, an item goes alone at once). When a batch fails, each of
 * its items is retried in a transaction of its own, so one bad item cannot refuse the others;
 * an item that fails alone rejects its caller.
 */
export function createGroupCommit<T, R>(opts: {
  maxBatch: number;
  maxInFlight: number;
  /** Persists the items in one transaction and returns one result per item, in order. */
  run(items: T[]): Promise<R[]>;
  /** Called when a batch failed (before the items are retried alone). */
  onBatchFailure?(err: unknown, size: number): void;
}): (item: T) => Promise<R> {
  type Waiting = { item: T; resolve(r: R): void; reject(e: unknown): void };
  const queue: Waiting[] = [];
  let inFlight = 0;

  const runBatch = async (batch: Waiting[]): Promise<void> => {
    try {
      const results = await opts.run(batch.map((w) => w.item));
      batch.forEach((w, i) => w.resolve(results[i]!));
    } catch (err) {
      if (batch.length === 1) { batch[0]!.reject(err); return; }
      opts.onBatchFailure?.(err, batch.length);
      for (const w of batch) {
        await opts.run([w.item]).then((r) => w.resolve(r[0]!), w.reject);
      }
    }
  };

  const pump = (): void => {
    while (inFlight < opts.maxInFlight && queue.length) {
      const batch = queue.splice(0, opts.maxBatch);
      inFlight++;
      void runBatch(batch).finally(() => { inFlight--; pump(); });
    }
  };

  return (item: T) => new Promise<R>((resolve, reject) => {
    queue.push({ item, resolve, reject });
    pump();
  });
}
