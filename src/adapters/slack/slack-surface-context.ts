import type { WebClient } from "@slack/web-api";
import type { Logger } from "../../core/ports/logger.js";
import type { Actor, AssistantHandler, ConversationRef, PriorMessage, ReplySink } from "../../core/types.js";
import type { SlackReplyTarget } from "./slack-reply-sink.js";

/** What the acting member is, as the adapter works it out (name, admin verdicts, organisation). */
export type SlackActor = Actor & { isExternal: boolean };

/**
 * The parts of the running adapter that the surface modules (assistant split view, App Home,
 * message shortcuts) share with it, so each listener is a small module of its own and the adapter
 * keeps one way of tracking work, naming the actor and replying.
 */
export interface SlackSurfaceContext {
  client: WebClient;
  logger: Logger;
  assistant: AssistantHandler;
  /** Runs one event's work after the ack, tracked for `stop()`. */
  track(start: () => Promise<void>): Promise<void>;
  /** The workspace the request was delivered for (never a field the sender controls); none: refuse. */
  workspaceOf(body: Record<string, unknown>): string | undefined;
  actorOf(
    userId: string,
    workspaceId: string,
    hints: {
      userTeam?: string | undefined;
      enterpriseId?: string | undefined;
      fallbackName?: string | undefined;
    },
  ): Promise<SlackActor>;
  /** Runs core's work with a reply sink for `target`; a throw still ends in a sentence with a reference. */
  runWithSink(
    target: SlackReplyTarget,
    eventLogger: Logger,
    work: (sink: ReplySink) => Promise<void>,
  ): Promise<void>;
  /** A thread's messages before `beforeTs` (or up to it, `inclusive`); undefined when Slack refused. */
  readThread(
    channel: string,
    rootTs: string,
    beforeTs: string,
    eventLogger: Logger,
    inclusive?: boolean,
  ): Promise<PriorMessage[] | undefined>;
  /** Whether teammate takes part in a conversation (memory first, the thread itself when memory is down). */
  isEngaged(
    conversation: ConversationRef,
    channel: string,
    rootTs: string,
    eventLogger: Logger,
  ): Promise<boolean>;
  /** The adapter's own `message` handling (DMs, engaged threads), for messages the split view routes. */
  onMessage(body: Record<string, unknown>, event: Record<string, unknown>): Promise<void>;
  botUserId(): string | undefined;
  /** What the person typed: teammate's own mention removed, Slack's escaping decoded. */
  normalizeText(raw: string): string;
}
