import type { APIActionRowComponent, APIButtonComponent, APIEmbed } from "discord.js";
import { CoalescingWriter } from "../../core/coalescing-writer.js";
import type { Logger } from "../../core/ports/logger.js";
import type {
  ApprovalPrompt,
  ReplyButton,
  ReplyFinish,
  ReplySink,
  ReplyStart,
} from "../../core/ports/reply-sink.js";
import type { Source } from "../../core/types.js";
import type { ReplyTarget } from "../reply-target.js";
import { DISCORD_MESSAGE_LIMIT, splitDiscordMessage } from "./split-discord-message.js";

/** One Discord message as the sink renders it, before a target turns it into a REST call. */
export interface DiscordOutgoingMessage {
  content: string;
  embeds?: APIEmbed[];
  components?: APIActionRowComponent<APIButtonComponent>[];
  files?: Array<{ name: string; data: Buffer }>;
}

/**
 * Where a reply goes: an interaction (deferred reply, `@original` edits, follow-ups) or a message
 * that mentioned teammate (a reply, its edits, further channel messages). The sink decides what to
 * say and when; a target only knows how to say it.
 */
export type DiscordReplyTarget = ReplyTarget<DiscordOutgoingMessage>;

export interface DiscordReplySinkOptions {
  target: DiscordReplyTarget;
  logger: Logger;
  /** Minimum time between two writes of the same message. Discord's guidance: about one edit per second. */
  editIntervalMs?: number;
  /** Answers needing more messages than this go as a Markdown file instead. */
  maxMessages?: number;
  /** Told where core wants the reply (`ReplyStart.placement`) before the target shows anything. */
  place?: ((placement: ReplyStart["placement"]) => void) | undefined;
}

const EMBED_DESCRIPTION_LIMIT = 4096;
const EMBED_LINE_LIMIT = 300;
const CUSTOM_ID_LIMIT = 100;
const SOURCES_COLOR = 0x5865f2;
export const INTERRUPTED_MARK = "\n\n*… (interrupted: this answer is unfinished)*";

/**
 * Renders core's reply stream on Discord: text streams into the first message by throttled edits,
 * the final answer is split at paragraph or code-block boundaries into ordered messages of at most
 * 2000 characters (or attached as `answer.md` when very long), sources go in an embed and buttons
 * in an action row on the last message.
 */
export class DiscordReplySink implements ReplySink {
  private readonly target: DiscordReplyTarget;
  private readonly logger: Logger;
  private readonly maxMessages: number;
  private readonly place: DiscordReplySinkOptions["place"];
  /** Paces every write of the first message: streamed previews coalesce, final renders queue behind them. */
  private readonly writer: CoalescingWriter;
  private text = "";
  private statusLine: string | undefined;
  private started = false;
  private ended = false;
  private lastPreview = "";

  constructor(options: DiscordReplySinkOptions) {
    this.target = options.target;
    this.logger = options.logger;
    this.maxMessages = options.maxMessages ?? 4;
    this.place = options.place;
    this.writer = new CoalescingWriter({
      intervalMs: options.editIntervalMs ?? 1000,
      logger: options.logger,
    });
  }

  /** Whether core has started a reply; the adapter acknowledges on its own otherwise. */
  get hasStarted(): boolean {
    return this.started;
  }

  async start(options: ReplyStart): Promise<void> {
    this.started = true;
    this.place?.(options.placement);
    await this.target.acknowledge(options.visibility);
  }

  /** What this reply shows while unfinished, for `DiscordNotifier.endAbandonedReply`. */
  shownMessages(): Record<string, string> {
    return this.target.shownMessages?.() ?? {};
  }

  async append(text: string): Promise<void> {
    if (this.ended) return;
    this.text += text;
    this.schedulePreview();
  }

  async status(line: string): Promise<void> {
    if (this.ended) return;
    this.statusLine = line;
    this.schedulePreview();
  }

  async finish(result: ReplyFinish): Promise<void> {
    if (this.ended) return;
    if (!this.started) await this.start({ visibility: "everyone" });
    this.end();
    const text = this.text.trim() === "" ? "(no answer)" : this.text.trim();
    const extras: Pick<DiscordOutgoingMessage, "embeds" | "components"> = {};
    const embed = renderSourcesEmbed(result.sources);
    if (embed) extras.embeds = [embed];
    const row = renderButtons(result.buttons);
    if (row) extras.components = [row];

    const messages = splitDiscordMessage(text);
    if (messages.length > this.maxMessages) {
      const preview = splitDiscordMessage(text, 1500)[0] ?? "";
      await this.writeFirst({
        content: `${preview}\n\n*The full answer is long, so it is attached as answer.md.*`,
        files: [{ name: "answer.md", data: Buffer.from(text, "utf8") }],
        ...extras,
      });
      return;
    }
    const [first = text, ...rest] = messages;
    await this.writeFirst({ content: first, ...(rest.length === 0 ? extras : {}) });
    for (const [index, content] of rest.entries()) {
      await this.target.writeNext({ content, ...(index === rest.length - 1 ? extras : {}) });
    }
  }

  /**
   * Posts the Approve / Deny request as a message of its own after the reply's first message (a
   * follow-up for an interaction, a channel message for a mention), so the answer streaming into the
   * first message never overwrites the buttons. The first message is written before the request: a
   * deferred "thinking…" placeholder left empty could otherwise be taken over by the follow-up.
   */
  async requestApproval(prompt: ApprovalPrompt): Promise<void> {
    if (this.ended) return;
    if (!this.started) await this.start({ visibility: "everyone" });
    this.statusLine = "Waiting for approval…";
    const [content = ""] = splitDiscordMessage(`**Approval needed**: ${prompt.text}`);
    const row = renderButtons(prompt.buttons);
    // Queued with the previews, so the first message is written before the request goes out.
    const preview = this.previewContent();
    await this.writer.send(async () => {
      if (preview !== undefined) await this.writePreview(preview);
      await this.target.writeNext({ content, ...(row ? { components: [row] } : {}) });
    });
  }

  async fail(message: string): Promise<void> {
    if (this.ended) return;
    if (!this.started) await this.start({ visibility: "asker" });
    this.end();
    // A partial answer stays, marked as cut, above the sentence: never mistaken for a finished answer.
    const partial = this.text.trim();
    const room = DISCORD_MESSAGE_LIMIT - message.length - INTERRUPTED_MARK.length - 10;
    const kept = partial === "" || room < 200 ? "" : (splitDiscordMessage(partial, room)[0] ?? "");
    const content = kept === "" ? message : `${kept}${INTERRUPTED_MARK}\n\n${message}`;
    const [first = message] = splitDiscordMessage(content);
    await this.writeFirst({ content: first });
  }

  private end(): void {
    this.ended = true;
    this.writer.close();
  }

  private schedulePreview(): void {
    if (!this.started) return;
    this.writer.update(async () => {
      const content = this.previewContent();
      if (content !== undefined) await this.writePreview(content);
    });
  }

  /** A streaming preview that fits in the first message (the final render replaces it), or none when unchanged. */
  private previewContent(): string | undefined {
    if (this.ended) return undefined;
    let content = this.text.trim();
    if (content.length > DISCORD_MESSAGE_LIMIT - 40) {
      content = `${splitDiscordMessage(content, DISCORD_MESSAGE_LIMIT - 40)[0] ?? ""}\n…`;
    }
    if (this.statusLine)
      content = content === "" ? `*${this.statusLine}*` : `${content}\n\n*${this.statusLine}*`;
    return content === "" || content === this.lastPreview ? undefined : content;
  }

  private async writePreview(content: string): Promise<void> {
    try {
      await this.target.writeFirst({ content });
      this.lastPreview = content;
    } catch (error) {
      // A lost preview is harmless: the final render rewrites the message.
      this.logger.warn({ err: error }, "discord preview edit failed");
    }
  }

  /** The final render of the first message, after the previews and spaced like them. */
  private writeFirst(message: DiscordOutgoingMessage): Promise<void> {
    return this.writer.send(() => this.target.writeFirst(message));
  }
}

/** The sources as one embed whose text stays well inside Discord's embed limits, or none. */
function renderSourcesEmbed(sources: readonly Source[]): APIEmbed | undefined {
  if (sources.length === 0) return undefined;
  const lines: string[] = [];
  let length = 0;
  for (const source of sources) {
    const title = source.title.replace(/[[\]]/g, "").slice(0, 150) || source.documentId;
    const line = (
      /^https?:\/\//.test(source.location)
        ? `[${source.index}] [${title}](${source.location})`
        : `[${source.index}] ${title} — ${source.location}`
    ).slice(0, EMBED_LINE_LIMIT);
    if (length + line.length + 1 > EMBED_DESCRIPTION_LIMIT - 40) {
      lines.push(`… and ${sources.length - lines.length} more`);
      break;
    }
    lines.push(line);
    length += line.length + 1;
  }
  return { title: "Sources", description: lines.join("\n"), color: SOURCES_COLOR };
}

/** Encodes a button as `action:value`, the custom_id the adapter decodes when it is clicked. */
function encodeButtonId(action: string, value: string): string {
  return `${action}:${value}`.slice(0, CUSTOM_ID_LIMIT);
}

function renderButtons(
  buttons: readonly ReplyButton[],
): APIActionRowComponent<APIButtonComponent> | undefined {
  if (buttons.length === 0) return undefined;
  return {
    type: 1,
    components: buttons.slice(0, 5).map((button) => ({
      type: 2,
      style: button.style === "primary" ? 1 : button.style === "danger" ? 4 : 2,
      label: button.label.slice(0, 80),
      custom_id: encodeButtonId(button.action, button.value),
    })),
  };
}
