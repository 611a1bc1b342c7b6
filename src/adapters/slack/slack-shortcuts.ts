import type { App, MessageShortcut, SlackViewAction, ViewOutput } from "@slack/bolt";
import type { InboundMessage } from "../../core/ports/assistant-handler.js";
import type { Logger } from "../../core/ports/logger.js";
import type { SlackActor } from "./slack-actor.js";
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
const ASK_VIEW = { callbackId: "teammate_ask_view", block: "question", action: "question" } as const;

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

const CANNOT_READ =
  "I can't read that conversation: invite me to the channel (`/invite @teammate`) and try again.";

/** The thread a message shortcut was used on, and the reply target there. */
function placeOf(shortcut: MessageShortcut, workspaceId: string): AskedAbout {
  return {
    channel: shortcut.channel.id,
    rootTs: typeof shortcut.message.thread_ts === "string" ? shortcut.message.thread_ts : shortcut.message.ts,
    messageTs: shortcut.message.ts,
    workspaceId,
  };
}

function threadTarget(place: AskedAbout, userId: string, responseUrl: string | undefined): SlackReplyTarget {
  return {
    channel: place.channel,
    threadTs: place.rootTs,
    userId,
    teamId: place.workspaceId,
    isDirectMessage: place.channel.startsWith("D"),
    messageTs: undefined,
    isAssistantThread: false,
    responseUrl,
  };
}

/**
 * Runs core on a question about a thread, once Slack has let teammate read the thread; otherwise the
 * person hears, privately, how to let it in. The thread goes to core as its history (data for the
 * model, read on first contact), never as the question.
 */
async function askAboutThread(
  context: SlackSurfaceContext,
  question: {
    place: AskedAbout;
    target: SlackReplyTarget;
    actor: SlackActor;
    text: string;
    eventId: string;
    isCommand: boolean;
    /** The thread up to this message is what the question is about (the end of the thread: all of it). */
    upToTs: string;
  },
  eventLogger: Logger,
): Promise<void> {
  const { place } = question;
  await context.runWithSink(question.target, eventLogger, async (sink) => {
    const history = context.threadHistory(place.channel, place.rootTs, question.upToTs, eventLogger, true);
    if ((await history.read(0)) === undefined) {
      await sink.start({ visibility: "asker" });
      await sink.fail(CANNOT_READ);
      return;
    }
    const inbound: InboundMessage = {
      platform: "slack",
      workspaceId: place.workspaceId,
      channelId: place.channel,
      threadId: place.rootTs,
      ...question.actor,
      text: question.text,
      attachments: [],
      eventId: question.eventId,
      ...(question.isCommand ? { isCommand: true } : {}),
      addressedBy: "command",
      history,
    };
    await context.assistant.handle(inbound, sink);
  });
}

/** "Summarize thread" and "Extract action items": core's `summarize` / `actions` on the whole thread. */
async function runOnThread(
  context: SlackSurfaceContext,
  shortcut: MessageShortcut,
  command: "summarize" | "actions",
): Promise<void> {
  const workspaceId = shortcut.team?.id;
  if (!workspaceId) {
    context.logger.warn(
      { shortcut: shortcut.callback_id, channel: shortcut.channel.id },
      "slack shortcut without a workspace id refused",
    );
    return;
  }
  const place = placeOf(shortcut, workspaceId);
  const eventLogger = context.logger.child({ shortcut: shortcut.callback_id, channel: place.channel });
  const actor = await context.actorOf(shortcut.user.id, workspaceId, {
    userTeam: shortcut.user.team_id,
    enterpriseId: shortcut.team?.enterprise_id ?? shortcut.enterprise?.id,
    fallbackName: shortcut.user.name,
  });
  const target = threadTarget(place, shortcut.user.id, shortcut.response_url);
  const eventId = `shortcut:${shortcut.trigger_id}`;
  const question = { place, target, actor, text: command, eventId, isCommand: true, upToTs: END_OF_THREAD };
  await askAboutThread(context, question, eventLogger);
}

function askModalView(askedAbout: AskedAbout) {
  return {
    type: "modal" as const,
    callback_id: ASK_VIEW.callbackId,
    private_metadata: JSON.stringify(askedAbout),
    title: { type: "plain_text" as const, text: "Ask teammate" },
    submit: { type: "plain_text" as const, text: "Ask" },
    close: { type: "plain_text" as const, text: "Cancel" },
    blocks: [
      {
        type: "input" as const,
        block_id: ASK_VIEW.block,
        label: { type: "plain_text" as const, text: "Your question about this message" },
        element: {
          type: "plain_text_input" as const,
          action_id: ASK_VIEW.action,
          multiline: true,
          max_length: QUESTION_LIMIT,
        },
      },
    ],
  };
}

/** "Ask teammate about this": a modal for the question, answered in the thread once submitted. */
async function openAskModal(context: SlackSurfaceContext, shortcut: MessageShortcut): Promise<void> {
  const workspaceId = shortcut.team?.id;
  if (!workspaceId) {
    context.logger.warn({ shortcut: shortcut.callback_id }, "slack shortcut without a workspace id refused");
    return;
  }
  const askedAbout = placeOf(shortcut, workspaceId);
  try {
    await context.client.views.open({ trigger_id: shortcut.trigger_id, view: askModalView(askedAbout) });
  } catch (error) {
    // The trigger lives three seconds; without the modal, the person hears why in the thread's place.
    context.logger.warn({ code: slackErrorCode(error) }, "slack ask modal not opened");
    const target = threadTarget(askedAbout, shortcut.user.id, shortcut.response_url);
    await context.runWithSink(target, context.logger, async (sink) => {
      await sink.start({ visibility: "asker" });
      await sink.fail("I couldn't open the question form. Please try the shortcut again.");
    });
  }
}

async function answerAsk(
  context: SlackSurfaceContext,
  body: SlackViewAction,
  view: ViewOutput,
): Promise<void> {
  const askedAbout = parseAskedAbout(view.private_metadata);
  const text = view.state.values[ASK_VIEW.block]?.[ASK_VIEW.action]?.value?.trim() ?? "";
  // The modal was opened for one workspace; a submission naming another is not answered.
  if (!askedAbout || text === "" || body.team?.id !== askedAbout.workspaceId) {
    context.logger.warn({ view: view.id }, "slack ask submission without its message refused");
    return;
  }
  const eventLogger = context.logger.child({ surface: "ask-modal", channel: askedAbout.channel });
  const actor = await context.actorOf(body.user.id, askedAbout.workspaceId, {
    userTeam: body.user.team_id,
    enterpriseId: body.enterprise?.id,
    fallbackName: body.user.name,
  });
  const target = threadTarget(askedAbout, body.user.id, undefined);
  const eventId = `view:${view.id}:${view.hash}`;
  // The thread up to the message asked about.
  const upToTs = askedAbout.messageTs;
  await askAboutThread(
    context,
    { place: askedAbout, target, actor, text, eventId, isCommand: false, upToTs },
    eventLogger,
  );
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
  const onShortcut = (
    constraints: { type: "message_action"; callback_id: string },
    run: (shortcut: MessageShortcut) => Promise<void>,
  ) =>
    app.shortcut<MessageShortcut>(constraints, async ({ ack, shortcut }) => {
      await ack();
      await context.track(() => run(shortcut));
    });
  onShortcut({ type: "message_action", callback_id: SHORTCUTS.ask }, (shortcut) =>
    openAskModal(context, shortcut),
  );
  onShortcut({ type: "message_action", callback_id: SHORTCUTS.summarize }, (shortcut) =>
    runOnThread(context, shortcut, "summarize"),
  );
  onShortcut({ type: "message_action", callback_id: SHORTCUTS.actions }, (shortcut) =>
    runOnThread(context, shortcut, "actions"),
  );
  app.view<SlackViewAction>(ASK_VIEW.callbackId, async ({ ack, body, view }) => {
    await ack();
    await context.track(() => answerAsk(context, body, view));
  });
}
