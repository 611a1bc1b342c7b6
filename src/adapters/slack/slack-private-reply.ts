import type { ReplyVisibility } from "../../core/ports/reply-sink.js";
import type { ReplyTarget } from "../reply-target.js";
import type { SlackOutgoingMessage, SlackReplyPlace } from "./slack-reply-place.js";
import type { SlackThinkingIndicator } from "./slack-thinking-indicator.js";

/** Slack keeps at most five uses of a `response_url` (secondary sources; NOTES.md §4). */
const RESPONSE_URL_USES = 5;

/**
 * A reply the asker alone sees, or one for a place the bot cannot post in: through the slash
 * command's or click's `response_url` while it lasts, else `chat.postEphemeral`. Each message is
 * sent whole (nothing is edited).
 */
export class SlackPrivateReply implements ReplyTarget<SlackOutgoingMessage> {
  /** `in_channel`: a public reply that can only go through the response_url (the bot is not in the channel). */
  responseType: "ephemeral" | "in_channel" = "ephemeral";
  private responseUrlUses = 0;

  constructor(
    private readonly place: SlackReplyPlace,
    private readonly indicator: SlackThinkingIndicator,
    private readonly fetchImpl: typeof fetch,
  ) {}

  async acknowledge(_visibility: ReplyVisibility): Promise<void> {
    await this.indicator.show();
  }

  writeFirst(message: SlackOutgoingMessage): Promise<void> {
    return this.deliver(message);
  }

  writeNext(message: SlackOutgoingMessage): Promise<void> {
    return this.deliver(message);
  }

  private async deliver({ text, blocks }: SlackOutgoingMessage): Promise<void> {
    const { target, logger } = this.place;
    const responseUrl = target.responseUrl;
    if (responseUrl !== undefined && this.responseUrlUses < RESPONSE_URL_USES) {
      this.responseUrlUses += 1;
      const response = await this.fetchImpl(responseUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          response_type: this.responseType,
          replace_original: false,
          text,
          ...(blocks ? { blocks } : {}),
        }),
      });
      if (response.ok) return;
      logger.warn({ status: response.status }, "slack response_url refused the reply");
      if (this.responseType === "in_channel") throw new Error(`response_url answered ${response.status}`);
    }
    const threadTs = this.place.threadTs();
    await this.place.client.chat.postEphemeral({
      channel: target.channel,
      user: target.userId,
      text,
      ...(threadTs !== undefined ? { thread_ts: threadTs } : {}),
      ...(blocks ? { blocks } : {}),
    });
  }
}
