/**
 * The driving port: what a platform adapter calls, and what it hands over. Adapters do transport
 * only (verify, parse, acknowledge, render); whether to answer, commands, permissions, memory and
 * answering live behind `AssistantHandler`.
 */
import type { Actor, Attachment, ConversationRef } from "../types.js";
import type { ReplySink } from "./reply-sink.js";

/** An earlier message of a thread, as `ThreadHistory.earlier` reads it (Slack `conversations.replies`). */
export interface PriorMessage {
  userId: string;
  userName: string;
  text: string;
  fromAssistant: boolean;
}

/** One inbound message, normalized by a platform adapter. */
export interface InboundMessage extends ConversationRef, Actor {
  text: string;
  attachments: Attachment[];
  /** The platform's delivery id (Slack `event_id`, Discord interaction or message id). Duplicates are dropped. */
  eventId: string;
  /**
   * The platform's id of the message itself (Slack `ts`, Discord message id), absent for a slash
   * command. A message whose `threadId` is its own id opens a thread: it was typed in the channel.
   */
  messageId?: string | undefined;
  /** Set when the adapter knows the message is a slash command (Slack `/teammate`, Discord `/ask`). */
  isCommand?: boolean | undefined;
  /**
   * How the person addressed teammate, as the platform saw it. Core decides from this (and the
   * channel's `config listen`, and whether teammate takes part in the thread) whether to answer at all:
   * an adapter does not ask core first. Every platform adapter sets it; absent (a caller that builds
   * messages by hand) is read as `mention`.
   */
  addressedBy?: Addressing | undefined;
  /**
   * The thread this message sits in, read on demand from the platform. Core calls it only when it
   * needs it (first contact with a thread that already has messages; memory down), at most once a
   * message. Absent outside threads and where the platform has none.
   */
  history?: ThreadHistory | undefined;
}

/**
 * `mention`: @teammate in a channel or thread. `command`: a slash command, shortcut or context-menu
 * command. `direct`: a direct message or assistant thread, where every message is for teammate.
 * `none`: a message in a thread without a mention, answered only where teammate takes part in the
 * thread and the channel listens to whole threads.
 */
export type Addressing = "mention" | "command" | "direct" | "none";

/** The thread a message sits in, as the platform tells it; implemented by each platform adapter. */
export interface ThreadHistory {
  /** Earlier messages of the thread, oldest first, without the current message; at most `limit`. */
  earlier(limit: number): Promise<PriorMessage[]>;
  /** Whether teammate itself has posted in the thread (asked when memory cannot say). */
  includesTeammate(): Promise<boolean>;
}

/**
 * A button click or similar interaction, normalized by a platform adapter. Its platform, workspace
 * and channel are where the click happened; core honours it only where the button was shown.
 */
export interface InboundAction extends ConversationRef, Actor {
  /** The `ReplyButton.action` that was clicked. */
  action: string;
  value: string;
  eventId: string;
}

/**
 * What platform adapters call. Adapters do transport only (verify, parse, acknowledge, render);
 * commands, permissions, memory and answering live behind this interface.
 */
export interface AssistantHandler {
  handle(message: InboundMessage, sink: ReplySink): Promise<void>;
  handleAction(action: InboundAction, sink: ReplySink): Promise<void>;
  /**
   * Values to offer while someone types one parameter of a command (Discord autocomplete), scoped
   * to where they type it; none for a command they may not use. Never throws: a failure offers none.
   */
  suggest?(request: SuggestionRequest): Promise<Suggestion[]>;
}

/** A value offered while typing: the label shown and the value put in the command line. */
export interface Suggestion {
  label: string;
  value: string;
}

export interface SuggestionRequest {
  /** Who is typing, where; `text` is unused. */
  message: InboundMessage;
  /** The core command's name, e.g. `forget-doc`, `sync stop`. */
  command: string;
  parameter: string;
  partial: string;
  /** The command's other parameters filled in already, by name. */
  filled: Readonly<Record<string, string>>;
}
