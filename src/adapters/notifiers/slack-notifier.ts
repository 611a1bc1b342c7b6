import { WebClient } from "@slack/web-api";
import { AppError } from "../../core/errors.js";
import type { OpenWork } from "../../core/ports/memory-store.js";
import type { Notifier, PostedMessage, PostOptions } from "../../core/ports/notifier.js";
import type { ConversationRef } from "../../core/types.js";
import { INTERRUPTED_MARK, THINKING_REACTION } from "../slack/slack-reply-sink.js";

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

  /**
   * Ends a reply whose process died: its 👀 (or assistant status) cleared, an open stream marked as
   * cut and stopped, its status line deleted, then the sentence in its thread for the asker. What is
   * already gone (Slack closes streams after a few minutes) is skipped quietly.
   */
  async endAbandonedReply(reply: OpenWork, sentence: string): Promise<void> {
    const channel = reply.where.channelId;
    const { reaction, assistantStatus, stream, status } = reply.messages;
    const quietly = async (work: () => Promise<unknown>) => {
      await work().catch(() => undefined);
    };
    if (reaction)
      await quietly(() =>
        this.client.reactions.remove({ channel, timestamp: reaction, name: THINKING_REACTION }),
      );
    if (assistantStatus)
      await quietly(() =>
        this.client.assistant.threads.setStatus({
          channel_id: channel,
          thread_ts: assistantStatus,
          status: "",
        }),
      );
    if (stream) {
      await quietly(() =>
        this.client.chat.appendStream({ channel, ts: stream, markdown_text: INTERRUPTED_MARK }),
      );
      await quietly(() => this.client.chat.stopStream({ channel, ts: stream }));
    }
    if (status) await quietly(() => this.client.chat.delete({ channel, ts: status }));
    await this.post(reply.where, sentence, { notify: reply.askerId });
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
