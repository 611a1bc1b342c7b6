import type { ReplyFinish, ReplySink, ReplyStart } from "../../core/types.js";

export interface TerminalReplySinkOptions {
  output: NodeJS.WritableStream;
  /** Status lines (tool activity, "searching…") go here, so scripted stdout holds only answers. */
  statusOutput: NodeJS.WritableStream;
  /** Dim status lines with ANSI codes when writing to a terminal. */
  colors: boolean;
}

/** Renders a reply in the terminal: text as it streams, then the numbered sources. */
export class TerminalReplySink implements ReplySink {
  private endsWithNewline = true;

  constructor(private readonly options: TerminalReplySinkOptions) {}

  private write(text: string): void {
    if (text.length === 0) return;
    this.options.output.write(text);
    this.endsWithNewline = text.endsWith("\n");
  }

  async start(_options: ReplyStart): Promise<void> {
    this.write("teammate> ");
  }

  async append(text: string): Promise<void> {
    this.write(text);
  }

  async status(line: string): Promise<void> {
    const text = this.options.colors ? `\x1b[2m… ${line}\x1b[0m\n` : `… ${line}\n`;
    this.options.statusOutput.write(text);
  }

  async finish(result: ReplyFinish): Promise<void> {
    if (!this.endsWithNewline) this.write("\n");
    if (result.sources.length > 0) {
      this.write(
        `Sources:\n${result.sources.map((source) => `  [${source.index}] ${source.title} — ${source.location}`).join("\n")}\n`,
      );
    }
  }

  async fail(message: string): Promise<void> {
    if (!this.endsWithNewline) this.write("\n");
    this.write(`${message}\n`);
  }
}
