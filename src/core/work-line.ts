import pLimit, { type LimitFunction } from "p-limit";
import { raceWithSignal } from "./deadline.js";

export interface WorkLineOptions {
  /** Ends the wait (and the work, if it listens): the promise rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
  /** Called at once when the work has to wait, with how many are waiting ahead of it. */
  onWait?: ((ahead: number) => void) | undefined;
}

/**
 * A first-come, first-served line in front of work that must not all run at once (answers, embedded
 * indexing): at most `concurrency` run together, the rest wait their turn and can be told their place.
 * p-limit keeps the line; this adds the place in line and abandoning a wait.
 */
export class WorkLine {
  private readonly limit: LimitFunction;

  constructor(concurrency: number) {
    this.limit = pLimit(Math.max(1, concurrency));
  }

  /** Work running now. */
  get active(): number {
    return this.limit.activeCount;
  }

  /** Work waiting for a slot. */
  get waiting(): number {
    return this.limit.pendingCount;
  }

  run<T>(work: () => Promise<T>, options: WorkLineOptions = {}): Promise<T> {
    const { signal, onWait } = options;
    // Counted before joining: p-limit starts queued work a microtask later, so `activeCount` alone lags.
    const ahead = this.limit.activeCount + this.limit.pendingCount - this.limit.concurrency;
    const queued = this.limit(async () => {
      signal?.throwIfAborted();
      return work();
    });
    if (ahead >= 0) onWait?.(ahead);
    return signal ? raceWithSignal(queued, signal) : queued;
  }
}
