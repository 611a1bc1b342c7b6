import type { ReplyFinish, ReplySink, ReplyStart } from "../../src/core/ports/reply-sink.js";

/** A reply sink that records every call, for asserting on what a platform would have rendered. */
export class RecordingSink implements ReplySink {
  readonly events: Array<{ type: string; value?: unknown }> = [];
  text = "";
  started: ReplyStart | undefined;
  finished: ReplyFinish | undefined;
  failed: string | undefined;
  statuses: string[] = [];

  async start(options: ReplyStart): Promise<void> {
    this.started = options;
    this.events.push({ type: "start", value: options });
  }
  async append(text: string): Promise<void> {
    this.text += text;
    this.events.push({ type: "append", value: text });
  }
  async status(line: string): Promise<void> {
    this.statuses.push(line);
    this.events.push({ type: "status", value: line });
  }
  async finish(result: ReplyFinish): Promise<void> {
    this.finished = result;
    this.events.push({ type: "finish", value: result });
  }
  async fail(message: string): Promise<void> {
    this.failed = message;
    this.events.push({ type: "fail", value: message });
  }

  /** Whatever the user would read: the answer text or the failure sentence. */
  get visible(): string {
    return this.failed ?? this.text;
  }
}
