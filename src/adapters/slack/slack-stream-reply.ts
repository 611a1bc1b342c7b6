import type { ChatStopStreamArguments } from "@slack/web-api";
import type { SlackBlock } from "./slack-message-format.js";
import type { SlackReplyPlace } from "./slack-reply-place.js";
import { openFenceAt } from "./split-markdown.js";
import { slackErrorCode } from "./summarize-slack-error.js";

/**
 * A reply in Slack's native stream (`chat.startStream` / `appendStream` / `stopStream`). Unlike the
 * other targets it sends Markdown deltas, not whole messages, so it has its own small interface
 * rather than `ReplyTarget`'s create-or-replace. A stream Slack closed (after about five minutes)
 * continues in a new message, reopening a code block it was in.
 */
export class SlackStreamReply {
  private stream: { ts: string; sent: string } | undefined;
  private stopped = false;

  constructor(
    private readonly place: SlackReplyPlace,
    /** Runs before a stream opens (the status line's message goes). */
    private readonly beforeOpen: () => Promise<void>,
  ) {}

  /** What the current stream message holds (or will open with), Markdown. */
  get sent(): string {
    return this.stream?.sent ?? "";
  }

  /** Whether a stream message exists or is about to open. */
  get isOpen(): boolean {
    return this.stream !== undefined;
  }

  /** The asker pressed stop: nothing more is sent. */
  get stoppedByUser(): boolean {
    return this.stopped;
  }

  /** The next stream message opens with this (a code block reopened after a cut). */
  openNextWith(markdown: string): void {
    this.stream = { ts: "", sent: markdown };
  }

  /** Sends Markdown to the open stream, or opens one. `refused`: the workspace does not stream. */
  async send(markdown: string): Promise<"sent" | "stopped" | "refused"> {
    const { client, target, logger } = this.place;
    let current = this.stream;
    if (current && current.ts !== "") {
      try {
        await client.chat.appendStream({ channel: target.channel, ts: current.ts, markdown_text: markdown });
        current.sent += markdown;
        return "sent";
      } catch (error) {
        const code = slackErrorCode(error);
        if (code === "stopped_by_user") {
          this.stopped = true;
          return "stopped";
        }
        // Slack closed the stream (about five minutes) or lost it: continue in a new message.
        logger.info({ code, channel: target.channel }, "slack stream closed; continuing in a new message");
        const reopen = openFenceAt(current.sent, current.sent.length);
        current = reopen === undefined ? undefined : { ts: "", sent: `${reopen}\n` };
        this.stream = current;
      }
    }
    const opening = `${current?.sent ?? ""}${markdown}`;
    try {
      await this.beforeOpen();
      const response = await client.chat.startStream({
        channel: target.channel,
        thread_ts: this.place.threadTs() ?? "",
        markdown_text: opening,
        ...(target.isDirectMessage
          ? {}
          : { recipient_user_id: target.userId, recipient_team_id: target.teamId }),
      });
      if (typeof response.ts !== "string") throw new Error("chat.startStream returned no ts");
      this.stream = { ts: response.ts, sent: opening };
      return "sent";
    } catch (error) {
      logger.info(
        { code: slackErrorCode(error), channel: target.channel },
        "slack streaming refused; posting and editing instead",
      );
      this.stream = undefined;
      return "refused";
    }
  }

  /** Ends the stream message with `blocks`; false when no open stream could carry them. */
  async stop(blocks: SlackBlock[]): Promise<boolean> {
    const current = this.stream;
    this.stream = undefined;
    if (!current || current.ts === "") return false;
    try {
      await this.place.client.chat.stopStream({
        channel: this.place.target.channel,
        ts: current.ts,
        ...(blocks.length > 0
          ? { blocks: blocks as unknown as NonNullable<ChatStopStreamArguments["blocks"]> }
          : {}),
      });
      return true;
    } catch (error) {
      this.place.logger.info({ code: slackErrorCode(error) }, "slack stream was already closed");
      return false;
    }
  }

  shownMessages(): Record<string, string> {
    return this.stream && this.stream.ts !== "" ? { stream: this.stream.ts } : {};
  }
}
