import type { InboundAction } from "../ports/assistant-handler.js";
import type { AnswerRecord } from "../ports/memory-store.js";
import type { ReplyButton } from "../ports/reply-sink.js";
import type { ReplyGuard } from "../reply-guard.js";
import type { Source } from "../types.js";
import type { Action, ActionServices } from "./action.js";

/**
 * The buttons under a stored answer, the one policy every platform renders: 👍 and 👎 always,
 * "Show sources" only when the answer cited something.
 */
export function answerButtons(answerId: string, hasSources: boolean): ReplyButton[] {
  const buttons: ReplyButton[] = [
    { action: "feedback-up", label: "👍", value: answerId },
    { action: "feedback-down", label: "👎", value: answerId },
  ];
  if (hasSources) buttons.push({ action: "show-sources", label: "Show sources", value: answerId });
  return buttons;
}

function sourceList(sources: Source[]): string {
  return sources.map((source) => `[${source.index}] ${source.title} — ${source.location}`).join("\n");
}

/**
 * The answer a button refers to; buttons count only where the answer was shown, so an id learned
 * elsewhere opens nothing (the person is told, and undefined comes back).
 */
async function shownAnswer(
  action: InboundAction,
  reply: ReplyGuard,
  services: ActionServices,
): Promise<AnswerRecord | undefined> {
  const record = await services.store.getAnswer(action.value);
  if (
    record &&
    record.conversation.platform === action.platform &&
    record.conversation.workspaceId === action.workspaceId &&
    record.conversation.channelId === action.channelId
  ) {
    return record;
  }
  await reply.say("I no longer have that answer, so I can't do that.", "asker");
  return undefined;
}

function feedback(vote: "up" | "down"): Action {
  return {
    name: `feedback-${vote}`,
    async run(action, reply, services) {
      const record = await shownAnswer(action, reply, services);
      if (!record) return;
      await services.store.recordVote({
        answerId: record.id,
        voterId: action.userId,
        vote,
        at: services.now(),
      });
      await reply.say(
        `Thanks, ${action.userName}: your ${vote === "up" ? "👍" : "👎"} is recorded.`,
        "asker",
      );
    },
  };
}

const showSources: Action = {
  name: "show-sources",
  async run(action, reply, services) {
    const record = await shownAnswer(action, reply, services);
    if (!record) return;
    // A member's answer in a shared channel may cite workspace-wide documents; a guest from
    // another organisation sees the sources of their own answers only.
    if (action.isExternal === true && record.askerId !== action.userId) {
      await reply.say("Only the person who asked can see the sources of that answer.", "asker");
      return;
    }
    await reply.say(
      record.sources.length > 0
        ? `Sources:\n${sourceList(record.sources)}`
        : "That answer used no documents.",
      "asker",
    );
  },
};

/** The buttons under an answer: feedback and its sources. */
export const answerActions: readonly Action[] = [feedback("up"), feedback("down"), showSources];
