/**
 * How one Slack reply paces its writes: every network call on one queue (so edits never overtake
 * each other), and text edits at most once per interval, a timer catching up what arrived between.
 * Kept in one small unit so a shared coalescing writer can replace it.
 */
export class SlackEditPacing {
  private lastWriteAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly intervalMilliseconds: number) {}

  /** Runs `work` after everything queued before it; its own failure is the caller's. */
  enqueue(work: () => Promise<void>): Promise<void> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => {});
    return run;
  }

  /**
   * Queues an edit now when the interval has passed; otherwise once it has (one timer however many
   * edits arrive meanwhile). A timed edit's failure goes to `onLateFailure`.
   */
  async edit(write: () => Promise<void>, onLateFailure: (error: unknown) => void): Promise<void> {
    const wait = this.untilNextWrite();
    if (wait <= 0) {
      this.cancel();
      await this.enqueue(() => this.inTurn(write));
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.enqueue(() => this.inTurn(write)).catch(onLateFailure);
    }, wait);
  }

  /**
   * Runs a write once its interval has passed, counted from when the previous write finished: a
   * slow request then never brings the next edit closer to it than the interval, as Slack sees it.
   */
  private async inTurn(write: () => Promise<void>): Promise<void> {
    const wait = this.untilNextWrite();
    if (wait > 0) await new Promise<void>((resolve) => setTimeout(resolve, wait));
    this.markWrite();
    try {
      await write();
    } finally {
      this.markWrite();
    }
  }

  /** Milliseconds before the next edit may go out (zero or less: now). */
  untilNextWrite(): number {
    return this.lastWriteAt + this.intervalMilliseconds - Date.now();
  }

  /** Counts the interval from now: a write is going out. */
  markWrite(): void {
    this.lastWriteAt = Date.now();
  }

  /** Drops a pending timed edit (the caller writes everything itself next). */
  cancel(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
