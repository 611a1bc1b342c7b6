import { createHash } from "node:crypto";
import { DiscordAPIError, REST, Routes } from "discord.js";
import { AppError, isAppError } from "../../core/errors.js";
import type { ChannelHistory, ChannelMessage } from "../../core/ports/channel-history.js";
import { type Logger, silentLogger } from "../../core/ports/logger.js";
import type {
  FetchedItem,
  ResolvedSource,
  SourceConnector,
  SourceDescriptor,
  SourceItem,
  SourceListing,
  SourceRequest,
} from "../../core/ports/source-connector.js";
import { type ChannelFacts, recheckChannelHistoryScope } from "../../core/sources/channel-history-scope.js";
import type { ChannelRef } from "../../core/types.js";
import {
  channelNameOf,
  channelSource,
  conversationDocument,
  firstLineTitle,
  maxItemsOf,
  onceUntilFailure,
  renderMessage,
  translated,
  withdrawnListing,
} from "../channel-reading.js";

export interface DiscordChannelConnectorOptions {
  botToken: string;
  /** `DISCORD_API_URL`: REST base URL (local stand-ins), e.g. http://127.0.0.1:8080/api. */
  apiUrl?: string | undefined;
  logger?: Logger | undefined;
  /** Most messages read from one channel per sync (the newest ones), when settings name no `maxItems`. Default 5000. */
  defaultMaxMessages?: number | undefined;
}

/** The fields of Discord's message object read here. */
interface DiscordMessage {
  id: string;
  type: number;
  content: string;
  author: { id: string; username: string; global_name?: string | null; bot?: boolean };
  timestamp: string;
  edited_timestamp: string | null;
  message_reference?: { message_id?: string; channel_id?: string };
  thread?: { id: string; name?: string; message_count?: number; last_message_id?: string | null };
}

interface DiscordChannel {
  id: string;
  type: number;
  guild_id?: string;
  name?: string;
  permission_overwrites?: Array<{ id: string; type: number; allow: string; deny: string }>;
}

/** `<#123456789012345678>`, as Discord writes a channel mention. */
const CHANNEL_MENTION = /^<#(\d{15,22})>$/;
const VIEW_CHANNEL = 1n << 10n;
/** Message types that are people talking: DEFAULT, REPLY, THREAD_STARTER_MESSAGE. */
const KEPT_TYPES = new Set([0, 19, 21]);
/** Text and announcement channels; DMs and group DMs count as direct conversations. */
const TEXT_CHANNEL_TYPES = new Set([0, 5]);
const DIRECT_CHANNEL_TYPES = new Set([1, 3]);
const PAGE_SIZE = 100;

/** One document: a root message, the replies that chain to it, and the thread started from it. */
interface Conversation {
  root: DiscordMessage;
  replies: DiscordMessage[];
}

/**
 * Reads a Discord channel's history as documents through discord.js's REST client: every message
 * that is not a reply starts a conversation, replies join the conversation of the message they
 * answer (following the reply chain), and a thread started from a message is read into that
 * message's conversation. Each conversation is one document cited by its root's message link.
 *
 * An item's version is built from its members' ids, edit times and the thread's last message, so a
 * re-sync fetches nothing for a conversation with no new reply, edit or deletion. The listing pages
 * backwards through the channel every time (newest first, up to the cap): a deleted message and a
 * reply to an old message are only visible there. The cursor is the newest message id seen.
 *
 * @see https://discord.com/developers/docs/resources/message#get-channel-messages
 */
export class DiscordChannelConnector implements SourceConnector, ChannelHistory {
  readonly kind = "discord-channel" as const;
  private readonly rest: REST;
  private readonly logger: Logger;
  private readonly defaultMaxMessages: number;
  private readonly whoAmI = onceUntilFailure(() =>
    this.call("identify the bot", () => this.rest.get(Routes.user("@me"))).then((user) =>
      String((user as { id?: unknown }).id ?? ""),
    ),
  );
  /** Each source's conversations from its last listing, so `fetch` needs no second read of the channel. */
  private readonly lastListing = new Map<string, Map<string, Conversation>>();

  constructor(options: DiscordChannelConnectorOptions) {
    this.logger = (options.logger ?? silentLogger).child({ component: "discord-channel-connector" });
    this.defaultMaxMessages = options.defaultMaxMessages ?? 5_000;
    this.rest = new REST({ version: "10", ...(options.apiUrl ? { api: options.apiUrl } : {}) }).setToken(
      options.botToken,
    );
  }

  recognizes(target: string, request: Pick<SourceRequest, "platform" | "crawl">): boolean {
    return request.platform === "discord" && CHANNEL_MENTION.test(target.trim());
  }

  async resolve(request: SourceRequest): Promise<ResolvedSource> {
    const channelId = CHANNEL_MENTION.exec(request.target.trim())?.[1];
    if (!channelId) {
      throw new AppError("input_invalid", "not a Discord channel mention", {
        category: "user",
        userMessage: "Name the channel as a mention, like `index #general`.",
      });
    }
    return channelSource(this.kind, await this.channelFacts(request.workspaceId, channelId), request);
  }

  async list(
    source: SourceDescriptor,
    _cursor: string | undefined,
    signal?: AbortSignal,
  ): Promise<SourceListing> {
    // The privacy rule again, at every sync: the channel may have turned private, or the bot lost access.
    const facts = await this.channelFacts(source.scope.workspaceId, source.target);
    if (recheckChannelHistoryScope(facts, source.scope) === "withdraw") {
      this.lastListing.delete(source.id);
      return withdrawnListing(this.logger, source);
    }
    const botUserId = await this.whoAmI();
    const messages = await this.readChannel(
      source.target,
      maxItemsOf(source, this.defaultMaxMessages),
      signal,
    );
    const conversations = groupConversations(
      messages.filter((message) => KEPT_TYPES.has(message.type) && message.author.id !== botUserId),
    );
    this.lastListing.set(source.id, conversations);

    const guildId = source.scope.workspaceId;
    const items: SourceItem[] = [];
    for (const [rootId, conversation] of conversations) {
      items.push({
        key: rootId,
        title: titleOf(conversation.root, facts.name),
        url: `https://discord.com/channels/${guildId}/${source.target}/${rootId}`,
        // Hashed: a long conversation would otherwise store every member id in its version.
        version: createHash("sha256").update(versionOf(conversation)).digest("base64url").slice(0, 32),
      });
    }
    const newest = messages.reduce<string | undefined>(
      (latest, message) =>
        latest === undefined || BigInt(message.id) > BigInt(latest) ? message.id : latest,
      undefined,
    );
    return { items, complete: true, ...(newest ? { cursor: newest } : {}) };
  }

  async fetch(
    source: SourceDescriptor,
    item: SourceItem,
    _previous: unknown,
    signal?: AbortSignal,
  ): Promise<FetchedItem> {
    // Another process may have listed: reading the channel again rebuilds the conversations.
    if (!this.lastListing.has(source.id)) await this.list(source, undefined, signal);
    const conversation = this.lastListing.get(source.id)?.get(item.key);
    if (!conversation) return { status: "gone" };
    const botUserId = await this.whoAmI();
    let threadMessages: DiscordMessage[] = [];
    if (conversation.root.thread) {
      try {
        threadMessages = (
          await this.readChannel(conversation.root.thread.id, this.defaultMaxMessages, signal)
        )
          .filter((message) => KEPT_TYPES.has(message.type) && message.author.id !== botUserId)
          .sort(byId);
      } catch (error) {
        // A thread the bot may not read (private, archived away) leaves the conversation without it.
        if (!isAppError(error) || error.category !== "user") throw error;
        this.logger.debug({ sourceId: source.id }, "thread not readable; indexed without it");
      }
    }
    const lines: string[] = [];
    for (const message of [conversation.root, ...conversation.replies]) lines.push(...render(message));
    if (threadMessages.length > 0) {
      lines.push(`## Thread: ${conversation.root.thread?.name ?? item.title}`, "");
      for (const message of threadMessages) lines.push(...render(message));
    }
    return conversationDocument(
      item.title,
      `A conversation in ${channelNameOf(source, `<#${source.target}>`)}.`,
      lines,
    );
  }

  serves(channel: ChannelRef): boolean {
    return channel.platform === "discord";
  }

  /**
   * A channel's newest messages for `summarize`, `actions` and `translate` (the `ChannelHistory`
   * port): people's messages and the bot's own (marked), oldest first, each with its message link.
   * Core names only the channel the command came from, which the gateway event put there.
   */
  async recent(channel: ChannelRef, limit: number, signal?: AbortSignal): Promise<ChannelMessage[]> {
    const botUserId = await this.whoAmI();
    const messages = await this.readChannel(channel.channelId, limit, signal);
    // A DM has no guild: Discord links it under `@me`.
    const guild = channel.workspaceId.startsWith("dm-") ? "@me" : channel.workspaceId;
    return messages
      .filter((message) => KEPT_TYPES.has(message.type))
      .sort(byId)
      .map((message) => {
        const own = message.author.id === botUserId;
        return {
          id: message.id,
          userId: message.author.id,
          userName: own ? "teammate" : message.author.global_name || message.author.username,
          text: message.content,
          fromAssistant: own,
          link: `https://discord.com/channels/${guild}/${channel.channelId}/${message.id}`,
        };
      });
  }

  /** Up to `max` messages of a channel, newest first, paging backwards with `before`. */
  private async readChannel(channelId: string, max: number, signal?: AbortSignal): Promise<DiscordMessage[]> {
    const messages: DiscordMessage[] = [];
    let before: string | undefined;
    while (messages.length < max) {
      signal?.throwIfAborted();
      const query = new URLSearchParams({ limit: String(Math.min(PAGE_SIZE, max - messages.length)) });
      if (before) query.set("before", before);
      const page = (await this.call("read the channel's messages", () =>
        this.rest.get(Routes.channelMessages(channelId), { query, ...(signal ? { signal } : {}) }),
      )) as DiscordMessage[];
      messages.push(...page);
      const oldest = page.at(-1);
      if (!oldest || page.length < Number(query.get("limit"))) break;
      before = oldest.id;
    }
    return messages;
  }

  private async channelFacts(workspaceId: string, channelId: string): Promise<ChannelFacts> {
    const unreadable = (name: string): ChannelFacts => ({
      platform: "discord",
      workspaceId,
      channelId,
      name,
      visibility: "private",
      botIsMember: false,
    });
    let channel: DiscordChannel;
    try {
      channel = (await this.rest.get(Routes.channel(channelId))) as DiscordChannel;
    } catch (error) {
      // 403 Missing Access: the bot cannot see the channel; 404: no such channel as far as it knows.
      if (error instanceof DiscordAPIError && (error.status === 403 || error.status === 404)) {
        return unreadable(`<#${channelId}>`);
      }
      throw this.translate(error, "look up the channel");
    }
    const name = channel.name ? `#${channel.name}` : `<#${channelId}>`;
    if (DIRECT_CHANNEL_TYPES.has(channel.type)) {
      return {
        platform: "discord",
        workspaceId,
        channelId,
        name: "this direct message",
        visibility: "direct",
        botIsMember: true,
      };
    }
    if (channel.guild_id !== workspaceId) {
      throw new AppError("command_forbidden", "Discord channel of another guild", {
        category: "user",
        userMessage: "I can only index channels of this server.",
      });
    }
    if (!TEXT_CHANNEL_TYPES.has(channel.type)) {
      throw new AppError("input_invalid", `Discord channel type ${channel.type} is not a text channel`, {
        category: "user",
        userMessage: `${name} is not a text channel; I can index text and announcement channels.`,
      });
    }
    // A channel is private when @everyone (the role whose id is the guild's) may not view it.
    const everyone = channel.permission_overwrites?.find(
      (overwrite) => overwrite.id === workspaceId && overwrite.type === 0,
    );
    const isPrivate = everyone !== undefined && (BigInt(everyone.deny) & VIEW_CHANNEL) !== 0n;
    // Seeing the channel is not reading it: one message read tells whether history is allowed.
    let canRead = true;
    try {
      await this.rest.get(Routes.channelMessages(channelId), { query: new URLSearchParams({ limit: "1" }) });
    } catch (error) {
      if (!(error instanceof DiscordAPIError && error.status === 403))
        throw this.translate(error, "read the channel");
      canRead = false;
    }
    return {
      platform: "discord",
      workspaceId,
      channelId,
      name,
      visibility: isPrivate ? "private" : "public",
      botIsMember: canRead,
    };
  }

  private call<Result>(what: string, run: () => Promise<Result>): Promise<Result> {
    return translated((error, action) => this.translate(error, action), what, run);
  }

  private translate(error: unknown, what: string): AppError {
    if (isAppError(error)) return error;
    if (error instanceof DiscordAPIError) {
      if (error.status === 403 || error.status === 404) {
        return new AppError("fetch_refused", `Discord could not ${what}: ${error.status} ${error.code}`, {
          category: "user",
          userMessage: `Discord would not let me ${what}: give my role View Channel and Read Message History there.`,
        });
      }
      return new AppError("fetch_failed", `Discord could not ${what}: ${error.status} ${error.code}`, {
        category: "third_party",
        retryable: error.status >= 500,
        userMessage: `Discord would not let me ${what} (${error.status}).`,
      });
    }
    const message = error instanceof Error ? error.message : String(error);
    return new AppError("fetch_failed", `Discord could not ${what}: ${message}`, {
      cause: error,
      category: "third_party",
      retryable: true,
      userMessage: `I couldn't reach Discord to ${what}.`,
    });
  }
}

const byId = (left: DiscordMessage, right: DiscordMessage) => (BigInt(left.id) < BigInt(right.id) ? -1 : 1);

/**
 * Roots and reply chains: a reply belongs to the conversation of the message it answers, followed
 * up the chain; a reply whose target is not in the listing (deleted, or older than the cap) starts
 * its own. Written here because the chain is Discord's `message_reference`, which no library groups.
 */
function groupConversations(messages: DiscordMessage[]): Map<string, Conversation> {
  const byMessageId = new Map(messages.map((message) => [message.id, message]));
  const rootOf = new Map<string, string>();
  const findRoot = (message: DiscordMessage): string => {
    const seen = new Set<string>();
    let current = message;
    for (;;) {
      const known = rootOf.get(current.id);
      if (known) return known;
      const parentId = current.type === 19 ? current.message_reference?.message_id : undefined;
      const parent = parentId ? byMessageId.get(parentId) : undefined;
      if (!parent || seen.has(parent.id)) return current.id;
      seen.add(current.id);
      current = parent;
    }
  };
  const conversations = new Map<string, Conversation>();
  for (const message of [...messages].sort(byId)) {
    const rootId = findRoot(message);
    rootOf.set(message.id, rootId);
    if (rootId === message.id) conversations.set(rootId, { root: message, replies: [] });
    else conversations.get(rootId)?.replies.push(message);
  }
  return conversations;
}

/** Members, their edits and the thread's last message: any reply, edit, deletion or thread post changes it. */
function versionOf(conversation: Conversation): string {
  const members = [conversation.root, ...conversation.replies]
    .map((member) => `${member.id}${member.edited_timestamp ? `@${member.edited_timestamp}` : ""}`)
    .join(",");
  const thread = conversation.root.thread;
  return `${members}|${thread ? `thread:${thread.last_message_id ?? ""}:${thread.message_count ?? 0}` : ""}`;
}

function titleOf(message: DiscordMessage, channelName: string): string {
  return firstLineTitle(message.content, `Conversation in ${channelName}`);
}

function render(message: DiscordMessage): string[] {
  return renderMessage(
    message.author.global_name || message.author.username,
    message.timestamp,
    message.content,
  );
}
