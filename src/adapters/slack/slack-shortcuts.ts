import type { App, MessageShortcut, SlackViewAction, ViewOutput } from "@slack/bolt";
import type { InboundMessage, PriorMessage } from "../../core/types.js";
import type { SlackReplyTarget } from "./slack-reply-sink.js";
import type { SlackSurfaceContext } from "./slack-surface-context.js";
import { slackErrorCode } from "./summarize-slack-error.js";

/** The message shortcuts' callback ids, as the app manifests declare them. */
export const SHORTCUTS = {
  ask: "teammate_ask_about_message",
  summarize: "teammate_summarize_thread",
  actions: "teammate_extract_action_items",
} as const;

/** The modal "Ask teammate about this" opens, and its one input. */
export const ASK_VIEW = { callbackId: "teammate_ask_view", block: "question", action: "question" } as const;

const QUESTION_LIMIT = 3_000;
/** A thread's timestamp after any message's: reads a whole thread with "earlier than". */
const END_OF_THREAD = "9999999999.999999";

/** Where the shortcut was used, carried through the modal (Slack returns `private_metadata` unchanged). */
interface AskedAbout {
  channel: string;
  rootTs: string;
  messageTs: string;
  workspaceId: string;
}

function parseAskedAbout(raw: string): AskedAbout | undefined {
  try {
    const value = JSON.parse(raw) as Record<string, unknown>;
    const { channel, rootTs, messageTs, workspaceId } = value;
    if (
      [channel, rootTs, messageTs, workspaceId].every((field) => typeof field === "string" && field !== "")
    ) {
      return value as unknown as AskedAbout;
    }
  } catch {}
  return undefined;
}

/**
 * The message shortcuts. "Summarize thread" and "Extract action items" run core's `summarize` and
 * `actions` on the message's thread and answer in it; "Ask teammate about this" opens a modal for the
 * question and answers it in the thread once submitted. The person is the payload's `user` in the
 * payload's `team` (Slack signs both), checked like any other asker; the message's text is what
 * someone else wrote, so it reaches core only as a thread message (data for the model), never as a
 * command.
 */
export function registerShortcuts(app: App, context: SlackSurfaceContext): void {
  const { logger } = context;

  const threadTarget = (
    channel: string,
    rootTs: string,
    userId: string,
    workspaceId: string,
    responseUrl: string | undefined,
  ): SlackReplyTarget => ({
    channel,
    threadTs: rootTs,
    userId,
    teamId: workspaceId,
    isDirectMessage: channel.startsWith("D"),
    messageTs: undefined,
    isAssistantThread: false,
    responseUrl,
  });

  /** The thread teammate has not seen (none when it takes part: its memory has it), or undefined when Slack refused. */
  const unseenThread = async (
    message: Pick<InboundMessage, "platform" | "workspaceId" | "channelId" | "threadId">,
    rootTs: string,
    upToTs: string,
    eventLogger: typeof logger,
  ): Promise<PriorMessage[] | undefined> => {
    if (await context.isEngaged(message, message.channelId, rootTs, eventLogger)) return [];
    return context.readThread(message.channelId, rootTs, upToTs, eventLogger, true);
  };

  const cannotRead =
    "I can't read that conversation: invite me to the channel (`/invite @teammate`) and try again.";

  const runOnThread = async (shortcut: MessageShortcut, command: "summarize" | "actions"): Promise<void> => {
    const channel = shortcut.channel.id;
    const workspaceId = shortcut.team?.id;
    if (!workspaceId) {
      logger.warn(
        { shortcut: shortcut.callback_id, channel },
        "slack shortcut without a workspace id refused",
      );
      return;
    }
    const rootTs =
      typeof shortcut.message.thread_ts === "string" ? shortcut.message.thread_ts : shortcut.message.ts;
    const eventLogger = logger.child({ shortcut: shortcut.callback_id, channel });
    const actor = await context.actorOf(shortcut.user.id, workspaceId, {
      userTeam: shortcut.user.team_id,
      enterpriseId: shortcut.team?.enterprise_id ?? shortcut.enterprise?.id,
      fallbackName: shortcut.user.name,
    });
    const conversation = { platform: "slack" as const, workspaceId, channelId: channel, threadId: rootTs };
    const target = threadTarget(channel, rootTs, shortcut.user.id, workspaceId, shortcut.response_url);
    await context.runWithSink(target, eventLogger, async (sink) => {
      const prior = await unseenThread(conversation, rootTs, END_OF_THREAD, eventLogger);
      if (prior === undefined) {
        await sink.start({ visibility: "asker" });
        await sink.fail(cannotRead);
        return;
      }
      const inbound: InboundMessage = {
        ...conversation,
        ...actor,
        text: command,
        attachments: [],
        eventId: `shortcut:${shortcut.trigger_id}`,
        isCommand: true,
        ...(prior.length > 0 ? { priorMessages: prior } : {}),
      };
      await context.assistant.handle(inbound, sink);
    });
  };

  const openAskModal = async (shortcut: MessageShortcut): Promise<void> => {
    const workspaceId = shortcut.team?.id;
    if (!workspaceId) {
      logger.warn({ shortcut: shortcut.callback_id }, "slack shortcut without a workspace id refused");
      return;
    }
    const askedAbout: AskedAbout = {
      channel: shortcut.channel.id,
      rootTs:
        typeof shortcut.message.thread_ts === "string" ? shortcut.message.thread_ts : shortcut.message.ts,
      messageTs: shortcut.message.ts,
      workspaceId,
    };
    try {
      await context.client.views.open({
        trigger_id: shortcut.trigger_id,
        view: {
          type: "modal",
          callback_id: ASK_VIEW.callbackId,
          private_metadata: JSON.stringify(askedAbout),
          title: { type: "plain_text", text: "Ask teammate" },
          submit: { type: "plain_text", text: "Ask" },
          close: { type: "plain_text", text: "Cancel" },
          blocks: [
            {
              type: "input",
              block_id: ASK_VIEW.block,
              label: { type: "plain_text", text: "Your question about this message" },
              element: {
                type: "plain_text_input",
                action_id: ASK_VIEW.action,
                multiline: true,
                max_length: QUESTION_LIMIT,
              },
            },
          ],
        },
      });
    } catch (error) {
      // The trigger lives three seconds; without the modal, the person hears why in the thread's place.
      const code = slackErrorCode(error);
      logger.warn({ code }, "slack ask modal not opened");
      const target = threadTarget(
        askedAbout.channel,
        askedAbout.rootTs,
        shortcut.user.id,
        workspaceId,
        shortcut.response_url,
      );
      await context.runWithSink(target, logger, async (sink) => {
        await sink.start({ visibility: "asker" });
        await sink.fail("I couldn't open the question form. Please try the shortcut again.");
      });
    }
  };

  const answerAsk = async (body: SlackViewAction, view: ViewOutput): Promise<void> => {
    const askedAbout = parseAskedAbout(view.private_metadata);
    const question = view.state.values[ASK_VIEW.block]?.[ASK_VIEW.action]?.value?.trim() ?? "";
    // The modal was opened for one workspace; a submission naming another is not answered.
    if (!askedAbout || question === "" || body.team?.id !== askedAbout.workspaceId) {
      logger.warn({ view: view.id }, "slack ask submission without its message refused");
      return;
    }
    const { channel, rootTs, messageTs, workspaceId } = askedAbout;
    const eventLogger = logger.child({ surface: "ask-modal", channel });
    const actor = await context.actorOf(body.user.id, workspaceId, {
      userTeam: body.user.team_id,
      enterpriseId: body.enterprise?.id,
      fallbackName: body.user.name,
    });
    const conversation = { platform: "slack" as const, workspaceId, channelId: channel, threadId: rootTs };
    const target = threadTarget(channel, rootTs, body.user.id, workspaceId, undefined);
    await context.runWithSink(target, eventLogger, async (sink) => {
      // The thread up to the message asked about; when teammate takes part, its memory has the rest.
      const read = await context.readThread(channel, rootTs, messageTs, eventLogger, true);
      const engaged =
        read !== undefined && (await context.isEngaged(conversation, channel, rootTs, eventLogger));
      const thread = engaged ? read?.slice(-1) : read;
      if (thread === undefined) {
        await sink.start({ visibility: "asker" });
        await sink.fail(cannotRead);
        return;
      }
      const inbound: InboundMessage = {
        ...conversation,
        ...actor,
        text: question,
        attachments: [],
        eventId: `view:${view.id}:${view.hash}`,
        ...(thread.length > 0 ? { priorMessages: thread } : {}),
      };
      await context.assistant.handle(inbound, sink);
    });
  };

  app.shortcut<MessageShortcut>(
    { type: "message_action", callback_id: SHORTCUTS.ask },
    async ({ ack, shortcut }) => {
      await ack();
      await context.track(() => openAskModal(shortcut));
    },
  );
  app.shortcut<MessageShortcut>(
    { type: "message_action", callback_id: SHORTCUTS.summarize },
    async ({ ack, shortcut }) => {
      await ack();
      await context.track(() => runOnThread(shortcut, "summarize"));
    },
  );
  app.shortcut<MessageShortcut>(
    { type: "message_action", callback_id: SHORTCUTS.actions },
    async ({ ack, shortcut }) => {
      await ack();
      await context.track(() => runOnThread(shortcut, "actions"));
    },
  );
  app.view<SlackViewAction>(ASK_VIEW.callbackId, async ({ ack, body, view }) => {
    await ack();
    await context.track(() => answerAsk(body, view));
  });
}
