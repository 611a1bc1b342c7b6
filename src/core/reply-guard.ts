import { neutralizeMentions, OutgoingTextFilter, safeOutgoingText } from "./outgoing-text.js";
import type { Logger } from "./ports/logger.js";
import type {
  ApprovalPrompt,
  ProgressUpdate,
  ReplyFinish,
  ReplySink,
  ReplyStart,
} from "./ports/reply-sink.js";

/**
 * Enforces the sink's call order for core code: `start` once, then text, then exactly one ending.
 * Core can then `fail` from any point (even before `start`) and the user always gets a sentence,
 * and a second ending is dropped instead of confusing a platform renderer.
 *
 * It is also the one door every chat message leaves core through, so it makes all of them safe
 * (see `outgoing-text.ts`): secrets redacted and mentions neutralised in answers, status lines,
 * approval requests and failure sentences alike. Streamed text keeps an unfinished last word back
 * until the next piece, so a mention split across two pieces is still caught.
 */
export class ReplyGuard implements ReplySink {
  private state: "idle" | "started" | "ended" = "idle";
  private text = "";
  private readonly filter: OutgoingTextFilter;
  private lastShownAt = 0;

  /**
   * Where the reply goes, as core decided from the channel's reply mode before the first sign; sent
   * with every `start`.
   */
  placement: ReplyStart["placement"];

  /** Present only when the platform can post Approve / Deny buttons mid-answer. */
  readonly requestApproval?: (prompt: ApprovalPrompt) => Promise<void>;

  constructor(
    private readonly sink: ReplySink,
    private readonly logger: Logger,
    private readonly secrets: readonly string[] = [],
    /** Told after the reply first shows something and after each status line (open-reply records). */
    private readonly onShown?: () => void,
  ) {
    this.filter = new OutgoingTextFilter(secrets);
    const requestApproval = sink.requestApproval?.bind(sink);
    if (requestApproval) {
      this.requestApproval = async (prompt) => {
        if (this.state === "ended") return;
        await this.start({ visibility: "everyone" });
        await this.flushHeld();
        await requestApproval({ ...prompt, text: safeOutgoingText(prompt.text, this.secrets) });
      };
    }
  }

  get ended(): boolean {
    return this.state === "ended";
  }

  /** When the person last saw something happen (a start, text or a status line), in epoch milliseconds. */
  get lastSignAt(): number {
    return this.lastShownAt;
  }

  /** Everything sent so far (after redaction and neutralisation). */
  get appendedText(): string {
    return this.text;
  }

  async start(options: ReplyStart): Promise<void> {
    if (this.state !== "idle") return;
    this.state = "started";
    this.lastShownAt = Date.now();
    await this.sink.start(
      this.placement === undefined || options.placement !== undefined
        ? options
        : { ...options, placement: this.placement },
    );
    this.onShown?.();
  }

  async append(text: string): Promise<void> {
    if (this.state === "ended" || text.length === 0) return;
    await this.start({ visibility: "everyone" });
    this.lastShownAt = Date.now();
    await this.send(this.filter.push(text));
  }

  async status(line: string): Promise<void> {
    if (this.state === "ended") return;
    await this.start({ visibility: "everyone" });
    this.lastShownAt = Date.now();
    await this.sink.status(safeOutgoingText(line, this.secrets));
    this.onShown?.();
  }

  /**
   * Passes progress to a sink that draws it; returns false (and does nothing) when the sink has no
   * progress display, so the caller falls back to throttled status lines.
   */
  async showProgress(update: ProgressUpdate): Promise<boolean> {
    if (this.state === "ended" || !this.sink.progress) return false;
    await this.start({ visibility: "everyone" });
    await this.sink.progress(update);
    return true;
  }

  async finish(result: ReplyFinish): Promise<void> {
    if (this.state === "ended") return;
    await this.start({ visibility: "everyone" });
    await this.flushHeld();
    this.state = "ended";
    await this.sink.finish({
      ...result,
      sources: result.sources.map((source) => ({ ...source, title: neutralizeMentions(source.title) })),
    });
  }

  /** Sends a complete short reply: start, text, finish. */
  async say(text: string, visibility: ReplyStart["visibility"] = "everyone"): Promise<void> {
    await this.start({ visibility });
    await this.append(text);
    await this.finish({ sources: [], buttons: [] });
  }

  async fail(message: string): Promise<void> {
    if (this.state === "ended") {
      this.logger.warn("reply already ended; failure message dropped");
      return;
    }
    await this.start({ visibility: "asker" });
    try {
      await this.flushHeld();
    } catch (error) {
      // The sentence matters more than the last held word of a broken answer.
      this.logger.warn({ err: error }, "could not show the end of the partial answer");
    }
    this.state = "ended";
    await this.sink.fail(safeOutgoingText(message, this.secrets));
  }

  private async flushHeld(): Promise<void> {
    await this.send(this.filter.flush());
  }

  private async send(text: string): Promise<void> {
    if (text.length === 0) return;
    const first = this.text.length === 0;
    this.text += text;
    await this.sink.append(text);
    if (first) this.onShown?.();
  }
}
