import type { ApprovalPrompt, ReplyFinish, ReplySink, ReplyStart } from "../../src/core/ports/reply-sink.js";

export type SinkEvent =
  | { kind: "start"; options: ReplyStart }
  | { kind: "append"; text: string }
  | { kind: "status"; line: string }
  | { kind: "approval"; prompt: ApprovalPrompt }
  | { kind: "finish"; result: ReplyFinish }
  | { kind: "fail"; message: string };

/** A reply sink that keeps every call in order; `onApproval` lets a test click a button. */
export class RecordingReplySink implements ReplySink {
  readonly events: SinkEvent[] = [];
  onApproval: ((prompt: ApprovalPrompt) => void) | undefined;

  get text(): string {
    return this.events.flatMap((event) => (event.kind === "append" ? [event.text] : [])).join("");
  }

  get statuses(): string[] {
    return this.events.flatMap((event) => (event.kind === "status" ? [event.line] : []));
  }

  get approvals(): ApprovalPrompt[] {
    return this.events.flatMap((event) => (event.kind === "approval" ? [event.prompt] : []));
  }

  async start(options: ReplyStart): Promise<void> {
    this.events.push({ kind: "start", options });
  }
  async append(text: string): Promise<void> {
    this.events.push({ kind: "append", text });
  }
  async status(line: string): Promise<void> {
    this.events.push({ kind: "status", line });
  }
  async finish(result: ReplyFinish): Promise<void> {
    this.events.push({ kind: "finish", result });
  }
  async fail(message: string): Promise<void> {
    this.events.push({ kind: "fail", message });
  }
  async requestApproval(prompt: ApprovalPrompt): Promise<void> {
    this.events.push({ kind: "approval", prompt });
    this.onApproval?.(prompt);
  }

  /** The same recorder seen through a sink that cannot post buttons (no `requestApproval`). */
  withoutButtons(): ReplySink {
    return {
      start: (options) => this.start(options),
      append: (text) => this.append(text),
      status: (line) => this.status(line),
      finish: (result) => this.finish(result),
      fail: (message) => this.fail(message),
    };
  }
}
