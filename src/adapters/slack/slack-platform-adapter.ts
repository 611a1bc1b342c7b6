import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { App, HTTPReceiver, LogLevel, type Receiver, SocketModeReceiver } from "@slack/bolt";
import { WebClient } from "@slack/web-api";
import { AppError } from "../../core/errors.js";
import type { Logger } from "../../core/ports/logger.js";
import type {
  AssistantHandler,
  Attachment,
  ConversationRef,
  InboundAction,
  InboundMessage,
  PriorMessage,
} from "../../core/types.js";
import { createBoltLogger } from "./create-bolt-logger.js";
import { registerAppHome } from "./slack-app-home.js";
import { createAssistantSurface } from "./slack-assistant-surface.js";
import { SlackReplySink, type SlackReplyTarget, type SlackStreamingPolicy } from "./slack-reply-sink.js";
import { registerShortcuts } from "./slack-shortcuts.js";
import type { SlackSurfaceContext } from "./slack-surface-context.js";
import { createSlackUserDirectory, type SlackUser, type SlackUserDirectory } from "./slack-user-directory.js";
import { slackErrorCode, summarizeSlackError } from "./summarize-slack-error.js";

/** An extra HTTP route served next to `/slack/events` (for example `/healthz`). */
export interface SlackHttpRoute {
  path: string;
  method: string | string[];
  handler: (request: IncomingMessage, response: ServerResponse) => void;
}

export interface SlackAdapterOptions {
  /** `SLACK_BOT_TOKEN` (xoxb-…). Never logged. */
  botToken: string;
  /** `SLACK_SIGNING_SECRET`: Bolt verifies every HTTP request with it. Never logged. */
  signingSecret: string;
  /** `SLACK_APP_TOKEN` (xapp-…): Socket Mode instead of HTTP. */
  appToken?: string | undefined;
  /** `SLACK_API_URL`: Web API base URL ending in `/api/` (GovSlack, proxies, local stand-ins). */
  apiUrl?: string | undefined;
  /** HTTP port for `/slack/events` (0 picks a free one; see `SlackAdapter.port`). In Socket Mode, the port of `customRoutes`. */
  port: number;
  /** `ADMIN_USER_IDS`, platform-qualified; `slack:U123` entries make those members admins. */
  adminUserIds: readonly string[];
  assistant: AssistantHandler;
  logger: Logger;
  /** Used for `response_url` replies. Default: global fetch. */
  fetchImpl?: typeof fetch | undefined;
  /** Routes served on the same HTTP server, such as `/healthz`. */
  customRoutes?: SlackHttpRoute[] | undefined;
  /** The slash command teammate answers. Default `/teammate`. */
  commandName?: string | undefined;
  /** Web API retries per call. Default 2; tests pass 0. */
  clientRetries?: number | undefined;
  /** Least time between edits of one reply. Default 1000 ms. */
  updateIntervalMilliseconds?: number | undefined;
  /** Most Markdown characters in one streamed message. Default 11 000. */
  streamMessageLimit?: number | undefined;
}

/** The running Slack app. */
export interface SlackAdapter {
  start(): Promise<void>;
  /** Stops receiving, then waits (up to 15 s) for replies already in progress. */
  stop(): Promise<void>;
  /** The HTTP port actually listened on, once started (HTTP mode, or Socket Mode with custom routes). */
  readonly port: number | undefined;
}

type Json = Record<string, unknown>;

const text = (value: unknown): string | undefined =>
  typeof value === "string" && value !== "" ? value : undefined;
const record = (value: unknown): Json => (value !== null && typeof value === "object" ? (value as Json) : {});

/** Message subtypes that are still a person talking; every other subtype (edits, joins, bots) is ignored. */
const PERSON_SUBTYPES = new Set([undefined, "file_share", "thread_broadcast"]);
const PRIOR_MESSAGE_LIMIT = 50;
const STOP_GRACE_MILLISECONDS = 15_000;

/**
 * Removes teammate's own mention and Slack's HTML escaping, so core sees what the person typed.
 * Other mentions and links stay in Slack's `<…>` form.
 */
export function normalizeSlackText(raw: string, botUserId: string | undefined): string {
  let result = raw;
  if (botUserId) result = result.replace(new RegExp(`<@${botUserId}(\\|[^>]*)?>`, "g"), " ");
  // Line breaks stay: people paste code and lists.
  return result
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&")
    .replace(/[ \t]+/g, " ")
    .replace(/ *\n */g, "\n")
    .trim();
}

/**
 * `SlackPlatformAdapter`: teammate in a Slack workspace over Bolt. Transport only: verifies (Bolt's
 * signing check), parses events, commands and clicks into core's `InboundMessage`/`InboundAction`,
 * acknowledges within Slack's three seconds before any work, and renders replies through
 * {@link SlackReplySink}. Which messages to answer follows Slack conventions (mentions, DMs, follow-ups
 * in threads teammate takes part in); what to answer, permissions and duplicate deliveries are core's.
 */
export function createSlackAdapter(options: SlackAdapterOptions): SlackAdapter {
  const logger = options.logger.child({ component: "slack" });
  const boltLogger = createBoltLogger(logger, LogLevel.INFO);
  const retries = options.clientRetries ?? 2;
  const clientOptions = {
    ...(options.apiUrl ? { slackApiUrl: options.apiUrl } : {}),
    retryConfig: { retries },
    logger: boltLogger,
  };
  const client = new WebClient(options.botToken, clientOptions);
  const users: SlackUserDirectory = createSlackUserDirectory({
    client,
    adminUserIds: options.adminUserIds,
    logger,
  });
  const streaming: SlackStreamingPolicy = { refused: false };
  const commandName = options.commandName ?? "/teammate";
  const inFlight = new Set<Promise<void>>();
  let app: App | undefined;
  let listeningPort: number | undefined;
  let botUserId: string | undefined;
  let botId: string | undefined;

  /**
   * Runs one event's work, tracked for `stop()`. It starts on a later turn of the event loop: Bolt has
   * written the ack already, and the requests that arrived with this one are read and acknowledged
   * before any of their work begins, so a burst never makes Slack wait (and re-deliver).
   */
  const track = async (start: () => Promise<void>): Promise<void> => {
    const work = new Promise<void>((resolve) => setImmediate(resolve)).then(start);
    inFlight.add(work);
    try {
      await work;
    } finally {
      inFlight.delete(work);
    }
  };

  const createSink = (target: SlackReplyTarget, eventLogger: Logger) =>
    new SlackReplySink({
      client,
      target,
      logger: eventLogger,
      streaming,
      fetchImpl: options.fetchImpl,
      updateIntervalMilliseconds: options.updateIntervalMilliseconds,
      streamMessageLimit: options.streamMessageLimit,
    });

  /** Runs core's work; if it throws before replying, the person still gets a sentence. */
  const runWithSink = async (
    target: SlackReplyTarget,
    eventLogger: Logger,
    work: (sink: SlackReplySink) => Promise<void>,
  ): Promise<void> => {
    const sink = createSink(target, eventLogger);
    try {
      await work(sink);
    } catch (error) {
      const reference = Math.random().toString(36).slice(2, 10);
      eventLogger.error({ ...summarizeSlackError(error), reference }, "slack event handling failed");
      if (sink.isClosed) return;
      try {
        await sink.fail(
          `Sorry, something went wrong on my side and I could not finish that (ref ${reference}).`,
        );
      } catch (failError) {
        eventLogger.error(summarizeSlackError(failError), "slack could not even post the apology");
      }
    }
  };

  const attachmentsOf = (event: Json, workspaceId: string): Attachment[] => {
    const files = Array.isArray(event.files) ? (event.files as unknown[]) : [];
    return files.flatMap((file): Attachment[] => {
      const entry = record(file);
      const url = text(entry.url_private);
      if (!url) return [];
      return [
        {
          name: text(entry.name) ?? text(entry.title) ?? "file",
          url,
          mimeType: text(entry.mimetype),
          sizeBytes: typeof entry.size === "number" ? entry.size : undefined,
          // Slack serves url_private only with the bot token. The token stays out of core: the
          // Slack file loader adds it at download time, for files that arrived here (this mark).
          arrivedIn: { platform: "slack", workspaceId },
        },
      ];
    });
  };

  /**
   * Whether a member belongs to another organisation (a Slack Connect guest in a shared channel):
   * Slack says so (`is_stranger`), or their home team differs from the workspace the event came
   * from and no Enterprise Grid organisation joins the two.
   */
  const isExternalMember = (
    member: SlackUser,
    workspaceId: string,
    hints: { userTeam?: string | undefined; enterpriseId?: string | undefined },
  ): boolean => {
    if (member.isStranger) return true;
    const homes = [hints.userTeam, member.teamId].filter((team): team is string => team !== undefined);
    if (homes.every((team) => team === workspaceId)) return false;
    return !(member.enterpriseId !== undefined && member.enterpriseId === hints.enterpriseId);
  };

  /** What core needs to know about an acting member: name, admin verdict now and later, organisation. */
  const actorOf = async (
    userId: string,
    workspaceId: string,
    hints: {
      userTeam?: string | undefined;
      enterpriseId?: string | undefined;
      fallbackName?: string | undefined;
    },
  ) => {
    const member = await users.lookup(userId, hints.fallbackName);
    const isExternal = isExternalMember(member, workspaceId, hints);
    return {
      userId,
      userName: member.name,
      // A guest from another organisation is never an admin here, whatever they are at home.
      isAdmin: member.isAdmin && !isExternal,
      isAdminNow: async () => !isExternal && (await users.isAdminNow(userId)),
      isExternal,
    };
  };

  const refuseWithoutWorkspace = (what: string, details: Record<string, unknown>): void => {
    logger.warn(details, `slack ${what} without a workspace id refused`);
  };

  const readEarlierThreadMessages = async (
    channel: string,
    rootTs: string,
    currentTs: string,
    eventLogger: Logger,
    inclusive = false,
  ): Promise<PriorMessage[] | undefined> => {
    try {
      const response = await client.conversations.replies({ channel, ts: rootTs, limit: 200 });
      const earlier = (response.messages ?? [])
        .map(record)
        .filter((message) => {
          const ts = text(message.ts);
          if (ts === undefined) return false;
          return inclusive
            ? Number(ts) <= Number(currentTs)
            : ts !== currentTs && Number(ts) < Number(currentTs);
        })
        .slice(-PRIOR_MESSAGE_LIMIT);
      const prior: PriorMessage[] = [];
      for (const message of earlier) {
        const userId = text(message.user);
        const fromAssistant =
          (userId !== undefined && userId === botUserId) || text(message.bot_id) === botId;
        const userName = fromAssistant
          ? "teammate"
          : userId
            ? (await users.lookup(userId)).name
            : (text(message.username) ?? "bot");
        prior.push({
          userId: userId ?? text(message.bot_id) ?? "unknown",
          userName,
          text: normalizeSlackText(text(message.text) ?? "", botUserId),
          fromAssistant,
        });
      }
      return prior;
    } catch (error) {
      eventLogger.warn(summarizeSlackError(error), "slack could not read the earlier thread messages");
      return undefined;
    }
  };

  /**
   * Whether teammate takes part in a thread. Core knows from its memory; when the memory store is
   * down, the thread itself tells: a reply of teammate's own in it. Either way the follow-up is
   * answered (core then says it answers without memory) instead of silently dropped.
   */
  const isEngaged = async (
    conversation: ConversationRef,
    channel: string,
    rootTs: string,
    eventLogger: Logger,
  ): Promise<boolean> => {
    try {
      return await options.assistant.isEngaged(conversation);
    } catch (error) {
      eventLogger.warn(
        { err: error },
        "memory unavailable: reading the thread to see whether teammate is in it",
      );
      try {
        const response = await client.conversations.replies({ channel, ts: rootTs, limit: 200 });
        return (response.messages ?? [])
          .map(record)
          .some(
            (message) =>
              (botUserId !== undefined && text(message.user) === botUserId) ||
              (botId !== undefined && text(message.bot_id) === botId),
          );
      } catch (threadError) {
        eventLogger.warn(summarizeSlackError(threadError), "slack could not read the thread either");
        return false;
      }
    }
  };

  /**
   * The workspace an event was delivered for: the envelope's team, or its authorization's. Never the
   * event's own `team`, which in a shared channel is the sender's organisation. None: the event is
   * refused, never answered under a made-up workspace where everyone without one would meet.
   */
  const workspaceOf = (body: Json): string | undefined => {
    const authorization = record(Array.isArray(body.authorizations) ? body.authorizations[0] : undefined);
    return text(body.team_id) ?? text(authorization.team_id);
  };

  const answerMessage = async (
    body: Json,
    event: Json,
    conversation: ConversationRef,
    target: SlackReplyTarget,
    priorMessages: PriorMessage[] | undefined,
    eventLogger: Logger,
  ): Promise<void> => {
    const userId = text(event.user) ?? "unknown";
    const actor = await actorOf(userId, conversation.workspaceId, {
      userTeam: text(event.user_team),
      enterpriseId: text(body.enterprise_id),
    });
    const message: InboundMessage = {
      ...conversation,
      ...actor,
      text: normalizeSlackText(text(event.text) ?? "", botUserId),
      attachments: attachmentsOf(event, conversation.workspaceId),
      // Re-deliveries (X-Slack-Retry-Num) carry the same event_id; core answers each id once.
      eventId: text(body.event_id) ?? `${conversation.channelId}:${text(event.ts) ?? ""}`,
      ...(priorMessages && priorMessages.length > 0 ? { priorMessages } : {}),
    };
    await runWithSink(target, eventLogger, (sink) => options.assistant.handle(message, sink));
  };

  const onMention = async (body: Json, event: Json): Promise<void> => {
    const channel = text(event.channel);
    const ts = text(event.ts);
    const userId = text(event.user);
    if (!channel || !ts || !userId || text(event.bot_id) || userId === botUserId) return;
    // Direct messages arrive as message.im; an app_mention there would be answered twice.
    if (channel.startsWith("D")) return;
    const workspaceId = workspaceOf(body);
    if (!workspaceId) return refuseWithoutWorkspace("event", { eventId: body.event_id, channel });
    const threadTs = text(event.thread_ts);
    const rootTs = threadTs ?? ts;
    const eventLogger = logger.child({ eventId: body.event_id, channel });
    const conversation: ConversationRef = {
      platform: "slack",
      workspaceId,
      channelId: channel,
      threadId: rootTs,
    };
    // First contact with a thread that already has a conversation: read it, so the answer has context.
    const isExistingThread = threadTs !== undefined && threadTs !== ts;
    const priorMessages =
      isExistingThread && !(await isEngaged(conversation, channel, rootTs, eventLogger))
        ? await readEarlierThreadMessages(channel, rootTs, ts, eventLogger)
        : undefined;
    const target: SlackReplyTarget = {
      channel,
      threadTs: rootTs,
      userId,
      teamId: workspaceId,
      isDirectMessage: false,
      messageTs: ts,
      isAssistantThread: false,
    };
    await answerMessage(body, event, conversation, target, priorMessages, eventLogger);
  };

  const onMessage = async (body: Json, event: Json): Promise<void> => {
    const subtype = text(event.subtype);
    if (!PERSON_SUBTYPES.has(subtype)) return;
    const channel = text(event.channel);
    const ts = text(event.ts);
    const userId = text(event.user);
    if (!channel || !ts || !userId || text(event.bot_id) || userId === botUserId) return;
    const isDirectMessage = text(event.channel_type) === "im";
    const threadTs = text(event.thread_ts);
    // A mention in a channel also arrives as app_mention, which answers it.
    if (!isDirectMessage && botUserId && (text(event.text) ?? "").includes(`<@${botUserId}`)) return;
    const workspaceId = workspaceOf(body);
    if (!workspaceId) return refuseWithoutWorkspace("event", { eventId: body.event_id, channel });
    const eventLogger = logger.child({ eventId: body.event_id, channel });
    const conversation: ConversationRef = {
      platform: "slack",
      workspaceId,
      channelId: channel,
      threadId: threadTs,
    };
    if (!isDirectMessage) {
      // Outside DMs, only follow-ups in threads teammate already takes part in are answered unprompted.
      if (threadTs === undefined || threadTs === ts) return;
      if (!(await isEngaged(conversation, channel, threadTs, eventLogger))) return;
    }
    const target: SlackReplyTarget = {
      channel,
      threadTs,
      userId,
      teamId: workspaceId,
      isDirectMessage,
      messageTs: ts,
      isAssistantThread: isDirectMessage && threadTs !== undefined,
    };
    await answerMessage(body, event, conversation, target, undefined, eventLogger);
  };

  const onCommand = async (command: Json): Promise<void> => {
    const channel = text(command.channel_id);
    const userId = text(command.user_id);
    if (!channel || !userId) return;
    const workspaceId = text(command.team_id);
    if (!workspaceId) return refuseWithoutWorkspace("command", { command: commandName, channel });
    const eventLogger = logger.child({ command: commandName, channel });
    const actor = await actorOf(userId, workspaceId, {
      userTeam: text(command.user_team),
      enterpriseId: text(command.enterprise_id),
      fallbackName: text(command.user_name),
    });
    const message: InboundMessage = {
      platform: "slack",
      workspaceId,
      channelId: channel,
      threadId: undefined,
      ...actor,
      text: normalizeSlackText(text(command.text) ?? "", botUserId),
      attachments: [],
      eventId: `command:${text(command.trigger_id) ?? `${userId}:${Date.now()}`}`,
      isCommand: true,
    };
    const target: SlackReplyTarget = {
      channel,
      threadTs: undefined,
      userId,
      teamId: workspaceId,
      // Even in a DM the command may not be in teammate's own DM, so private replies use response_url.
      isDirectMessage: false,
      messageTs: undefined,
      isAssistantThread: false,
      responseUrl: text(command.response_url),
    };
    await runWithSink(target, eventLogger, (sink) => options.assistant.handle(message, sink));
  };

  const onAction = async (body: Json, action: Json): Promise<void> => {
    const user = record(body.user);
    const container = record(body.container);
    const clickedMessage = record(body.message);
    const userId = text(user.id);
    const channel = text(record(body.channel).id) ?? text(container.channel_id);
    const actionId = text(action.action_id);
    if (!userId || !channel || !actionId) return;
    // The workspace the click happened in; the clicker's own team may differ (a Slack Connect guest).
    const workspaceId = text(record(body.team).id);
    if (!workspaceId) return refuseWithoutWorkspace("click", { action: actionId, channel });
    const threadTs = text(clickedMessage.thread_ts) ?? text(container.thread_ts);
    const eventLogger = logger.child({ action: actionId, channel });
    const actor = await actorOf(userId, workspaceId, {
      userTeam: text(user.team_id),
      enterpriseId: text(record(body.enterprise).id),
      fallbackName: text(user.name),
    });
    const inbound: InboundAction = {
      platform: "slack",
      workspaceId,
      channelId: channel,
      threadId: threadTs,
      ...actor,
      action: actionId,
      value: text(action.value) ?? text(record(action.selected_option).value) ?? "",
      eventId: `action:${text(body.trigger_id) ?? `${userId}:${text(action.action_ts) ?? Date.now()}`}`,
    };
    const target: SlackReplyTarget = {
      channel,
      threadTs,
      userId,
      teamId: workspaceId,
      isDirectMessage: channel.startsWith("D"),
      messageTs: undefined,
      isAssistantThread: false,
      responseUrl: text(body.response_url),
    };
    await runWithSink(target, eventLogger, (sink) => options.assistant.handleAction(inbound, sink));
  };

  const buildReceiver = (): Receiver => {
    const customRoutes = options.customRoutes ?? [];
    if (options.appToken) {
      return new SocketModeReceiver({
        appToken: options.appToken,
        logger: boltLogger,
        customRoutes,
        installerOptions: {
          port: options.port,
          clientOptions: options.apiUrl ? { slackApiUrl: options.apiUrl } : {},
        },
      });
    }
    return new HTTPReceiver({
      signingSecret: options.signingSecret,
      endpoints: "/slack/events",
      port: options.port,
      customRoutes,
      logger: boltLogger,
      // Acknowledge first, work afterwards: Slack wants an answer within three seconds.
      processBeforeResponse: false,
    });
  };

  return {
    get port() {
      return listeningPort;
    },

    async start() {
      if (app) return;
      let identity: Json;
      try {
        identity = record(await client.auth.test());
      } catch (error) {
        throw slackStartError(error, options.apiUrl);
      }
      botUserId = text(identity.user_id);
      botId = text(identity.bot_id);
      const created = new App({
        token: options.botToken,
        ...(botId ? { botId } : {}),
        ...(botUserId ? { botUserId } : {}),
        receiver: buildReceiver(),
        logger: boltLogger,
        clientOptions,
        tokenVerificationEnabled: false,
      });
      // Each listener awaits its work: Bolt has already acknowledged the request, and awaiting keeps
      // every promise handled (errors land in app.error).
      created.event("app_mention", async ({ body, event }) => {
        await track(() => onMention(record(body), record(event)));
      });
      created.event("message", async ({ body, event }) => {
        await track(() => onMessage(record(body), record(event)));
      });
      const surfaces: SlackSurfaceContext = {
        client,
        logger,
        assistant: options.assistant,
        track,
        workspaceOf,
        actorOf,
        runWithSink,
        readThread: readEarlierThreadMessages,
        isEngaged,
        onMessage,
        botUserId: () => botUserId,
        normalizeText: (raw) => normalizeSlackText(raw, botUserId),
      };
      // The split view's events, and the DM-thread messages it routes back to onMessage (Bolt's
      // Assistant middleware takes those before the message listener below).
      created.assistant(createAssistantSurface(surfaces));
      registerAppHome(created, surfaces);
      registerShortcuts(created, surfaces);
      created.command(commandName, async ({ ack, command }) => {
        await ack();
        await track(() => onCommand(record(command)));
      });
      created.action({ type: "block_actions" }, async ({ ack, body, action }) => {
        await ack();
        await track(() => onAction(record(body), record(action)));
      });
      created.error(async (error) => {
        logger.error(summarizeSlackError(error), "slack listener failed");
      });
      const started = await created.start(options.port);
      const address =
        started && typeof (started as Server).address === "function" ? (started as Server).address() : null;
      listeningPort =
        address && typeof address === "object"
          ? (address as AddressInfo).port
          : options.appToken && (options.customRoutes ?? []).length === 0
            ? undefined
            : options.port;
      app = created;
      logger.info(
        { mode: options.appToken ? "socket" : "http", port: listeningPort, botUserId },
        "slack adapter started",
      );
    },

    async stop() {
      const running = app;
      app = undefined;
      if (!running) return;
      await running.stop();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...inFlight]),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, STOP_GRACE_MILLISECONDS);
        }),
      ]);
      if (timer) clearTimeout(timer);
      listeningPort = undefined;
    },
  };
}

const TOKEN_REJECTED = new Set([
  "invalid_auth",
  "not_authed",
  "account_inactive",
  "token_revoked",
  "token_expired",
]);

/**
 * Why `auth.test` failed at start-up, in a sentence with the fix: a token Slack rejected is a
 * configuration problem; anything without a Slack error code is the network (DNS, proxy, firewall,
 * SLACK_API_URL), and blaming the token for it sent people the wrong way.
 */
export function slackStartError(error: unknown, apiUrl: string | undefined): AppError {
  const code = slackErrorCode(error);
  const cause = new Error(String(summarizeSlackError(error).message));
  if (code && TOKEN_REJECTED.has(code)) {
    return new AppError(
      "config_invalid",
      `Slack rejected SLACK_BOT_TOKEN (${code}): copy the Bot User OAuth Token (xoxb-…) from your app's OAuth & Permissions page, and reinstall the app to the workspace if you changed its scopes.`,
      { category: "user", cause },
    );
  }
  if (code) {
    return new AppError("config_invalid", `Slack refused auth.test at start-up (${code}).`, {
      category: "third_party",
      cause,
    });
  }
  const where = apiUrl ?? "https://slack.com/api/";
  return new AppError(
    "config_invalid",
    `Cannot reach Slack at ${where} (${cause.message}): check the network or proxy, or SLACK_API_URL if you set it.`,
    { category: "third_party", cause },
  );
}
