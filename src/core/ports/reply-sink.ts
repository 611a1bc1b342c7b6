/** Where core writes a reply, implemented by each platform adapter (and the terminal). */
import type { Source } from "../types.js";

export interface ReplyButton {
  /** Stable action id the adapter routes back to core (`feedback-up`, `feedback-down`, `show-sources`, …). */
  action: string;
  label: string;
  /** Opaque value round-tripped through the platform (an answer id, an approval id). */
  value: string;
  style?: "primary" | "danger" | undefined;
}

export type ReplyVisibility = "everyone" | "asker";

export interface ReplyStart {
  /** `asker`: only the person who asked sees it, where the platform can do that (errors, refusals, help). */
  visibility: ReplyVisibility;
  /**
   * Where a reply to a message typed in the channel goes, as core decided from `config reply-mode`:
   * `thread` (the message opens a thread) or `channel`; core always says, unset meaning the platform's
   * default (`defaultReplyMode`). Absent (a sink driven by hand): `thread`. A message already in a thread
   * is always answered in that thread.
   */
  placement?: "thread" | "channel" | undefined;
}

export interface ReplyFinish {
  sources: Source[];
  buttons: ReplyButton[];
  /** The stored answer's id, so buttons and `sources`/`why` can refer back to it. */
  answerId?: string | undefined;
}

/**
 * A request for a human decision posted mid-answer (a risky tool call waiting for Approve / Deny).
 * The buttons use actions `approve-tool` / `deny-tool` with the approval id as value; the click comes
 * back through `AssistantHandler.handleAction`.
 */
export interface ApprovalPrompt {
  approvalId: string;
  /** What will run and why it needs a click, written for the channel. */
  text: string;
  buttons: ReplyButton[];
  /** Epoch milliseconds after which the request counts as denied. */
  expiresAt: number;
}

/** One step of long work: `Embedding docs/guide.md 64/120`. */
export interface ProgressUpdate {
  /** What is happening now: `Reading`, `Chunking`, `Embedding`, `Indexed`. */
  label: string;
  /** What it happens to (a file, a URL, a folder). */
  item: string;
  done: number;
  total: number;
}

/**
 * Where core writes a reply. Each platform renders it within its own limits (Slack streaming or
 * throttled `chat.update`; Discord deferred reply + edits; the terminal prints as text arrives).
 * Calls are made in order: `start`, any number of `append`/`status`, then exactly one of `finish` or `fail`.
 */
export interface ReplySink {
  start(options: ReplyStart): Promise<void>;
  append(text: string): Promise<void>;
  /** A short status line (tool activity, "searching the docs…"); not part of the answer text. */
  status(line: string): Promise<void>;
  /**
   * Progress of long work (indexing), for sinks that can draw a bar in place (the terminal). Optional:
   * without it the work reports through `status` lines, throttled for chat platforms.
   */
  progress?(update: ProgressUpdate): Promise<void>;
  finish(result: ReplyFinish): Promise<void>;
  /** Ends the reply with a sentence for the user instead of an answer. */
  fail(message: string): Promise<void>;
  /**
   * The platform's ids of what this reply shows while unfinished (the asker's message carrying the
   * 👀, an open stream, a status line), kept with the open reply so that another process can end it
   * with a sentence if this one dies. Optional: without it the sentence is simply posted.
   */
  shownMessages?(): Record<string, string>;
  /**
   * Posts Approve / Deny buttons while the answer is still open (optional: a sink without it gets
   * the prompt as a status line, and an undecided request times out as Deny).
   */
  requestApproval?(prompt: ApprovalPrompt): Promise<void>;
}
