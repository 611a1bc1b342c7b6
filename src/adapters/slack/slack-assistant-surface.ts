import { Assistant, type types as slackTypes } from "@slack/bolt";
import type { Logger } from "../../core/ports/logger.js";
import { slackWorkspaceOf } from "./slack-event-parser.js";
import type { SlackSurfaceContext } from "./slack-surface-context.js";
import { slackErrorCode } from "./summarize-slack-error.js";

/** A suggested prompt: `title` is shown, `message` is sent as the person's message when clicked. */
export interface SuggestedPrompt {
  title: string;
  message: string;
}

/** Where the person was when they opened the split view (the event's `assistant_thread.context`). */
export interface AssistantThreadContext {
  channel_id?: string | undefined;
  team_id?: string | undefined;
  enterprise_id?: string | null | undefined;
}

/** Slack shows a thread title on one line; a long first question is cut at a word. */
const TITLE_LIMIT = 80;

/**
 * The prompts offered in a new assistant thread. Every one runs something teammate does from the
 * split view (core commands, or a question); viewing a channel adds a draft for that channel, which
 * mentions it as Slack renders a channel (`<#C…>`), so no channel name is fetched or trusted.
 */
export function suggestedPromptsFor(context: AssistantThreadContext): {
  title: string;
  prompts: SuggestedPrompt[];
} {
  const general: SuggestedPrompt[] = [
    { title: "What can you do?", message: "help" },
    { title: "Which documents do you answer from?", message: "docs" },
    { title: "How much have I used today?", message: "usage me" },
  ];
  const channel = context.channel_id;
  // C… and G… are channels; a D… context is a DM, where the general prompts fit.
  if (channel && /^[CG][A-Z0-9]+$/.test(channel)) {
    return {
      title: `While you're in <#${channel}>`,
      prompts: [
        { title: "Draft a post for this channel", message: `draft a short update to post in <#${channel}>` },
        ...general,
      ],
    };
  }
  return { title: "Try asking", prompts: general };
}

/** The thread's title from its first question: one line, at most {@link TITLE_LIMIT} characters. */
export function threadTitleFrom(question: string): string {
  const line = question.replace(/\s+/g, " ").trim();
  if (line.length <= TITLE_LIMIT) return line;
  const cut = line.slice(0, TITLE_LIMIT - 1);
  const atWord = cut.lastIndexOf(" ");
  return `${(atWord > TITLE_LIMIT / 2 ? cut.slice(0, atWord) : cut).trimEnd()}…`;
}

/**
 * Slack's Agents & AI Apps split view, with Bolt's `Assistant`: a new thread gets suggested prompts
 * for where the person is, a changed context gets them again, and each message in the thread takes
 * the adapter's ordinary DM path (core answers with streaming, citations and feedback; the reply sink
 * shows `assistant.threads.setStatus` while it works and clears it at the end). The first question
 * titles the thread.
 */
export function createAssistantSurface(context: SlackSurfaceContext): Assistant {
  const { client, logger } = context;

  const offerPrompts = async (
    body: Record<string, unknown>,
    event: slackTypes.AssistantThreadStartedEvent | slackTypes.AssistantThreadContextChangedEvent,
  ): Promise<void> => {
    const thread = event.assistant_thread;
    if (!slackWorkspaceOf(body)) {
      logger.warn({ channel: thread.channel_id }, "slack assistant thread without a workspace id ignored");
      return;
    }
    const { title, prompts } = suggestedPromptsFor(thread.context);
    try {
      await client.assistant.threads.setSuggestedPrompts({
        channel_id: thread.channel_id,
        thread_ts: thread.thread_ts,
        title,
        prompts: prompts as [SuggestedPrompt, ...SuggestedPrompt[]],
      });
    } catch (error) {
      // The split view still works without prompts: the person types a question.
      logger.warn({ code: slackErrorCode(error) }, "slack suggested prompts not set");
    }
  };

  const titleFirstQuestion = async (
    body: Record<string, unknown>,
    event: Record<string, unknown>,
    eventLogger: Logger,
  ): Promise<void> => {
    const channel = typeof event.channel === "string" ? event.channel : undefined;
    const threadTs = typeof event.thread_ts === "string" ? event.thread_ts : undefined;
    const question = context.normalizeText(typeof event.text === "string" ? event.text : "");
    if (!channel || !threadTs || question === "") return;
    const workspaceId = slackWorkspaceOf(body);
    if (!workspaceId) return;
    // Only the first question titles the thread: once teammate has answered in it, the title stays.
    const ts = typeof event.ts === "string" ? event.ts : threadTs;
    const history = context.threadHistory(channel, threadTs, ts, eventLogger);
    if (await history.includesTeammate()) return;
    try {
      await client.assistant.threads.setTitle({
        channel_id: channel,
        thread_ts: threadTs,
        title: threadTitleFrom(question),
      });
    } catch (error) {
      eventLogger.debug({ code: slackErrorCode(error) }, "slack thread title not set");
    }
  };

  return new Assistant({
    // The context is used only to choose prompts, when Slack sends it; nothing needs keeping, so
    // Bolt's default store (which rewrites the first reply's metadata with chat.update) is replaced.
    threadContextStore: { get: async () => ({}), save: async () => {} },
    threadStarted: async ({ body, event }) => {
      await context.track(() => offerPrompts(body as unknown as Record<string, unknown>, event));
    },
    threadContextChanged: async ({ body, event }) => {
      await context.track(() => offerPrompts(body as unknown as Record<string, unknown>, event));
    },
    userMessage: async ({ body, event }) => {
      const envelope = body as unknown as Record<string, unknown>;
      const message = event as unknown as Record<string, unknown>;
      await context.track(async () => {
        const eventLogger = logger.child({ eventId: envelope.event_id, surface: "assistant" });
        const isPerson =
          (message.subtype === undefined || message.subtype === "file_share") &&
          typeof message.user === "string" &&
          message.bot_id === undefined &&
          message.user !== context.identity().userId;
        if (isPerson) await titleFirstQuestion(envelope, message, eventLogger);
        await context.onMessage(envelope, message);
      });
    },
  });
}
