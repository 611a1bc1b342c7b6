import type { Logger } from "./ports/logger.js";
import type { ApprovalPrompt, ProgressUpdate, ReplyFinish, ReplySink, ReplyStart } from "./types.js";

/**
 * Enforces the sink's call order for core code: `start` once, then text, then exactly one ending.
 * Core can then `fail` from any point (even before `start`) and the user always gets a sentence,
 * and a second ending is dropped instead of confusing a platform renderer.
 */
export class ReplyGuard implements ReplySink {
  private state: "idle" | "started" | "ended" = "idle";
  private text = "";

  /** Present only when the platform can post Approve / Deny buttons mid-answer. */
  readonly requestApproval?: (prompt: ApprovalPrompt) => Promise<void>;

  constructor(
    private readonly sink: ReplySink,
    private readonly logger: Logger,
  ) {
    const requestApproval = sink.requestApproval?.bind(sink);
    if (requestApproval) {
      this.requestApproval = async (prompt) => {
        if (this.state === "ended") return;
        await this.start({ visibility: "everyone" });
        await requestApproval(prompt);
      };
    }
  }

  get ended(): boolean {
    return this.state === "ended";
  }

  /** Everything appended so far. */
  get appendedText(): string {
    return this.text;
  }

  async start(options: ReplyStart): Promise<void> {
    if (this.state !== "idle") return;
    this.state = "started";
    await this.sink.start(options);
  }

  async append(text: string): Promise<void> {
    if (this.state === "ended" || text.length === 0) return;
    await this.start({ visibility: "everyone" });
    this.text += text;
    await this.sink.append(text);
  }

  async status(line: string): Promise<void> {
    if (this.state === "ended") return;
    await this.start({ visibility: "everyone" });
    await this.sink.status(line);
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
    this.state = "ended";
    await this.sink.finish(result);
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
    this.state = "ended";
    await this.sink.fail(message);
  }
}
