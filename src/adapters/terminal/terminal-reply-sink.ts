import { Presets, SingleBar } from "cli-progress";
import type { ProgressUpdate, ReplyFinish, ReplySink, ReplyStart } from "../../core/ports/reply-sink.js";

export interface TerminalReplySinkOptions {
  output: NodeJS.WritableStream;
  /** Status lines (tool activity, "searching…") go here, so scripted stdout holds only answers. */
  statusOutput: NodeJS.WritableStream;
  /** Dim status lines with ANSI codes when writing to a terminal. */
  colors: boolean;
  /**
   * Renders Markdown for the terminal (bold, lists, code, links, tables). Given only on a TTY:
   * answers are then printed block by block as each completes, and status lines and progress bars
   * are drawn in place. Without it (piped output) text is written exactly as it streams.
   */
  renderMarkdown?: ((markdown: string) => string) | undefined;
}

const LIST_ITEM = /^\s*(?:[-*+]|\d+[.)])\s/;
const FENCE = /^\s*(?:```|~~~)/;

/**
 * Where the text received so far can be cut into blocks that render on their own: after a blank
 * line outside a code fence, when the next complete line does not continue a list (rendering list
 * items apart would restart their numbering) and is not indented (a continuation).
 */
function completeBlocksEnd(text: string): number {
  const lines = text.split("\n");
  let offset = 0;
  let inFence = false;
  let cut = 0;
  // The last element has no newline yet: it is incomplete and never decides a cut.
  for (let index = 0; index < lines.length - 1; index += 1) {
    const line = lines[index] ?? "";
    if (FENCE.test(line)) inFence = !inFence;
    const next = lines[index + 1];
    const nextComplete = index + 1 < lines.length - 1;
    if (!inFence && line.trim() === "" && next !== undefined && nextComplete && next.trim() !== "") {
      const previous = lines
        .slice(0, index)
        .reverse()
        .find((candidate) => candidate.trim() !== "");
      const continuesList = LIST_ITEM.test(next) && previous !== undefined && LIST_ITEM.test(previous);
      if (!continuesList && !/^\s/.test(next)) cut = offset + line.length + 1;
    }
    offset += line.length + 1;
  }
  return cut;
}

/** Renders a reply in the terminal: text as it streams (or rendered block by block), then the sources. */
export class TerminalReplySink implements ReplySink {
  private endsWithNewline = true;
  private pending = "";
  private statusShown = false;
  private bar: SingleBar | undefined;
  private barKey = "";

  constructor(private readonly options: TerminalReplySinkOptions) {}

  private get rendering(): boolean {
    return this.options.renderMarkdown !== undefined;
  }

  private write(text: string): void {
    if (text.length === 0) return;
    this.clearStatus();
    this.options.output.write(text);
    this.endsWithNewline = text.endsWith("\n");
  }

  private clearStatus(): void {
    if (!this.statusShown) return;
    this.statusShown = false;
    this.options.output.write("\r\x1b[2K");
  }

  private stopBar(): void {
    if (!this.bar) return;
    this.bar.stop();
    this.bar = undefined;
    this.barKey = "";
  }

  private renderBlocks(markdown: string): void {
    const render = this.options.renderMarkdown;
    if (!render || markdown.trim() === "") return;
    this.write(render(markdown).replace(/\n+$/, "\n"));
  }

  async start(_options: ReplyStart): Promise<void> {
    this.pending = "";
    // Rendered answers are blocks as wide as the terminal, so the label gets a line of its own.
    if (this.rendering) this.write("\x1b[1;36mteammate>\x1b[0m\n");
    else this.write(this.options.colors ? "\x1b[1;36mteammate>\x1b[0m " : "teammate> ");
  }

  async append(text: string): Promise<void> {
    if (!this.rendering) {
      this.write(text);
      return;
    }
    this.stopBar();
    this.pending += text;
    const end = completeBlocksEnd(this.pending);
    if (end === 0) return;
    const ready = this.pending.slice(0, end);
    this.pending = this.pending.slice(end);
    this.renderBlocks(ready);
  }

  async status(line: string): Promise<void> {
    if (this.rendering) {
      // One status line, redrawn in place and cleared by the next text.
      this.stopBar();
      this.clearStatus();
      this.options.output.write(`\x1b[2m… ${line}\x1b[0m`);
      this.statusShown = true;
      return;
    }
    const text = this.options.colors ? `\x1b[2m… ${line}\x1b[0m\n` : `… ${line}\n`;
    this.options.statusOutput.write(text);
  }

  /** A progress bar drawn in place on a terminal; one status line per step when piped. */
  async progress(update: ProgressUpdate): Promise<void> {
    if (!this.rendering) {
      await this.status(`${update.label} ${update.item}: ${update.done}/${update.total}`);
      return;
    }
    this.clearStatus();
    if (!this.bar || this.barKey !== update.item) {
      this.stopBar();
      if (!this.endsWithNewline) this.write("\n");
      this.bar = new SingleBar(
        {
          format: "{label} {item} {bar} {value}/{total}",
          stream: this.options.output,
          hideCursor: true,
          clearOnComplete: true,
          barsize: 24,
        },
        Presets.shades_classic,
      );
      this.barKey = update.item;
      this.bar.start(Math.max(update.total, 1), update.done, { label: update.label, item: update.item });
    }
    this.bar.setTotal(Math.max(update.total, 1));
    this.bar.update(update.done, { label: update.label, item: update.item });
  }

  async finish(result: ReplyFinish): Promise<void> {
    this.stopBar();
    if (this.rendering) {
      this.renderBlocks(this.pending);
      this.pending = "";
    }
    if (!this.endsWithNewline) this.write("\n");
    if (result.sources.length > 0) {
      const lines = result.sources.map(
        (source) => `  [${source.index}] ${source.title} — ${source.location}`,
      );
      this.write(`${this.options.colors ? "\x1b[2mSources:\x1b[0m" : "Sources:"}\n${lines.join("\n")}\n`);
    }
  }

  async fail(message: string): Promise<void> {
    this.stopBar();
    if (this.rendering) {
      this.renderBlocks(this.pending);
      this.pending = "";
    }
    if (!this.endsWithNewline) this.write("\n");
    this.write(`${message}\n`);
  }
}
