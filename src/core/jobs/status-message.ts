import { CoalescingWriter } from "../coalescing-writer.js";
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
 * One status message per job, edited in place through a {@link CoalescingWriter}: progress lines are
 * coalesced so the message is written at most once per `minIntervalMs` (the latest line wins), and
 * the final line (`finish` or `fail`) is always written, after the same spacing. A failed edit is
 * logged and never fails the job: progress is a courtesy, the result is what matters.
 */
export class StatusMessage {
  private readonly notifier: Notifier;
  private readonly message: PostedMessage;
  private readonly logger: Logger;
  private readonly writer: CoalescingWriter;
  private ending: Promise<void> | undefined;

  constructor(options: StatusMessageOptions) {
    this.notifier = options.notifier;
    this.message = options.message;
    this.logger = options.logger;
    const now = options.now ?? Date.now;
    this.writer = new CoalescingWriter({
      intervalMs: options.minIntervalMs ?? 1_000,
      logger: options.logger,
      pacing: options.pacer ? { pacer: options.pacer, message: options.message } : undefined,
      // The message was just posted (or was edited by an earlier attempt): count that as a write.
      lastWriteAt: now(),
      now,
    });
  }

  /** Shows progress, throttled. */
  progress(label: string, done: number, total: number): void {
    this.update(progressLine(label, done, total));
  }

  /** Shows a line, throttled: only the latest line of a burst is written. */
  update(text: string): void {
    this.writer.update(() => this.write(text));
  }

  /**
   * Writes the pending line now (still spaced) and waits for every write: a processor calls it before
   * returning, so the next job's writes to the same message cannot overtake this one's.
   */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  /** The final line: a result and what to do next. */
  finish(text: string): Promise<void> {
    return this.end(text);
  }

  /** The final line of a failure: what went wrong and what to do next. */
  fail(text: string): Promise<void> {
    return this.end(text);
  }

  private end(text: string): Promise<void> {
    if (this.ending === undefined) {
      this.writer.close();
      this.ending = this.writer.send(() => this.write(text));
    }
    return this.ending;
  }

  private async write(text: string): Promise<void> {
    try {
      await this.notifier.edit(this.message, text);
    } catch (error) {
      this.logger.warn(
        { err: error, messageId: this.message.messageId },
        "could not edit the status message",
      );
    }
  }
}
