import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { App, HTTPReceiver, LogLevel, type Receiver, SocketModeReceiver } from "@slack/bolt";
import { WebClient } from "@slack/web-api";
import { AppError } from "../../core/errors.js";
import type { AssistantHandler } from "../../core/ports/assistant-handler.js";
import type { Logger } from "../../core/ports/logger.js";
import { createBoltLogger } from "./create-bolt-logger.js";
import { registerAppHome } from "./slack-app-home.js";
import { createAssistantSurface } from "./slack-assistant-surface.js";
import { record, type SlackBotIdentity, text } from "./slack-event-parser.js";
import { createSlackInbound } from "./slack-inbound.js";
import { registerShortcuts } from "./slack-shortcuts.js";
import { createSlackUserDirectory } from "./slack-user-directory.js";
import { slackErrorCode, summarizeSlackError } from "./summarize-slack-error.js";

/** An extra HTTP route served next to `/slack/events` (for example `/healthz`). */
interface SlackHttpRoute {
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

const STOP_GRACE_MILLISECONDS = 15_000;

/**
 * `SlackPlatformAdapter`: teammate in a Slack workspace over Bolt. Transport only: verifies (Bolt's
 * signing check), parses events, commands and clicks (`slack-event-parser.ts`) into core's
 * `InboundMessage`/`InboundAction`, acknowledges within Slack's three seconds before any work, and
 * renders replies through {@link SlackReplySink}. Every person's message that may be for teammate
 * (mentions, DMs, messages in channel threads) goes to core with how it addressed teammate and a lazy
 * reader of its thread; core decides whether and where to answer, and nothing shows before it does.
 */
export function createSlackAdapter(options: SlackAdapterOptions): SlackAdapter {
  const logger = options.logger.child({ component: "slack" });
  const boltLogger = createBoltLogger(logger, LogLevel.INFO);
  const clientOptions = {
    ...(options.apiUrl ? { slackApiUrl: options.apiUrl } : {}),
    retryConfig: { retries: options.clientRetries ?? 2 },
    logger: boltLogger,
  };
  const client = new WebClient(options.botToken, clientOptions);
  const commandName = options.commandName ?? "/teammate";
  const work = createWorkTracker();
  const identity: SlackBotIdentity = {};
  const { onEvent, onCommand, onAction, surfaces } = createSlackInbound({
    client,
    users: createSlackUserDirectory({ client, adminUserIds: options.adminUserIds, logger }),
    assistant: options.assistant,
    logger,
    identity,
    commandName,
    track: work.track,
    // Shared by every reply: once the workspace refuses streaming, later replies do not ask again.
    sink: {
      streaming: { refused: false },
      fetchImpl: options.fetchImpl,
      updateIntervalMilliseconds: options.updateIntervalMilliseconds,
      streamMessageLimit: options.streamMessageLimit,
    },
  });
  let app: App | undefined;
  let listeningPort: number | undefined;

  const register = (created: App): void => {
    // Each listener awaits its work: Bolt has already acknowledged the request, and awaiting keeps
    // every promise handled (errors land in app.error).
    created.event("app_mention", async ({ body, event }) => {
      await work.track(() => onEvent(body, event));
    });
    created.event("message", async ({ body, event }) => {
      await work.track(() => onEvent(body, event));
    });
    // The split view's events, and the DM-thread messages it routes back to onEvent (Bolt's
    // Assistant middleware takes those before the message listener above).
    created.assistant(createAssistantSurface(surfaces));
    registerAppHome(created, surfaces);
    registerShortcuts(created, surfaces);
    created.command(commandName, async ({ ack, command }) => {
      await ack();
      await work.track(() => onCommand(command));
    });
    created.action({ type: "block_actions" }, async ({ ack, body, action }) => {
      await ack();
      await work.track(() => onAction(body, action));
    });
    created.error(async (error) => {
      logger.error(summarizeSlackError(error), "slack listener failed");
    });
  };

  return {
    get port() {
      return listeningPort;
    },

    async start() {
      if (app) return;
      let identified: Record<string, unknown>;
      try {
        identified = record(await client.auth.test());
      } catch (error) {
        throw slackStartError(error, options.apiUrl);
      }
      identity.userId = text(identified.user_id);
      identity.botId = text(identified.bot_id);
      const created = new App({
        token: options.botToken,
        ...(identity.botId ? { botId: identity.botId } : {}),
        ...(identity.userId ? { botUserId: identity.userId } : {}),
        receiver: buildReceiver(options, boltLogger),
        logger: boltLogger,
        clientOptions,
        tokenVerificationEnabled: false,
      });
      register(created);
      listeningPort = listenedPort(await created.start(options.port), options);
      app = created;
      logger.info(
        { mode: options.appToken ? "socket" : "http", port: listeningPort, botUserId: identity.userId },
        "slack adapter started",
      );
    },

    async stop() {
      const running = app;
      app = undefined;
      if (!running) return;
      await running.stop();
      await work.settle(STOP_GRACE_MILLISECONDS);
      listeningPort = undefined;
    },
  };
}

/**
 * Tracks each event's work for `stop()`. Work starts on a later turn of the event loop: Bolt has
 * written the ack already, and the requests that arrived with this one are read and acknowledged
 * before any of their work begins, so a burst never makes Slack wait (and re-deliver).
 */
function createWorkTracker() {
  const inFlight = new Set<Promise<void>>();
  return {
    async track(start: () => Promise<void>): Promise<void> {
      const running = new Promise<void>((resolve) => setImmediate(resolve)).then(start);
      inFlight.add(running);
      try {
        await running;
      } finally {
        inFlight.delete(running);
      }
    },
    /** Waits for the work in progress, at most `graceMilliseconds`. */
    async settle(graceMilliseconds: number): Promise<void> {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...inFlight]),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, graceMilliseconds);
        }),
      ]);
      if (timer) clearTimeout(timer);
    },
  };
}

function buildReceiver(
  options: SlackAdapterOptions,
  boltLogger: ReturnType<typeof createBoltLogger>,
): Receiver {
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
}

/** The port actually listened on: Bolt's HTTP server's, or none in Socket Mode without custom routes. */
function listenedPort(started: unknown, options: SlackAdapterOptions): number | undefined {
  const address =
    started && typeof (started as Server).address === "function" ? (started as Server).address() : null;
  if (address && typeof address === "object") return (address as AddressInfo).port;
  return options.appToken && (options.customRoutes ?? []).length === 0 ? undefined : options.port;
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
function slackStartError(error: unknown, apiUrl: string | undefined): AppError {
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
