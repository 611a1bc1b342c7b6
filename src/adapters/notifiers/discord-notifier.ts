import { MessageFlags, REST, Routes } from "discord.js";
import { AppError } from "../../core/errors.js";
import type { OpenWork } from "../../core/ports/memory-store.js";
import type { Notifier, PostedMessage, PostOptions } from "../../core/ports/notifier.js";
import type { ChannelRef, ConversationRef } from "../../core/types.js";
import { INTERRUPTED_MARK } from "../discord/discord-reply-sink.js";

export interface DiscordNotifierOptions {
  botToken: string;
  /** Discord REST base URL (local stand-ins), e.g. http://127.0.0.1:8080/api. */
  apiUrl?: string | undefined;
}

const MAX_CONTENT = 2_000;

/**
 * Posts and edits the bot's own status messages over Discord's REST API (`POST/PATCH
 * /channels/{id}/messages`), with no gateway: the message belongs to the bot, not to an interaction,
 * so edits keep working after the 15-minute interaction token has expired. A thread is a channel in
 * Discord, so a thread id is where the message goes.
 *
 * @see https://discord.com/developers/docs/resources/message#edit-message
 */
export class DiscordNotifier implements Notifier {
  private readonly rest: REST;

  constructor(options: DiscordNotifierOptions) {
    this.rest = new REST({ version: "10", ...(options.apiUrl ? { api: options.apiUrl } : {}) }).setToken(
      options.botToken,
    );
  }

  async post(where: ConversationRef, text: string, options: PostOptions = {}): Promise<PostedMessage> {
    const channelId = where.threadId ?? where.channelId;
    const created = (await this.call("post a status message", () =>
      this.rest.post(Routes.channelMessages(channelId), { body: this.body(text, options.notify) }),
    )) as { id?: unknown };
    if (typeof created.id !== "string")
      throw new AppError("tool_failed", "Discord returned no message id", { category: "third_party" });
    return {
      platform: "discord",
      workspaceId: where.workspaceId,
      channelId: where.channelId,
      threadId: where.threadId,
      messageId: created.id,
    };
  }

  async edit(message: PostedMessage, text: string): Promise<void> {
    const channelId = message.threadId ?? message.channelId;
    await this.call("edit a status message", () =>
      this.rest.patch(Routes.channelMessage(channelId, message.messageId), { body: this.body(text) }),
    );
  }

  /**
   * Ends a reply whose process died: its first message, if it had one, is marked as cut (an answer
   * left half-written must never read as a whole one), then the sentence goes as a reply to the
   * asker's message (in the reply's thread when it was placed in one), pinging them. A message
   * already gone is skipped.
   */
  async endAbandonedReply(reply: OpenWork, sentence: string): Promise<void> {
    // A reply placed in a thread started on the question is in that thread; the question is not.
    const { asker, reply: first, thread } = reply.messages;
    const channelId = thread ?? reply.where.threadId ?? reply.where.channelId;
    if (first) {
      try {
        const shown = (await this.rest.get(Routes.channelMessage(channelId, first))) as { content?: unknown };
        const content = typeof shown.content === "string" ? shown.content : "";
        const marked = `${content.slice(0, MAX_CONTENT - INTERRUPTED_MARK.length)}${INTERRUPTED_MARK}`;
        await this.rest.patch(Routes.channelMessage(channelId, first), {
          body: { content: marked, allowed_mentions: { parse: [] } },
        });
      } catch {
        // Deleted, or no longer reachable: the sentence below still tells the asker.
      }
    }
    const body = this.body(sentence, reply.askerId);
    await this.call("post a sentence", () =>
      this.rest.post(Routes.channelMessages(channelId), {
        body:
          asker && !thread
            ? { ...body, message_reference: { message_id: asker, fail_if_not_exists: false } }
            : body,
      }),
    );
  }

  /**
   * One bot token reaches every guild the bot is in, so a channel id an admin of one guild names may
   * belong to another: `GET /channels/{id}` says whose it is. Unknown or unreachable counts as not theirs.
   */
  async verifyChannel(channel: ChannelRef): Promise<boolean> {
    try {
      const found = (await this.rest.get(Routes.channel(channel.channelId))) as { guild_id?: unknown };
      return found.guild_id === channel.workspaceId;
    } catch {
      return false;
    }
  }

  private body(text: string, notify?: string): Record<string, unknown> {
    // Status lines quote user input (file names, model names): never let them ping anyone but the
    // one person a message is for. No link previews: a status line may name a URL someone asked to index.
    return {
      content: `${notify ? `<@${notify}> ` : ""}${text}`.slice(0, MAX_CONTENT),
      allowed_mentions: notify ? { parse: [], users: [notify] } : { parse: [] },
      flags: MessageFlags.SuppressEmbeds,
    };
  }

  private async call<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw new AppError("tool_failed", `Discord: could not ${what}`, {
        cause: error,
        category: "third_party",
        retryable: true,
      });
    }
  }
}
