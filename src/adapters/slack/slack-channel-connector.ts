import { LogLevel } from "@slack/bolt";
import { WebClient } from "@slack/web-api";
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
import { createBoltLogger } from "./create-bolt-logger.js";
import { slackErrorCode, summarizeSlackError } from "./summarize-slack-error.js";

export interface SlackChannelConnectorOptions {
  botToken: string;
  /** `SLACK_API_URL`: Web API base URL ending in `/api/` (GovSlack, proxies, local stand-ins). */
  apiUrl?: string | undefined;
  logger?: Logger | undefined;
  /** Most threads one source holds (the newest ones) when its settings name no `maxItems`. Default 2000. */
  defaultMaxThreads?: number | undefined;
}

/** A message as `conversations.history` / `conversations.replies` return it (the fields read here). */
interface SlackMessage {
  ts?: string;
  thread_ts?: string;
  user?: string;
  bot_id?: string;
  subtype?: string;
  text?: string;
  username?: string;
  reply_count?: number;
  latest_reply?: string;
  edited?: { ts?: string };
}

/** `<#C123>` or `<#C123|general>`, as Slack writes a channel mention. */
const CHANNEL_MENTION = /^<#([CGD][A-Z0-9]{2,})(?:\|([^>]*))?>$/;
/**
 * `#general` as plain text: what a slash command carries (Slack escapes mentions there only when the
 * command is set to), looked up by name among the channels the bot can see.
 */
const CHANNEL_NAME = /^#([a-z0-9][a-z0-9._-]{0,79})$/;

// People's messages, file shares and other apps' posts are knowledge; joins, topic changes and the
// like are noise. The bot's own answers are left out entirely: model-written text must not come
// back as a cited source.
const KEPT_SUBTYPES = new Set([undefined, "thread_broadcast", "file_share", "bot_message", "me_message"]);

const PAGE_SIZE = 200;
const MAX_USER_NAMES = 5_000;

/**
 * Reads a Slack channel's threads as documents: `conversations.history` lists the channel's
 * top-level messages (each a thread, with its `reply_count` and `latest_reply`), and
 * `conversations.replies` reads the thread of one that is new or changed. Each thread is one
 * document cited by its permalink (the documented `archives/<channel>/p<ts>` form on the
 * workspace's URL from `auth.test`).
 *
 * Incremental by design of the port: an item's version is its latest activity (last reply, reply
 * count, edit), so a re-sync reads replies only for threads active since the last one, and the cursor
 * is the newest activity seen. The listing itself pages through the channel's top-level messages
 * every time, because Slack has no "changed since" for older threads: a new reply to last month's
 * thread, or a deleted thread, shows only there. Known gap: an edit to a reply (not the parent) does
 * not change the parent, so it waits for the thread's next reply.
 *
 * @see https://docs.slack.dev/reference/methods/conversations.history
 * @see https://docs.slack.dev/reference/methods/conversations.replies
 */
export class SlackChannelConnector implements SourceConnector, ChannelHistory {
  readonly kind = "slack-channel" as const;
  private readonly client: WebClient;
  private readonly logger: Logger;
  private readonly defaultMaxThreads: number;
  private readonly userNames = new Map<string, string>();
  /** The token's workspace, its URL and the bot's own ids; a failed `auth.test` is asked again next time. */
  private readonly whoAmI = onceUntilFailure(() =>
    this.call("identify the bot", () => this.client.auth.test()).then((result) => ({
      teamId: String(result.team_id ?? ""),
      url: String(result.url ?? "https://slack.com/"),
      userId: String(result.user_id ?? ""),
      botId: String(result.bot_id ?? ""),
    })),
  );
  /**
   * The top-level messages of each source's last listing, so a thread without replies is built from
   * its parent without another call. Only an optimisation: without it `fetch` asks Slack.
   */
  private readonly lastListing = new Map<string, Map<string, SlackMessage>>();

  constructor(options: SlackChannelConnectorOptions) {
    this.logger = (options.logger ?? silentLogger).child({ component: "slack-channel-connector" });
    this.defaultMaxThreads = options.defaultMaxThreads ?? 2_000;
    this.client = new WebClient(options.botToken, {
      ...(options.apiUrl ? { slackApiUrl: options.apiUrl } : {}),
      logger: createBoltLogger(this.logger, LogLevel.WARN),
      // Rate-limited calls are retried by the client after Slack's Retry-After; a sync has time.
      retryConfig: { retries: 5, maxTimeout: 30_000 },
    });
  }

  recognizes(target: string, request: Pick<SourceRequest, "platform" | "crawl">): boolean {
    const trimmed = target.trim();
    return request.platform === "slack" && (CHANNEL_MENTION.test(trimmed) || CHANNEL_NAME.test(trimmed));
  }

  async resolve(request: SourceRequest): Promise<ResolvedSource> {
    const trimmed = request.target.trim();
    const match = CHANNEL_MENTION.exec(trimmed) ?? (await this.findByName(trimmed));
    if (!match?.[1]) {
      throw new AppError("input_invalid", "not a Slack channel mention", {
        category: "user",
        userMessage: `I can't see a channel ${trimmed}. If it is private, invite me there (\`/invite @teammate\`) and ask again.`,
      });
    }
    const identity = await this.whoAmI();
    if (identity.teamId !== request.workspaceId) {
      throw new AppError("command_forbidden", "channel source for another Slack workspace", {
        category: "user",
        userMessage: "I can only index channels of this workspace.",
      });
    }
    return channelSource(
      this.kind,
      await this.channelFacts(request.workspaceId, match[1], match[2]),
      request,
    );
  }

  async list(
    source: SourceDescriptor,
    _cursor: string | undefined,
    signal?: AbortSignal,
  ): Promise<SourceListing> {
    const identity = await this.whoAmI();
    const facts = await this.channelFacts(
      source.scope.workspaceId,
      source.target,
      typeof source.settings.channelName === "string"
        ? source.settings.channelName.replace(/^#/, "")
        : undefined,
    );
    // The privacy rule again, at every sync: the channel may have turned private, or the bot left.
    if (
      identity.teamId !== source.scope.workspaceId ||
      recheckChannelHistoryScope(facts, source.scope) === "withdraw"
    ) {
      return withdrawnListing(this.logger, source);
    }
    const maxThreads = maxItemsOf(source, this.defaultMaxThreads);
    const parents = new Map<string, SlackMessage>();
    let cursor: string | undefined;
    // Newest first, so a source capped at N threads keeps the N most recent ones.
    do {
      signal?.throwIfAborted();
      const page = await this.call("read the channel history", () =>
        this.client.conversations.history({
          channel: source.target,
          limit: PAGE_SIZE,
          ...(cursor ? { cursor } : {}),
        }),
      );
      for (const message of (page.messages ?? []) as SlackMessage[]) {
        if (parents.size >= maxThreads) break;
        if (!message.ts || !this.isKept(message, identity)) continue;
        parents.set(message.ts, message);
      }
      cursor = page.response_metadata?.next_cursor || undefined;
    } while (cursor && parents.size < maxThreads);

    this.lastListing.set(source.id, parents);
    let newest = "0";
    const items: SourceItem[] = [];
    for (const [ts, message] of parents) {
      const activity =
        message.latest_reply && Number(message.latest_reply) > Number(ts) ? message.latest_reply : ts;
      if (Number(activity) > Number(newest)) newest = activity;
      items.push({
        key: ts,
        title: this.titleOf(message, facts.name),
        url: permalink(identity.url, source.target, ts),
        version: `${activity}:${message.reply_count ?? 0}:${message.edited?.ts ?? ""}`,
      });
    }
    return { items, complete: true, ...(items.length > 0 ? { cursor: newest } : {}) };
  }

  async fetch(
    source: SourceDescriptor,
    item: SourceItem,
    _previous: unknown,
    signal?: AbortSignal,
  ): Promise<FetchedItem> {
    const identity = await this.whoAmI();
    const listed = this.lastListing.get(source.id)?.get(item.key);
    let thread: SlackMessage[];
    if (listed && (listed.reply_count ?? 0) === 0) {
      thread = [listed];
    } else {
      try {
        thread = await this.readThread(source.target, item.key, signal);
      } catch (error) {
        if (isAppError(error) && error.code === "not_found") return { status: "gone" };
        throw error;
      }
    }
    const kept = thread.filter((message) => this.isKept(message, identity));
    if (kept.length === 0) return { status: "gone" };
    const lines: string[] = [];
    for (const message of kept) {
      const author = await this.authorOf(message);
      const when = new Date(Number(message.ts) * 1000).toISOString();
      lines.push(...renderMessage(author, when, await this.plainText(message.text ?? "")));
    }
    return conversationDocument(
      item.title,
      `A thread in ${channelNameOf(source, `#${source.target}`)}.`,
      lines,
    );
  }

  /** Channel history is read for Slack channels only (the `ChannelHistory` port). */
  serves(channel: ChannelRef): boolean {
    return channel.platform === "slack";
  }

  /**
   * A channel's newest top-level messages for `summarize`, `actions` and `translate` (the
   * `ChannelHistory` port): people's messages and the bot's own (marked), oldest first, each with
   * its permalink. Only a channel of the token's own workspace.
   */
  async recent(channel: ChannelRef, limit: number, signal?: AbortSignal): Promise<ChannelMessage[]> {
    const identity = await this.whoAmI();
    if (channel.platform !== "slack" || identity.teamId !== channel.workspaceId) {
      throw new AppError("command_forbidden", "channel history of another Slack workspace", {
        category: "user",
        userMessage: "I can only read this channel's history from inside it.",
      });
    }
    const found: SlackMessage[] = [];
    let cursor: string | undefined;
    do {
      signal?.throwIfAborted();
      const page = await this.call("read this channel's history", () =>
        this.client.conversations.history({
          channel: channel.channelId,
          limit: Math.min(PAGE_SIZE, limit - found.length),
          ...(cursor ? { cursor } : {}),
        }),
      ).catch((error: unknown) => {
        if (isAppError(error) && error.code === "fetch_refused") {
          throw new AppError("fetch_refused", error.message, {
            cause: error,
            category: "user",
            userMessage:
              "I'm not in this channel, so I can't read its history. Invite me (`/invite @teammate`) and ask again.",
          });
        }
        throw error;
      });
      for (const message of (page.messages ?? []) as SlackMessage[]) {
        const own =
          message.user === identity.userId ||
          (message.bot_id !== undefined && message.bot_id === identity.botId);
        if (message.ts && (own || this.isKept(message, identity))) found.push(message);
      }
      cursor = page.response_metadata?.next_cursor || undefined;
    } while (cursor && found.length < limit);
    const messages: ChannelMessage[] = [];
    for (const message of found.slice(0, limit).reverse()) {
      const own =
        message.user === identity.userId ||
        (message.bot_id !== undefined && message.bot_id === identity.botId);
      messages.push({
        id: message.ts ?? "",
        userId: message.user ?? message.bot_id ?? "unknown",
        userName: own ? "teammate" : await this.authorOf(message),
        text: await this.plainText(message.text ?? ""),
        fromAssistant: own,
        link: permalink(identity.url, channel.channelId, message.ts ?? ""),
      });
    }
    return messages;
  }

  private async findByName(target: string): Promise<[string, string, string] | undefined> {
    const name = CHANNEL_NAME.exec(target)?.[1];
    if (!name) return undefined;
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await this.call("list the channels", () =>
        this.client.conversations.list({
          types: "public_channel,private_channel",
          exclude_archived: true,
          limit: 1000,
          ...(cursor ? { cursor } : {}),
        }),
      );
      const found = page.channels?.find((channel) => channel.name === name);
      if (found?.id) return [target, found.id, name];
      cursor = page.response_metadata?.next_cursor || undefined;
      pages += 1;
    } while (cursor && pages < 10);
    return undefined;
  }

  private async readThread(channel: string, ts: string, signal?: AbortSignal): Promise<SlackMessage[]> {
    const messages: SlackMessage[] = [];
    let cursor: string | undefined;
    do {
      signal?.throwIfAborted();
      const page = await this.call("read a thread", () =>
        this.client.conversations.replies({ channel, ts, limit: PAGE_SIZE, ...(cursor ? { cursor } : {}) }),
      );
      messages.push(...((page.messages ?? []) as SlackMessage[]));
      cursor = page.response_metadata?.next_cursor || undefined;
    } while (cursor && messages.length < 5_000);
    return messages;
  }

  private isKept(message: SlackMessage, identity: { userId: string; botId: string }): boolean {
    if (!KEPT_SUBTYPES.has(message.subtype)) return false;
    if (
      message.user === identity.userId ||
      (message.bot_id !== undefined && message.bot_id === identity.botId)
    )
      return false;
    return true;
  }

  private titleOf(message: SlackMessage, channelName: string): string {
    return firstLineTitle(
      cleanMrkdwn(message.text ?? "", () => undefined),
      `Thread in ${channelName}`,
    );
  }

  private async authorOf(message: SlackMessage): Promise<string> {
    if (!message.user) return message.username ?? "an app";
    return (await this.userName(message.user)) ?? message.user;
  }

  private async plainText(text: string): Promise<string> {
    const mentioned = [...text.matchAll(/<@([UW][A-Z0-9]+)(?:\|[^>]*)?>/g)].map((match) => match[1] ?? "");
    for (const userId of new Set(mentioned)) await this.userName(userId);
    return cleanMrkdwn(text, (userId) => this.userNames.get(userId));
  }

  private async userName(userId: string): Promise<string | undefined> {
    const known = this.userNames.get(userId);
    if (known) return known;
    try {
      const result = await this.client.users.info({ user: userId });
      const name =
        result.user?.profile?.display_name || result.user?.real_name || result.user?.name || undefined;
      if (!name) return undefined;
      if (this.userNames.size >= MAX_USER_NAMES) this.userNames.clear();
      this.userNames.set(userId, name);
      return name;
    } catch (error) {
      // A name is a nicety: the thread is indexed with the id instead.
      this.logger.debug({ error: summarizeSlackError(error) }, "users.info failed");
      return undefined;
    }
  }

  private async channelFacts(
    workspaceId: string,
    channelId: string,
    shownName?: string,
  ): Promise<ChannelFacts> {
    const fallbackName = shownName ? `#${shownName}` : `<#${channelId}>`;
    try {
      const result = await this.client.conversations.info({ channel: channelId });
      const channel = result.channel ?? {};
      const visibility =
        channel.is_im || channel.is_mpim ? "direct" : channel.is_private ? "private" : "public";
      return {
        platform: "slack",
        workspaceId,
        channelId,
        name: channel.name ? `#${channel.name}` : fallbackName,
        visibility,
        // A DM is readable by the bot when it is one of its two ends, which `info` answering means.
        botIsMember: channel.is_im ? true : channel.is_member === true,
      };
    } catch (error) {
      // Slack answers `channel_not_found` for a private channel the bot was never invited to.
      if (slackErrorCode(error) === "channel_not_found") {
        return {
          platform: "slack",
          workspaceId,
          channelId,
          name: fallbackName,
          visibility: "private",
          botIsMember: false,
        };
      }
      throw this.translate(error, "look up the channel");
    }
  }

  private call<Result>(what: string, run: () => Promise<Result>): Promise<Result> {
    return translated((error, action) => this.translate(error, action), what, run);
  }

  private translate(error: unknown, what: string): AppError {
    if (isAppError(error)) return error;
    const code = slackErrorCode(error);
    if (code === "thread_not_found" || code === "message_not_found") {
      return new AppError("not_found", `Slack could not ${what}: ${code}`, { category: "user" });
    }
    if (code === "not_in_channel" || code === "channel_not_found") {
      return new AppError("fetch_refused", `Slack could not ${what}: ${code}`, {
        category: "user",
        userMessage:
          "I'm not in that channel any more, so I can't read its history. Invite me back (`/invite @teammate`).",
      });
    }
    const summary = summarizeSlackError(error);
    return new AppError("fetch_failed", `Slack could not ${what}: ${String(code ?? summary.message)}`, {
      category: "third_party",
      retryable: code === undefined || code === "ratelimited" || code === "internal_error",
      userMessage: `Slack would not let me ${what} (${String(code ?? "no answer")}).`,
    });
  }
}

/** The documented permalink form: `https://<workspace>.slack.com/archives/<channel>/p<ts without the dot>`. */
function permalink(workspaceUrl: string, channel: string, ts: string): string {
  const base = workspaceUrl.endsWith("/") ? workspaceUrl : `${workspaceUrl}/`;
  return `${base}archives/${channel}/p${ts.replace(".", "")}`;
}

/** Slack mrkdwn to plain Markdown: mentions named, links spelled out, entities decoded. */
function cleanMrkdwn(text: string, nameOf: (userId: string) => string | undefined): string {
  return text
    .replace(
      /<@([UW][A-Z0-9]+)(?:\|([^>]*))?>/g,
      (_, id: string, label?: string) => `@${nameOf(id) ?? label ?? id}`,
    )
    .replace(/<#[CGD][A-Z0-9]+\|([^>]*)>/g, (_, name: string) => `#${name}`)
    .replace(/<!(here|channel|everyone)(?:\|[^>]*)?>/g, "@$1")
    .replace(/<(https?:[^|>]+)\|([^>]+)>/g, (_, url: string, label: string) => `[${label}](${url})`)
    .replace(/<(https?:[^>]+)>/g, "$1")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
}
