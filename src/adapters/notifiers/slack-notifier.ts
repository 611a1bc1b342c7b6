import { WebClient } from "@slack/web-api";
import { AppError } from "../../core/errors.js";
import type { Notifier, PostedMessage, PostOptions } from "../../core/ports/notifier.js";
import type { ConversationRef } from "../../core/types.js";

export interface SlackNotifierOptions {
  botToken: string;
  /** Slack Web API base URL ending in `/api/` (GovSlack, proxies, local stand-ins). */
  apiUrl?: string | undefined;
}

// Slack accepts 40 000 characters in `text` but truncates what it shows; status lines are short anyway.
const MAX_TEXT = 3_900;

/**
 * Posts and edits the bot's own status messages with `chat.postMessage` / `chat.update` on the Web
 * API: no Socket Mode or Events connection, so a worker process can report progress for as long as
 * a job runs, past the roughly five minutes a Slack stream stays open.
 *
 * @see https://api.slack.com/methods/chat.update
 */
export class SlackNotifier implements Notifier {
  private readonly client: WebClient;

  constructor(options: SlackNotifierOptions) {
    this.client = new WebClient(options.botToken, {
      ...(options.apiUrl ? { slackApiUrl: options.apiUrl } : {}),
      // A status edit that cannot get through within seconds is better skipped than queued for minutes.
      retryConfig: { retries: 2, maxTimeout: 2_000 },
    });
  }

  async post(where: ConversationRef, text: string, options: PostOptions = {}): Promise<PostedMessage> {
    const mention = options.notify ? `<@${options.notify}> ` : "";
    const result = await this.call("post a status message", () =>
      this.client.chat.postMessage({
        channel: where.channelId,
        text: `${mention}${text}`.slice(0, MAX_TEXT),
        ...(where.threadId ? { thread_ts: where.threadId } : {}),
        // A status line may name a URL someone asked to index: no preview fetches it.
        unfurl_links: false,
        unfurl_media: false,
      }),
    );
    if (!result.ts)
      throw new AppError("tool_failed", "Slack returned no ts for the status message", {
        category: "third_party",
      });
    return {
      platform: "slack",
      workspaceId: where.workspaceId,
      channelId: where.channelId,
      threadId: where.threadId,
      messageId: result.ts,
    };
  }

  async edit(message: PostedMessage, text: string): Promise<void> {
    await this.call("edit a status message", () =>
      this.client.chat.update({
        channel: message.channelId,
        ts: message.messageId,
        text: text.slice(0, MAX_TEXT),
      }),
    );
  }

  private async call<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      const code = (error as { data?: { error?: string } }).data?.error;
      throw new AppError("tool_failed", `Slack: could not ${what}${code ? ` (${code})` : ""}`, {
        cause: error,
        category: "third_party",
        retryable: true,
      });
    }
  }
}
