import type { Platform } from "./types.js";

/**
 * Where teammate answers a question typed in a channel whose admins have not set `config reply-mode`.
 * Slack: in a thread under the question, as Slack apps do. Discord: as an inline reply in the channel,
 * which already ties the answer to its question; a Discord thread is a channel of its own in everyone's
 * channel list, so it is opt-in there (`config reply-mode thread`).
 */
export function defaultReplyMode(platform: Platform): "thread" | "channel" {
  return platform === "discord" ? "channel" : "thread";
}
