import type { ChannelRef } from "../types.js";

/** One message of a channel as the platform has it, whether teammate saw it or not. */
export interface ChannelMessage {
  /** The platform's id (Slack `ts`, Discord message id). */
  id: string;
  userId: string;
  userName: string;
  /** Plain text (mentions named); attacker-written like every message. */
  text: string;
  /** teammate's own message, marked so a summary does not take its words for a person's. */
  fromAssistant: boolean;
  /** The message's permalink, for citing it. */
  link: string | undefined;
}

/**
 * Reads a channel's recent messages through the platform (Slack `conversations.history`, Discord
 * channel messages), for `summarize`, `actions` and `translate` outside a thread. Core asks only for
 * the channel the command was typed in; an implementation refuses a channel of another workspace
 * than its token's. Failures are `AppError`s whose `userMessage` can go to chat.
 */
export interface ChannelHistory {
  /** Whether this reader serves the channel's platform. */
  serves(channel: ChannelRef): boolean;
  /** The channel's newest top-level messages, oldest first, at most `limit`. */
  recent(channel: ChannelRef, limit: number, signal?: AbortSignal): Promise<ChannelMessage[]>;
}
