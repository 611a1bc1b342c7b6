import type { SlashCommand } from "@slack/bolt";
import type { WebClient } from "@slack/web-api";
import { AppError, reportFailure } from "../../core/errors.js";
import type { AssistantHandler, InboundAction, InboundMessage } from "../../core/ports/assistant-handler.js";
import type { Logger } from "../../core/ports/logger.js";
import { createSlackActorResolver, type SlackActor } from "./slack-actor.js";
import {
  normalizeSlackText,
  parseButtonClick,
  parseSlackEvent,
  parseSlashCommand,
  type SlackBotIdentity,
  type SlackPersonMessage,
} from "./slack-event-parser.js";
import { SlackReplySink, type SlackReplySinkOptions, type SlackReplyTarget } from "./slack-reply-sink.js";
import type { SlackSurfaceContext } from "./slack-surface-context.js";
import { createSlackThreadHistory, type SlackThreadHistory } from "./slack-thread-history.js";
import type { SlackUserDirectory } from "./slack-user-directory.js";
import { summarizeSlackError } from "./summarize-slack-error.js";

export interface SlackInboundOptions {
  client: WebClient;
  users: SlackUserDirectory;
  assistant: AssistantHandler;
  logger: Logger;
  /** Filled in by the adapter's start (`auth.test`). */
  identity: SlackBotIdentity;
  commandName: string;
  /** Runs one event's work after the ack, tracked for the adapter's `stop()`. */
  track(start: () => Promise<void>): Promise<void>;
  /** How replies render (streaming policy, pacing, limits); the target is per message. */
  sink: Omit<SlackReplySinkOptions, "client" | "target" | "logger">;
}

/** What the adapter's listeners call, and what the surface modules share with them. */
export interface SlackInbound {
  onEvent(body: unknown, event: unknown): Promise<void>;
  onCommand(command: Partial<SlashCommand>): Promise<void>;
  onAction(body: unknown, action: unknown): Promise<void>;
  surfaces: SlackSurfaceContext;
}

/**
 * From a parsed delivery to core: names the actor, attaches the thread's history, builds the reply
 * target and runs core with a sink that still says a sentence if core throws. Which messages are
 * answered is core's decision; this module only refuses what names no workspace.
 */
export function createSlackInbound(options: SlackInboundOptions): SlackInbound {
  const { client, users, identity, logger, commandName } = options;
  const actorOf = createSlackActorResolver(users);

  const runWithSink: SlackSurfaceContext["runWithSink"] = (target, eventLogger, run) =>
    runWithSlackSink({ ...options.sink, client, target, logger: eventLogger }, run);

  const refuseWithoutWorkspace = (what: string, details: Record<string, unknown>): void => {
    logger.warn(details, `slack ${what} without a workspace id refused`);
  };

  const threadHistory = (
    channel: string,
    rootTs: string,
    currentTs: string,
    eventLogger: Logger,
    inclusive = false,
  ): SlackThreadHistory =>
    createSlackThreadHistory({
      client,
      users,
      identity: () => identity,
      channel,
      rootTs,
      currentTs,
      inclusive,
      logger: eventLogger,
    });

  const onEvent = async (body: unknown, event: unknown): Promise<void> => {
    const verdict = parseSlackEvent(body, event, identity);
    if (verdict.kind === "refused") return refuseWithoutWorkspace("event", verdict.details);
    if (verdict.kind === "ignored") return;
    const parsed = verdict.message;
    const eventLogger = logger.child({ eventId: parsed.eventId, channel: parsed.channel });
    const actor = await actorOf(parsed.userId, parsed.workspaceId, parsed.hints);
    const message = inboundMessageOf(parsed, actor);
    if (parsed.threadTs !== undefined && parsed.threadTs !== parsed.ts) {
      message.history = threadHistory(parsed.channel, parsed.threadTs, parsed.ts, eventLogger);
    }
    await runWithSink(replyTargetOf(parsed), eventLogger, (sink) => options.assistant.handle(message, sink));
  };

  const onCommand = async (command: Partial<SlashCommand>): Promise<void> => {
    const parsed = parseSlashCommand(command, identity.userId);
    if (parsed.kind === "refused") return refuseWithoutWorkspace("command", parsed.details);
    if (parsed.kind === "ignored") return;
    const { workspaceId, channel, userId, responseUrl } = parsed.value;
    const eventLogger = logger.child({ command: commandName, channel });
    const message: InboundMessage = {
      platform: "slack",
      workspaceId,
      channelId: channel,
      threadId: undefined,
      ...(await actorOf(userId, workspaceId, parsed.value.hints)),
      text: parsed.value.text,
      attachments: [],
      eventId: parsed.value.eventId,
      isCommand: true,
      addressedBy: "command",
    };
    // Even in a DM the command may not be in teammate's own DM, so private replies use response_url.
    const target = commandTarget({ channel, userId, workspaceId, responseUrl, isDirectMessage: false });
    await runWithSink(target, eventLogger, (sink) => options.assistant.handle(message, sink));
  };

  const onAction = async (body: unknown, action: unknown): Promise<void> => {
    const parsed = parseButtonClick(body, action);
    if (parsed.kind === "refused") return refuseWithoutWorkspace("click", parsed.details);
    if (parsed.kind === "ignored") return;
    const click = parsed.value;
    const eventLogger = logger.child({ action: click.action, channel: click.channel });
    const inbound: InboundAction = {
      platform: "slack",
      workspaceId: click.workspaceId,
      channelId: click.channel,
      threadId: click.threadTs,
      ...(await actorOf(click.userId, click.workspaceId, click.hints)),
      action: click.action,
      value: click.value,
      eventId: click.eventId,
    };
    const target = commandTarget({
      channel: click.channel,
      userId: click.userId,
      workspaceId: click.workspaceId,
      responseUrl: click.responseUrl,
      threadTs: click.threadTs,
      isDirectMessage: click.channel.startsWith("D"),
    });
    await runWithSink(target, eventLogger, (sink) => options.assistant.handleAction(inbound, sink));
  };

  const surfaces: SlackSurfaceContext = {
    client,
    logger,
    assistant: options.assistant,
    track: options.track,
    actorOf,
    runWithSink,
    threadHistory,
    onMessage: onEvent,
    identity: () => identity,
    normalizeText: (raw) => normalizeSlackText(raw, identity.userId),
  };
  return { onEvent, onCommand, onAction, surfaces };
}

/** Runs core's work with a reply sink; if it throws before replying, the person still gets a sentence. */
async function runWithSlackSink(
  sinkOptions: SlackReplySinkOptions,
  run: (sink: SlackReplySink) => Promise<void>,
): Promise<void> {
  const eventLogger = sinkOptions.logger;
  const sink = new SlackReplySink(sinkOptions);
  try {
    await run(sink);
  } catch (error) {
    // Whatever was thrown, the person sees the plain apology: a thrown error's own text is not theirs to read.
    const { sentence } = reportFailure(
      new AppError("internal", "slack event handling failed", { cause: summarizeSlackError(error) }),
      eventLogger,
      "slack event handling failed",
    );
    if (sink.isClosed) return;
    try {
      await sink.fail(sentence);
    } catch (failError) {
      eventLogger.error(summarizeSlackError(failError), "slack could not even post the apology");
    }
  }
}

/** A person's message as core's `InboundMessage`, without its history (attached by the caller). */
function inboundMessageOf(parsed: SlackPersonMessage, actor: SlackActor): InboundMessage {
  // A message typed in a channel opens a thread on itself (its own ts); core places the reply.
  const threadId = parsed.isDirectMessage ? parsed.threadTs : (parsed.threadTs ?? parsed.ts);
  return {
    platform: "slack",
    workspaceId: parsed.workspaceId,
    channelId: parsed.channel,
    threadId,
    ...actor,
    text: parsed.text,
    attachments: parsed.files,
    eventId: parsed.eventId,
    messageId: parsed.ts,
    addressedBy: parsed.addressedBy,
  };
}

/** Where the reply to a person's message goes; a message typed in a channel may open a thread. */
function replyTargetOf(parsed: SlackPersonMessage): SlackReplyTarget {
  const typedInChannel = !parsed.isDirectMessage && parsed.threadTs === undefined;
  return {
    channel: parsed.channel,
    threadTs: parsed.threadTs,
    ...(typedInChannel ? { openThreadOn: parsed.ts } : {}),
    userId: parsed.userId,
    teamId: parsed.workspaceId,
    isDirectMessage: parsed.isDirectMessage,
    messageTs: parsed.ts,
    isAssistantThread: parsed.isAssistantThread,
  };
}

/** Where the reply to a command or click goes: no message of the asker's to mark, a `response_url`. */
function commandTarget(where: {
  channel: string;
  userId: string;
  workspaceId: string;
  responseUrl: string | undefined;
  threadTs?: string | undefined;
  isDirectMessage: boolean;
}): SlackReplyTarget {
  return {
    channel: where.channel,
    threadTs: where.threadTs,
    userId: where.userId,
    teamId: where.workspaceId,
    isDirectMessage: where.isDirectMessage,
    messageTs: undefined,
    isAssistantThread: false,
    responseUrl: where.responseUrl,
  };
}
