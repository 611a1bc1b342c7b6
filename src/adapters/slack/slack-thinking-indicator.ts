import type { SlackReplyPlace } from "./slack-reply-place.js";
import { THINKING_REACTION } from "./slack-reply-place.js";
import { slackErrorCode } from "./summarize-slack-error.js";

/**
 * The first sign of a reply: "is thinking…" in an assistant thread, a 👀 reaction on the asker's
 * message elsewhere. Shown only when core starts a reply, so a message core leaves alone shows
 * nothing; cleared when the reply ends. Failures are logged, never the asker's problem.
 */
export class SlackThinkingIndicator {
  private shown: "reaction" | "status" | undefined;

  constructor(private readonly place: SlackReplyPlace) {}

  async show(): Promise<void> {
    const { client, target, logger } = this.place;
    const threadTs = this.place.threadTs();
    if (target.isAssistantThread && threadTs !== undefined) {
      try {
        await client.assistant.threads.setStatus({
          channel_id: target.channel,
          thread_ts: threadTs,
          status: "is thinking…",
        });
        this.shown = "status";
        return;
      } catch (error) {
        logger.debug({ code: slackErrorCode(error) }, "assistant status unavailable; using a reaction");
      }
    }
    if (target.messageTs === undefined) return;
    try {
      await client.reactions.add({
        channel: target.channel,
        timestamp: target.messageTs,
        name: THINKING_REACTION,
      });
      this.shown = "reaction";
    } catch (error) {
      logger.debug({ code: slackErrorCode(error) }, "thinking reaction not added");
    }
  }

  async clear(): Promise<void> {
    const { client, target, logger } = this.place;
    const threadTs = this.place.threadTs();
    try {
      if (this.shown === "reaction" && target.messageTs !== undefined) {
        await client.reactions.remove({
          channel: target.channel,
          timestamp: target.messageTs,
          name: THINKING_REACTION,
        });
      } else if (this.shown === "status" && threadTs !== undefined) {
        await client.assistant.threads.setStatus({
          channel_id: target.channel,
          thread_ts: threadTs,
          status: "",
        });
      }
    } catch (error) {
      logger.debug({ code: slackErrorCode(error) }, "thinking indicator not cleared");
    }
    this.shown = undefined;
  }

  /** Shows a status line in the assistant thread's status; false where there is none (the caller posts it). */
  async showStatus(line: string): Promise<boolean> {
    const threadTs = this.place.threadTs();
    if (this.shown !== "status" || threadTs === undefined) return false;
    try {
      await this.place.client.assistant.threads.setStatus({
        channel_id: this.place.target.channel,
        thread_ts: threadTs,
        status: line,
      });
    } catch (error) {
      this.place.logger.debug({ code: slackErrorCode(error) }, "assistant status not set");
    }
    return true;
  }

  /** The asker's message carrying 👀, or the assistant thread showing the status. */
  shownMessages(): Record<string, string> {
    const threadTs = this.place.threadTs();
    if (this.shown === "reaction" && this.place.target.messageTs !== undefined)
      return { reaction: this.place.target.messageTs };
    if (this.shown === "status" && threadTs !== undefined) return { assistantStatus: threadTs };
    return {};
  }
}
