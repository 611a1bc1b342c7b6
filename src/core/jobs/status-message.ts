import type { EditPacer } from "../ports/edit-pacer.js";
import type { Logger } from "../ports/logger.js";
import type { Notifier, PostedMessage } from "../ports/notifier.js";

export interface StatusMessageOptions {
  notifier: Notifier;
  /** The message to keep editing (posted when the job was queued). */
  message: PostedMessage;
  logger: Logger;
  /** Least time between two writes to the message. Default 1000 ms (Slack and Discord both ask for it). */
  minIntervalMs?: number;
  /**
   * Spaces writes to the message from other processes too (workers on one Redis). Without one, only
   * this object's own writes are spaced, which is all one process needs.
   */
  pacer?: EditPacer | undefined;
  now?: () => number;
}

const BAR_CELLS = 10;

/** `Indexing 37/120 ▓▓▓░░░░░░░ 31%`. */
export function progressLine(label: string, done: number, total: number): string {
  const ratio = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const filled = Math.round(ratio * BAR_CELLS);
  const bar = `${"▓".repeat(filled)}${"░".repeat(BAR_CELLS - filled)}`;
  return `${label} ${done}/${total} ${bar} ${Math.floor(ratio * 100)}%`;
}

/**
 * One status message per job, edited in place: progress lines are coalesced so the message is
 * written at most once per `minIntervalMs` (the latest line wins), and the final line (`finish` or
 * `fail`) is always written, after the same spacing. A failed edit is logged and never fails the
 * job: progress is a courtesy, the result is what matters.
 */
export class StatusMessage {
  private readonly notifier: Notifier;
  private readonly message: PostedMessage;
  private readonly logger: Logger;
  private readonly minIntervalMs: number;
  private readonly pacer: EditPacer | undefined;
  private readonly now: () => number;
  private lastWriteAt: number;
  private pending: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private ended = false;

  constructor(options: StatusMessageOptions) {
    this.notifier = options.notifier;
    this.message = options.message;
    this.logger = options.logger;
    this.minIntervalMs = options.minIntervalMs ?? 1_000;
    this.pacer = options.pacer;
    this.now = options.now ?? Date.now;
    // The message was just posted (or was edited by an earlier attempt): count that as a write.
    this.lastWriteAt = this.now();
  }

  /** Shows progress, throttled. */
  progress(label: string, done: number, total: number): void {
    this.update(progressLine(label, done, total));
  }

  /** Shows a line, throttled: only the latest line of a burst is written. */
  update(text: string): void {
    if (this.ended) return;
    this.pending = text;
    if (this.timer) return;
    const wait = Math.max(0, this.lastWriteAt + this.minIntervalMs - this.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const line = this.pending;
      this.pending = undefined;
      if (line !== undefined && !this.ended) this.enqueueWrite(line);
    }, wait);
  }

  /**
   * Writes the pending line now (still spaced) and waits for every write: a processor calls it before
   * returning, so the next job's writes to the same message cannot overtake this one's.
   */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
      const line = this.pending;
      this.pending = undefined;
      if (line !== undefined && !this.ended) this.enqueueWrite(line);
    }
    await this.chain;
  }

  /** The final line: a result and what to do next. */
  finish(text: string): Promise<void> {
    return this.end(text);
  }

  /** The final line of a failure: what went wrong and what to do next. */
  fail(text: string): Promise<void> {
    return this.end(text);
  }

  private async end(text: string): Promise<void> {
    if (this.ended) return this.chain;
    this.ended = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
    this.enqueueWrite(text);
    return this.chain;
  }

  private enqueueWrite(text: string): void {
    this.chain = this.chain.then(async () => {
      const wait = await this.slot(Math.max(0, this.lastWriteAt + this.minIntervalMs - this.now()));
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      try {
        await this.notifier.edit(this.message, text);
      } catch (error) {
        this.logger.warn(
          { err: error, messageId: this.message.messageId },
          "could not edit the status message",
        );
      } finally {
        this.lastWriteAt = this.now();
      }
    });
  }

  /** How long to wait before the next write: this object's own spacing, and the other processes'. */
  private async slot(ownWait: number): Promise<number> {
    if (!this.pacer) return ownWait;
    try {
      return Math.max(ownWait, await this.pacer.reserve(this.message, this.minIntervalMs, ownWait));
    } catch (error) {
      // Pacing across processes is a courtesy to the platform; the line still goes out, spaced locally.
      this.logger.warn({ err: error, messageId: this.message.messageId }, "could not reserve an edit slot");
      return ownWait;
    }
  }
}
