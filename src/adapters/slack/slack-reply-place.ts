import type { WebClient } from "@slack/web-api";
import type { Logger } from "../../core/ports/logger.js";
import type { SlackBlock } from "./slack-message-format.js";

/** Where a reply goes and who asked. */
export interface SlackReplyTarget {
  channel: string;
  /** Thread root to reply under; absent for the top level (a DM outside threads, a slash command). */
  threadTs?: string | undefined;
  /**
   * A message typed in a channel: its ts. The reply opens a thread on it, unless core places the
   * reply in the channel (`start({ placement: "channel" })`).
   */
  openThreadOn?: string | undefined;
  /** Who asked: the receiver of ephemeral replies and of streamed ones outside DMs. */
  userId: string;
  teamId: string;
  isDirectMessage: boolean;
  /** The asker's message, which carries the :eyes: "thinking" reaction. */
  messageTs?: string | undefined;
  /** An assistant thread (DM thread), where `assistant.threads.setStatus` shows "is thinking…". */
  isAssistantThread: boolean;
  /** A slash command's or button click's `response_url`, the conventional way to answer them privately. */
  responseUrl?: string | undefined;
}

/** One Slack message as the sink renders it, before a reply target posts it. */
export interface SlackOutgoingMessage {
  /** mrkdwn (or the notification text when `blocks` carry the message). */
  text: string;
  blocks?: SlackBlock[] | undefined;
}

/** What every part of one reply shares: the client, the target, and the thread once core placed it. */
export interface SlackReplyPlace {
  client: WebClient;
  target: SlackReplyTarget;
  /** The thread the reply goes in, as placed by core's `start`. */
  threadTs(): string | undefined;
  logger: Logger;
}

export const THINKING_REACTION = "eyes";
