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

export interface Source {
  /** The passage number the answer cites as [n]. */
  index: number;
  title: string;
  /** A link (URL) or a path, whichever the document came from. */
  location: string;
  documentId: string;
}
