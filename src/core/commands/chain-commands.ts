import {
  actionsChainPrompt,
  type ConversationMaterial,
  classifyChainPrompt,
  draftChainPrompt,
  summarizeChainPrompt,
  translateChainPrompt,
} from "../chains/named-chains.js";
import type { ChatMessage } from "../ports/llm-provider.js";
import type { Command, CommandContext, CommandParameter } from "./command.js";
import { NO_LLM_MESSAGE_SHORT } from "./no-llm.js";
import { suggestLanguages } from "./suggestions.js";

const DEFAULT_MESSAGES = 50;
const MAX_MESSAGES = 200;

const howMany: CommandParameter = {
  name: "messages",
  description: `How many recent messages (default ${DEFAULT_MESSAGES}, at most ${MAX_MESSAGES})`,
  type: "integer",
  minValue: 1,
  maxValue: MAX_MESSAGES,
};

/** The conversation a chain works on: the thread, or the channel's last N messages outside threads. */
async function material(context: CommandContext, limit: number): Promise<ConversationMaterial> {
  const conversation = await context.services.store.loadConversation(context.message);
  const prior = (context.message.priorMessages ?? []).map((message) => ({
    role: message.fromAssistant ? ("assistant" as const) : ("user" as const),
    speakerId: message.userId,
    speakerName: message.userName,
    text: message.text,
  }));
  const turns = [...prior, ...conversation.turns].slice(-limit);
  return { summary: conversation.summary, turns };
}

async function stream(context: CommandContext, messages: ChatMessage[]): Promise<void> {
  const llm = context.services.llm;
  if (!llm) {
    await context.reply.say(NO_LLM_MESSAGE_SHORT, "asker");
    return;
  }
  const settings = await context.services.store.getSettings(context.message);
  await context.services.inAnswerLine(context.reply, async (deadline) => {
    for await (const part of llm.stream({
      messages,
      model: settings.model,
      temperature: settings.temperature,
      signal: deadline.signal,
    })) {
      if (part.type === "text-delta") await context.reply.append(part.text);
    }
    await context.reply.finish({ sources: [], buttons: [] });
  });
}

function nothingToWorkOn(context: CommandContext): Promise<void> {
  return context.reply.say("There is nothing in this conversation yet for me to work on.", "asker");
}

/** `summarize`, `translate`, `actions`, `classify`, `draft`: named chains with their own prompts. */
export const chainCommands: readonly Command[] = [
  {
    name: "summarize",
    needsLlm: true,
    usage: "summarize [N]",
    parameters: [howMany],
    summary: "summarize this thread, or the channel's last N messages",
    adminOnly: false,
    arguments: "optional",
    visibility: "everyone",
    usesLlm: true,
    async run(context) {
      const count = context.args ? Number.parseInt(context.args, 10) : DEFAULT_MESSAGES;
      if (!Number.isFinite(count) || count < 1) {
        await context.reply.say("Usage: `summarize [N]` with N a number of messages.", "asker");
        return;
      }
      const found = await material(context, Math.min(count, MAX_MESSAGES));
      if (found.turns.length === 0 && !found.summary) return nothingToWorkOn(context);
      await stream(context, summarizeChainPrompt(found));
    },
  },
  {
    name: "translate",
    needsLlm: true,
    usage: "translate <language> [: text]",
    parameters: [
      {
        name: "language",
        description: "Into which language",
        required: true,
        maxLength: 100,
        suggestions: "language",
        suggest: suggestLanguages,
      },
      {
        name: "text",
        description: "What to translate (default: the last message here)",
        separator: ": ",
        maxLength: 4000,
      },
    ],
    summary: "translate a text, or the last message here, into a language",
    adminOnly: false,
    arguments: "required",
    visibility: "everyone",
    usesLlm: true,
    async run(context) {
      const match = /^([^:]+?)(?::\s*([\s\S]*))?$/.exec(context.args);
      const language = match?.[1]?.replace(/^(to|into)\s+/i, "").trim() ?? "";
      let text = match?.[2]?.trim() ?? "";
      if (!text) {
        const found = await material(context, 1);
        text = found.turns.at(-1)?.text ?? "";
      }
      if (!language) {
        await context.reply.say("Usage: `translate <language> [: text]`.", "asker");
        return;
      }
      if (!text) return nothingToWorkOn(context);
      await stream(context, translateChainPrompt(language, text));
    },
  },
  {
    name: "actions",
    needsLlm: true,
    usage: "actions [N]",
    parameters: [howMany],
    summary: "the action items in this thread (or the last N messages), with owners",
    adminOnly: false,
    arguments: "optional",
    visibility: "everyone",
    usesLlm: true,
    async run(context) {
      const count = context.args ? Number.parseInt(context.args, 10) : DEFAULT_MESSAGES;
      const found = await material(
        context,
        Math.min(Number.isFinite(count) && count > 0 ? count : DEFAULT_MESSAGES, MAX_MESSAGES),
      );
      if (found.turns.length === 0 && !found.summary) return nothingToWorkOn(context);
      await stream(context, actionsChainPrompt(found));
    },
  },
  {
    name: "classify",
    needsLlm: true,
    usage: "classify <label, label, …>: <text>",
    parameters: [
      {
        name: "labels",
        description: "Two or more labels, separated by commas",
        required: true,
        maxLength: 500,
      },
      {
        name: "text",
        description: "What to classify (default: the last message here)",
        separator: ": ",
        maxLength: 4000,
      },
    ],
    summary: "pick one of your labels for a text",
    adminOnly: false,
    arguments: "required",
    visibility: "everyone",
    usesLlm: true,
    async run(context) {
      const separator = context.args.indexOf(":");
      const labels = (separator >= 0 ? context.args.slice(0, separator) : context.args)
        .split(",")
        .map((label) => label.trim())
        .filter(Boolean);
      let text = separator >= 0 ? context.args.slice(separator + 1).trim() : "";
      if (!text) text = (await material(context, 1)).turns.at(-1)?.text ?? "";
      if (labels.length < 2) {
        await context.reply.say(
          "Give at least two labels: `classify bug, feature, question: <text>`.",
          "asker",
        );
        return;
      }
      if (!text) return nothingToWorkOn(context);
      await stream(context, classifyChainPrompt(labels, text));
    },
  },
  {
    name: "draft",
    needsLlm: true,
    usage: "draft <kind> [: brief]",
    parameters: [
      {
        name: "kind",
        description: "What to draft: an announcement, release notes, a job listing…",
        required: true,
        maxLength: 100,
      },
      {
        name: "brief",
        description: "What it should say (teammate also reads this conversation)",
        separator: ": ",
        long: true,
        maxLength: 4000,
      },
    ],
    summary: "draft an announcement, a listing, release notes… from a brief and this conversation",
    adminOnly: false,
    arguments: "required",
    visibility: "everyone",
    usesLlm: true,
    async run(context) {
      const separator = context.args.indexOf(":");
      const kind = (separator >= 0 ? context.args.slice(0, separator) : context.args).trim();
      const brief = separator >= 0 ? context.args.slice(separator + 1).trim() : "";
      await stream(context, draftChainPrompt(kind, brief, await material(context, DEFAULT_MESSAGES)));
    },
  },
];
