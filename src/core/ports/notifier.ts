import type { ChannelRef, ConversationRef, Platform } from "../types.js";
import type { OpenWork } from "./memory-store.js";

/**
 * A message the notifier posted and may edit later. Ids only (channel, thread, message), so it can
 * travel in job data and a worker that restarts continues in the same message.
 */
export interface PostedMessage {
  platform: Platform;
  workspaceId: string;
  channelId: string;
  threadId?: string | undefined;
  /** Slack `ts`, Discord message id. */
  messageId: string;
}

/**
 * Posts and edits the bot's own messages through the platform's Web/REST API, with no gateway or
 * interaction: workers use it to report progress long after the request that started the work is
 * gone (Slack streams close after about five minutes, Discord interaction tokens after fifteen).
 * Throttling and wording live in core (`StatusMessage`), not here.
 */
/** How a posted message addresses people. */
export interface PostOptions {
  /**
   * The one person this message pings (the asker of a job that ended badly), by platform user id.
   * Every other mention in a notifier's text stays neutralised.
   */
  notify?: string | undefined;
}

export interface Notifier {
  post(where: ConversationRef, text: string, options?: PostOptions): Promise<PostedMessage>;
  edit(message: PostedMessage, text: string): Promise<void>;
  /**
   * Ends a reply whose process died before it did: takes down what it showed (its 👀, an open stream,
   * a status line; ids in `reply.messages`) and posts `sentence` where it was asked. Optional: without
   * it the sentence is just posted.
   */
  endAbandonedReply?(reply: OpenWork, sentence: string): Promise<void>;
  /**
   * Whether a channel someone named is one of `channel.workspaceId`'s. Only platforms whose bot token
   * reaches several workspaces need it (one Discord bot sits in many guilds); absent means the token
   * reaches one workspace's channels only.
   */
  verifyChannel?(channel: ChannelRef): Promise<boolean>;
}
