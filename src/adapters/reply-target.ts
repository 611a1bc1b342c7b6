import type { ReplyVisibility } from "../core/ports/reply-sink.js";

/**
 * Where a platform's reply sink writes, one implementation per way of posting (Discord: an
 * interaction or a message reply; Slack: a stream, posted-and-edited messages, or a private reply).
 * The sink decides what to say and when (splitting, pacing, sources and buttons); a target only
 * knows how to say it on its platform. `TMessage` is the platform's rendered message.
 */
export interface ReplyTarget<TMessage> {
  /** Shows the reply as pending (an interaction's deferred "thinking…", Slack's 👀). Safe to call more than once. */
  acknowledge(visibility: ReplyVisibility): Promise<void>;
  /** Creates, or replaces, the first message of the reply. */
  writeFirst(message: TMessage): Promise<void>;
  /** Posts a further message after the first, in order. */
  writeNext(message: TMessage): Promise<void>;
  /** The ids of what the reply shows so far (the asker's message, the reply's first message). */
  shownMessages?(): Record<string, string>;
}
