import pLimit, { type LimitFunction } from "p-limit";
import { raceWithSignal } from "./deadline.js";

/** One piece of work's place in a {@link WorkLine}, readable at any time while it waits. */
export interface PlaceInLine {
  /** Whether the work is still waiting for a slot. */
  readonly waiting: boolean;
  /** How many joined earlier and are still waiting (0: next in line). */
  readonly ahead: number;
}

export interface WorkLineOptions {
  /** Ends the wait (and the work, if it listens): the promise rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
  /** Called at once when the work has to wait, with its place (which moves as the line does). */
  onWait?: ((place: PlaceInLine) => void) | undefined;
}

/**
 * A first-come, first-served line in front of work that must not all run at once (answers, embedded
 * indexing): at most `concurrency` run together, the rest wait their turn and can be told their place.
 * p-limit keeps the line; this adds the place in line and abandoning a wait.
 */
export class WorkLine {
  private readonly limit: LimitFunction;
  private joined = 0;
  private started = 0;

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
    const mustWait = this.limit.activeCount + this.limit.pendingCount >= this.limit.concurrency;
    // p-limit starts work in the order it joined, so the tickets before ours not yet started are ahead.
    const ticket = this.joined++;
    let started = false;
    const queued = this.limit(async () => {
      this.started += 1;
      started = true;
      signal?.throwIfAborted();
      return work();
    });
    if (mustWait && onWait) {
      const line = this;
      onWait({
        get waiting() {
          return !started;
        },
        get ahead() {
          return started ? 0 : Math.max(0, ticket - line.started);
        },
      });
    }
    return signal ? raceWithSignal(queued, signal) : queued;
  }
}
