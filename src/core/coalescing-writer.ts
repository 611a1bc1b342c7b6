import type { EditPacer } from "./ports/edit-pacer.js";
import type { Logger } from "./ports/logger.js";
import type { PostedMessage } from "./ports/notifier.js";

export interface CoalescingWriterOptions {
  /** Least time from the end of one write to the start of the next. 0 only keeps them in order. */
  intervalMs: number;
  logger: Logger;
  /**
   * Spaces the writes against other processes writing to the same message too (workers on one
   * Redis). Without it only this writer's own writes are spaced, which is all one process needs.
   */
  pacing?: { pacer: EditPacer; message: PostedMessage } | undefined;
  /** When the message was last written (a message just posted counts); never, by default. */
  lastWriteAt?: number | undefined;
  /** Reports an update's failed write; updates are courtesies, so by default the failure is logged and dropped. */
  onUpdateError?: ((error: unknown) => void) | undefined;
  now?: (() => number) | undefined;
}

/**
 * The one paced writer behind every message teammate edits in place (a streamed answer's preview,
 * a job's status line). Writes run one at a time, in order, each starting at least `intervalMs`
 * after the one before ended (Slack and Discord both ask for about one edit per second). `update`
 * coalesces: of a burst of updates only the latest is written, once its slot comes. `send` always
 * writes, after everything queued before it, and hands back the write's result or error: final
 * renders go through it. `inOrder` queues other calls (another message, a reaction) without spacing
 * them. `close` drops a pending update and refuses later ones, so nothing overwrites a final write.
 * `updateOrSend` is `update` for a producer that waits on a write due at once (the Slack reply).
 */
export class CoalescingWriter {
  private readonly intervalMs: number;
  private readonly logger: Logger;
  private readonly pacing: CoalescingWriterOptions["pacing"];
  private readonly onUpdateError: (error: unknown) => void;
  private readonly now: () => number;
  private lastWriteAt: number;
  private pending: (() => Promise<void>) | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(options: CoalescingWriterOptions) {
    this.intervalMs = options.intervalMs;
    this.logger = options.logger;
    this.pacing = options.pacing;
    this.now = options.now ?? Date.now;
    this.lastWriteAt = options.lastWriteAt ?? Number.NEGATIVE_INFINITY;
    this.onUpdateError =
      options.onUpdateError ??
      ((error) => this.logger.warn({ err: error }, "a paced edit failed; the next one shows the latest"));
  }

  /** Whether `close` has run. */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Writes with `write` once this writer's next slot comes, unless a later update replaces it before
   * then. `write` is called at write time, so it can render the latest state itself.
   */
  update(write: () => Promise<void>): void {
    if (this.closed) return;
    this.pending = write;
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.queuePending();
    }, this.ownWait());
  }

  /**
   * Like `update`, except when this writer's slot is free now: then the write is queued at once and
   * the returned promise settles with it, its error the caller's. For a producer that should feel the
   * writes it causes: a reply's first words go out, or fail, before the call that brought them returns.
   */
  updateOrSend(write: () => Promise<void>): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.ownWait() > 0) {
      this.update(write);
      return Promise.resolve();
    }
    this.clearTimer();
    this.pending = undefined;
    return this.send(write);
  }

  /**
   * Counts the interval from now, as if a write had just reached the message. For a write in flight
   * (later updates then wait a whole interval rather than queue behind it at once) and for one that
   * reaches a new message partway through a `send` (a refused stream handing over to a posted
   * message). `send` still counts from its write's end.
   */
  markWritten(): void {
    this.lastWriteAt = this.now();
  }

  /** Writes the pending update now (still spaced) and waits for every write queued so far. */
  async flush(): Promise<void> {
    this.clearTimer();
    this.queuePending();
    await this.queue.catch(() => {});
  }

  /** Runs `write` after every write queued before it, spaced like the others; its result or error is the caller's. */
  send<T>(write: () => Promise<T>): Promise<T> {
    const run = this.queue.then(async () => {
      await this.waitForSlot();
      try {
        return await write();
      } finally {
        // Counted from the write's end: the platform then sees requests at least the interval apart
        // however long the one before took to reach it.
        this.lastWriteAt = this.now();
      }
    });
    this.queue = run.catch(() => {});
    return run;
  }

  /**
   * Runs `work` in order with the writes but takes no slot: a call on another message (a reaction,
   * a further message, a status line) must not overtake an edit queued before it, nor wait for one.
   */
  inOrder<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => {});
    return run;
  }

  /** Drops a pending update and refuses later ones; `send` still works (for the final write). */
  close(): void {
    this.closed = true;
    this.clearTimer();
    this.pending = undefined;
  }

  /**
   * Waits for this writer's own spacing and, with a pacer, for the other processes' too. Public for
   * work queued with `inOrder` that learns only when its turn comes whether it writes to the message.
   */
  async waitForSlot(): Promise<void> {
    let wait = this.ownWait();
    if (this.pacing !== undefined && this.intervalMs > 0) {
      const { pacer, message } = this.pacing;
      try {
        wait = Math.max(wait, await pacer.reserve(message, this.intervalMs, wait));
      } catch (error) {
        // Pacing across processes is a courtesy to the platform; the write still goes out, spaced locally.
        this.logger.warn({ err: error, messageId: message.messageId }, "could not reserve an edit slot");
      }
    }
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }

  private queuePending(): void {
    const write = this.pending;
    this.pending = undefined;
    if (write === undefined || this.closed) return;
    this.send(write).catch((error: unknown) => this.onUpdateError(error));
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private ownWait(): number {
    return Math.max(0, this.lastWriteAt + this.intervalMs - this.now());
  }
}
