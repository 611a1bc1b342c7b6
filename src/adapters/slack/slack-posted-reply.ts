import type { ReplyVisibility } from "../../core/ports/reply-sink.js";
import type { ReplyTarget } from "../reply-target.js";
import { markdownToMrkdwn } from "./slack-message-format.js";
import type { SlackOutgoingMessage, SlackReplyPlace } from "./slack-reply-place.js";
import type { SlackThinkingIndicator } from "./slack-thinking-indicator.js";
import { slackErrorCode } from "./summarize-slack-error.js";

/**
 * A reply posted with `chat.postMessage` and edited with `chat.update`: the answer's messages in
 * order (each edited in place as the answer grows), and a status line shown as a small message of
 * its own until the answer begins (then it becomes the answer's first message, or goes).
 */
export class SlackPostedReply implements ReplyTarget<SlackOutgoingMessage> {
  private readonly messages: Array<{ ts: string; shown: string }> = [];
  private statusMessageTs: string | undefined;
  private lastStatusAt = 0;

  constructor(
    private readonly place: SlackReplyPlace,
    private readonly indicator: SlackThinkingIndicator,
    private readonly intervalMilliseconds: number,
  ) {}

  async acknowledge(_visibility: ReplyVisibility): Promise<void> {
    await this.indicator.show();
  }

  /** Whether a status line's message is shown (it becomes the answer's first message). */
  get hasStatusLine(): boolean {
    return this.statusMessageTs !== undefined;
  }

  /** How many of the answer's messages are posted. */
  get count(): number {
    return this.messages.length;
  }

  async writeFirst(message: SlackOutgoingMessage): Promise<void> {
    await this.writeAt(0, message);
  }

  async writeNext(message: SlackOutgoingMessage): Promise<void> {
    this.messages.push({ ts: await this.post(message), shown: message.text });
  }

  /**
   * Makes the answer's `index`-th message show `message`: an edit when it exists (skipped when
   * nothing changed and no blocks come with it), else a new message (the status line's, if shown).
   */
  async writeAt(index: number, message: SlackOutgoingMessage): Promise<void> {
    if (this.messages.length === 0 && this.statusMessageTs !== undefined) {
      // The status line's message becomes the first piece of the answer.
      this.messages.push({ ts: this.statusMessageTs, shown: "" });
      this.statusMessageTs = undefined;
    }
    const existing = this.messages[index];
    if (!existing) return this.writeNext(message);
    if (existing.shown === message.text && message.blocks === undefined) return;
    await this.place.client.chat.update({
      channel: this.place.target.channel,
      ts: existing.ts,
      text: message.text,
      ...(message.blocks ? { blocks: message.blocks } : {}),
    });
    existing.shown = message.text;
  }

  /** Posts one message in the reply's thread (or channel); its ts. */
  async post(message: SlackOutgoingMessage): Promise<string> {
    const threadTs = this.place.threadTs();
    const response = await this.place.client.chat.postMessage({
      channel: this.place.target.channel,
      text: message.text,
      ...(threadTs !== undefined ? { thread_ts: threadTs } : {}),
      ...(message.blocks ? { blocks: message.blocks } : {}),
      unfurl_links: false,
      unfurl_media: false,
    });
    if (typeof response.ts !== "string") throw new Error("chat.postMessage returned no ts");
    return response.ts;
  }

  /** A status line as a small italic message, edited at most once per interval; never an error. */
  async showStatusLine(line: string): Promise<void> {
    const text = `_${markdownToMrkdwn(line).replace(/[_*]/g, "")}_`;
    try {
      if (this.statusMessageTs === undefined) {
        this.statusMessageTs = await this.post({ text });
      } else if (Date.now() - this.lastStatusAt >= this.intervalMilliseconds) {
        await this.place.client.chat.update({
          channel: this.place.target.channel,
          ts: this.statusMessageTs,
          text,
        });
      } else {
        return;
      }
      this.lastStatusAt = Date.now();
    } catch (error) {
      this.place.logger.debug({ code: slackErrorCode(error) }, "status line not shown");
    }
  }

  async deleteStatusLine(): Promise<void> {
    const ts = this.statusMessageTs;
    if (ts === undefined) return;
    this.statusMessageTs = undefined;
    try {
      await this.place.client.chat.delete({ channel: this.place.target.channel, ts });
    } catch (error) {
      this.place.logger.debug({ code: slackErrorCode(error) }, "status message not deleted");
    }
  }

  shownMessages(): Record<string, string> {
    return this.statusMessageTs !== undefined ? { status: this.statusMessageTs } : {};
  }
}
