import type { WebClient } from "@slack/web-api";
import type { AssistantHandler } from "../../core/ports/assistant-handler.js";
import type { Logger } from "../../core/ports/logger.js";
import type { ReplySink } from "../../core/ports/reply-sink.js";
import type { SlackActorResolver } from "./slack-actor.js";
import type { SlackBotIdentity } from "./slack-event-parser.js";
import type { SlackReplyTarget } from "./slack-reply-sink.js";
import type { SlackThreadHistory } from "./slack-thread-history.js";

/**
 * The parts of the running adapter that the surface modules (assistant split view, App Home,
 * message shortcuts) share with it, so each listener is a small module of its own and the adapter
 * keeps one way of tracking work, naming the actor, reading threads and replying.
 */
export interface SlackSurfaceContext {
  client: WebClient;
  logger: Logger;
  assistant: AssistantHandler;
  /** Runs one event's work after the ack, tracked for `stop()`. */
  track(start: () => Promise<void>): Promise<void>;
  actorOf: SlackActorResolver;
  /** Runs core's work with a reply sink for `target`; a throw still ends in a sentence with a reference. */
  runWithSink(
    target: SlackReplyTarget,
    eventLogger: Logger,
    work: (sink: ReplySink) => Promise<void>,
  ): Promise<void>;
  /** A lazy reader of a thread's messages before `currentTs` (or up to it, `inclusive`). */
  threadHistory(
    channel: string,
    rootTs: string,
    currentTs: string,
    eventLogger: Logger,
    inclusive?: boolean,
  ): SlackThreadHistory;
  /** The adapter's own event handling (DMs, thread messages), for messages the split view routes. */
  onMessage(body: unknown, event: unknown): Promise<void>;
  /** Who teammate is in this workspace; known once the adapter has started. */
  identity(): SlackBotIdentity;
  /** What the person typed: teammate's own mention removed, Slack's escaping decoded. */
  normalizeText(raw: string): string;
}
