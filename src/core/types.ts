/** Where a conversation happens. Nothing keyed by one scope is ever visible from another. */
export type Platform = "slack" | "discord" | "local";

/** A channel in a workspace (Slack team, Discord guild, or the local terminal). */
export interface ChannelRef {
  platform: Platform;
  workspaceId: string;
  channelId: string;
}

/** A conversation: a thread, or the channel itself outside threads. */
export interface ConversationRef extends ChannelRef {
  threadId?: string | undefined;
}

/** A workspace of one platform (a Slack team, a Discord guild). */
export interface WorkspaceRef {
  platform: Platform;
  workspaceId: string;
}

export interface Attachment {
  name: string;
  url: string;
  mimeType?: string | undefined;
  sizeBytes?: number | undefined;
  /**
   * The workspace whose event carried the file, set by that platform's adapter (never from text).
   * The platform's download credentials (Slack's bot token for `url_private`) are added at download
   * time, by that platform's loader, and only when indexing into this same workspace: core never
   * holds them.
   */
  arrivedIn?: WorkspaceRef | undefined;
  /**
   * A file on this machine's disk, attached in the terminal chat (`--file <path>`). Honoured only for
   * a `local` message: a chat platform's attachment is always a download.
   */
  localPath?: string | undefined;
}

/**
 * Who is acting, as privileges need to know. `isAdmin` may come from a short cache (fine for showing
 * admin commands in `help`); core calls `isAdminNow` where the privilege is used (an admin command,
 * an approval, another person's trace), so a demoted admin is refused at once.
 */
export interface Actor {
  userId: string;
  userName: string;
  /** The adapter's verdict: workspace admin/owner, Manage Server, or listed in ADMIN_USER_IDS. */
  isAdmin: boolean;
  /** Asks the platform again, bypassing any cache; absent where the verdict is fresh per event. */
  isAdminNow?: (() => Promise<boolean>) | undefined;
  /**
   * A member of another organisation (a Slack Connect guest in a shared channel): never an admin,
   * and sees only the documents scoped to the shared channel itself.
   */
  isExternal?: boolean | undefined;
}

/** An earlier message of a thread that the adapter read on first contact (Slack `conversations.replies`). */
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
  /** Earlier thread messages the bot has not seen, supplied on first contact with a thread. */
  priorMessages?: PriorMessage[] | undefined;
  /**
   * How the person addressed teammate, as the platform saw it. Core decides from this (and the
   * channel's `config listen`, and whether teammate takes part in the thread) whether to answer at all:
   * an adapter no longer asks core first. Absent is read as `mention` (the adapters being moved over).
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

export interface Source {
  /** The passage number the answer cites as [n]. */
  index: number;
  title: string;
  /** A link (URL) or a path, whichever the document came from. */
  location: string;
  documentId: string;
}

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
   * `thread` (the message opens a thread) or `channel`. Absent: `thread`. A message already in a
   * thread is always answered in that thread.
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

/** How teammate behaves in a channel, as admins set it (`config reply-mode`, `config listen`). */
export interface ChannelPreferences {
  replyMode: "thread" | "channel";
  listen: "mention" | "thread";
}

/**
 * What platform adapters call. Adapters do transport only (verify, parse, acknowledge, render);
 * commands, permissions, memory and answering live behind this interface.
 */
export interface AssistantHandler {
  handle(message: InboundMessage, sink: ReplySink): Promise<void>;
  handleAction(action: InboundAction, sink: ReplySink): Promise<void>;
  /** Whether teammate already takes part in this conversation, so a follow-up needs no new mention. */
  isEngaged(conversation: ConversationRef): Promise<boolean>;
  /**
   * The channel's reply mode and listening mode, for the adapter's transport decisions (where to
   * post, whether an unmentioned follow-up is for teammate). Defaults when the store cannot say.
   */
  channelPreferences?(channel: ChannelRef): Promise<ChannelPreferences>;
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
