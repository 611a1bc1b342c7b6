import {
  createSlackAdapter,
  type SlackAdapter,
  type SlackAdapterOptions,
} from "../../../src/adapters/slack/slack-platform-adapter.js";
import { answerButtons } from "../../../src/core/actions/answer-actions.js";
import type {
  AssistantHandler,
  InboundAction,
  InboundMessage,
  PriorMessage,
} from "../../../src/core/ports/assistant-handler.js";
import { silentLogger } from "../../../src/core/ports/logger.js";
import type { ReplySink } from "../../../src/core/ports/reply-sink.js";
import type { ConversationRef } from "../../../src/core/types.js";
import { formBody, postSignedToSlackReceiver, type SignedPostResult } from "../../support/slack-signing.js";
import { type SlackStandIn, type StandInUser, startSlackStandIn } from "../../support/slack-stand-in.js";

export const BOT_TOKEN = "xoxb-test-0000-token";
const SIGNING_SECRET = "test-signing-secret-8f742231b10e";

export type AnswerScript = (message: InboundMessage, sink: ReplySink) => Promise<void>;
export type ActionScript = (action: InboundAction, sink: ReplySink) => Promise<void>;

const conversationKey = (conversation: ConversationRef) =>
  `${conversation.platform}/${conversation.workspaceId}/${conversation.channelId}/${conversation.threadId ?? ""}`;

/**
 * An `AssistantHandler` that records what it receives and writes scripted replies, standing in for
 * core so the adapter is tested on its own. Like core, it answers each `eventId` once and counts a
 * conversation it answered in as engaged.
 */
/** A message as the scripted core received it, with the thread it read on first contact. */
export type ReceivedMessage = InboundMessage & { priorMessages?: PriorMessage[] | undefined };

export class ScriptedAssistant implements AssistantHandler {
  readonly messages: ReceivedMessage[] = [];
  readonly actions: InboundAction[] = [];
  readonly engaged = new Set<string>();
  readonly answeredEventIds = new Set<string>();
  script: AnswerScript = async (message, sink) => {
    await sink.start({ visibility: "everyone" });
    await sink.append(`Answer to: ${message.text}`);
    await sink.finish({ sources: [], buttons: answerButtons("answer-1", true), answerId: "answer-1" });
  };
  actionScript: ActionScript = async (action, sink) => {
    await sink.start({ visibility: "asker" });
    await sink.append(`Got ${action.action} for ${action.value}`);
    await sink.finish({ sources: [], buttons: [] });
  };

  /** Messages core would not answer (a thread message without a mention where it takes no part). */
  readonly declined: InboundMessage[] = [];

  /**
   * Decides like core on the inbound contract: an unmentioned thread message is answered only where
   * teammate takes part; on first contact with a thread that already has messages, its history is
   * read and recorded as `priorMessages`, as core receives it.
   */
  async handle(message: InboundMessage, sink: ReplySink): Promise<void> {
    const engaged = this.engaged.has(conversationKey(message));
    if (message.addressedBy === "none" && !engaged) {
      this.declined.push(message);
      return;
    }
    if (!engaged && message.history && message.addressedBy !== "direct") {
      const priorMessages = await message.history.earlier(50);
      if (priorMessages.length > 0) {
        this.messages.push({ ...message, priorMessages });
        return this.answer(message, sink);
      }
    }
    this.messages.push(message);
    return this.answer(message, sink);
  }

  private async answer(message: InboundMessage, sink: ReplySink): Promise<void> {
    if (this.answeredEventIds.has(message.eventId)) return;
    this.answeredEventIds.add(message.eventId);
    this.engaged.add(conversationKey(message));
    await this.script(message, sink);
  }

  async handleAction(action: InboundAction, sink: ReplySink): Promise<void> {
    this.actions.push(action);
    await this.actionScript(action, sink);
  }

  engage(conversation: ConversationRef): void {
    this.engaged.add(conversationKey(conversation));
  }
}

export interface Harness {
  standIn: SlackStandIn;
  assistant: ScriptedAssistant;
  adapter: SlackAdapter;
  eventsUrl: string;
  postEvent(
    envelope: unknown,
    extra?: { retryNum?: number; timestamp?: number; signature?: string },
  ): Promise<SignedPostResult>;
  postForm(fields: Record<string, string>): Promise<SignedPostResult>;
  close(): Promise<void>;
}

export async function startHarness(
  options: { users?: StandInUser[]; adapter?: Partial<SlackAdapterOptions> } = {},
): Promise<Harness> {
  const standIn = await startSlackStandIn({
    botToken: BOT_TOKEN,
    users: options.users ?? [
      { id: "W222", name: "ada", displayName: "Ada" },
      { id: "WADMIN", name: "grace", displayName: "Grace", isAdmin: true },
    ],
  });
  const assistant = new ScriptedAssistant();
  const adapter = createSlackAdapter({
    botToken: BOT_TOKEN,
    signingSecret: SIGNING_SECRET,
    apiUrl: standIn.apiUrl,
    port: 0,
    adminUserIds: ["slack:WLISTED"],
    assistant,
    logger: silentLogger,
    clientRetries: 0,
    updateIntervalMilliseconds: 300,
    ...options.adapter,
  });
  await adapter.start();
  const eventsUrl = `http://127.0.0.1:${adapter.port}/slack/events`;
  return {
    standIn,
    assistant,
    adapter,
    eventsUrl,
    postEvent: (envelope, extra = {}) =>
      postSignedToSlackReceiver({
        url: eventsUrl,
        signingSecret: SIGNING_SECRET,
        body: typeof envelope === "string" ? envelope : JSON.stringify(envelope),
        ...extra,
      }),
    postForm: (fields) =>
      postSignedToSlackReceiver({
        url: eventsUrl,
        signingSecret: SIGNING_SECRET,
        body: formBody(fields),
        contentType: "application/x-www-form-urlencoded",
      }),
    close: async () => {
      await adapter.stop();
      await standIn.close();
    },
  };
}

let eventCounter = 0;

/** An `event_callback` envelope around one event, with a fresh `event_id` unless given. */
export function envelope(event: Record<string, unknown>, eventId?: string): Record<string, unknown> {
  eventCounter += 1;
  return {
    token: "verification_token",
    team_id: "T111",
    api_app_id: "A111",
    event: { team: "T111", event_ts: event.ts, ...event },
    type: "event_callback",
    event_id: eventId ?? `Ev${Date.now()}${eventCounter}`,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ team_id: "T111", user_id: "UBOT", is_bot: true, is_enterprise_install: false }],
  };
}

/** Polls until `check` returns true, or fails after `timeoutMilliseconds`. */
export async function waitFor(
  check: () => boolean,
  timeoutMilliseconds = 5_000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMilliseconds;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));
