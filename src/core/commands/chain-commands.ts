import { earlierMessages, takesPart } from "../arrival.js";
import {
  actionsChainPrompt,
  type ConversationMaterial,
  classifyChainPrompt,
  draftChainPrompt,
  summarizeChainPrompt,
  translateChainPrompt,
} from "../chains/named-chains.js";
import { channelOf } from "../channel-of.js";
import { toAppError } from "../errors.js";
import type { InboundMessage } from "../ports/assistant-handler.js";
import type { ChannelMessage } from "../ports/channel-history.js";
import type { ChatMessage } from "../ports/llm-provider.js";
import { countTokens, MESSAGE_OVERHEAD_TOKENS, truncateToTokens } from "../tokens.js";
import type { Source } from "../types.js";
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

/** The material of a chain, and the channel messages it numbered for citing (when read from the platform). */
interface Material extends ConversationMaterial {
  messages?: ChannelMessage[] | undefined;
  /** Why the channel's history could not be read (memory stood in); said above the reply. */
  unreadable?: string | undefined;
  /** Every message is a source, cited or not (the one message `translate` worked on). */
  citeAll?: boolean | undefined;
}

/**
 * Whether the command was typed in the channel itself, not in a thread: no thread, or the thread it
 * opens (a Slack mention at the top level is answered in a thread under it).
 */
function typedInChannel(message: InboundMessage): boolean {
  return (
    message.threadId === undefined ||
    (message.messageId !== undefined && message.threadId === message.messageId)
  );
}

/** The newest messages that fit the budget, oldest first; each message is cut to a share first. */
function fitMessages(messages: ChannelMessage[], budget: number): ChannelMessage[] {
  const kept: ChannelMessage[] = [];
  let used = 0;
  const perMessage = Math.max(200, Math.floor(budget / 4));
  for (const message of [...messages].reverse()) {
    // Cut by characters first, so a huge message costs work bounded by the budget.
    const text = truncateToTokens(message.text.slice(0, perMessage * 8), perMessage);
    const cost = countTokens(text) + MESSAGE_OVERHEAD_TOKENS;
    if (used + cost > budget) break;
    kept.push({ ...message, text });
    used += cost;
  }
  return kept.reverse();
}

/**
 * The conversation a chain works on. Outside a thread, the channel's last N messages as the platform
 * has them (only the channel the command was typed in; teammate's own marked), within the token
 * budget; in a thread, or where the platform cannot be read, the thread as remembered.
 */
async function material(context: CommandContext, limit: number): Promise<Material> {
  const { message, services } = context;
  const history = services.channelHistory;
  let unreadable: string | undefined;
  // A command run on a message comes with its thread (Slack's and Discord's "Summarize thread"):
  // that thread is the material asked for, whether or not teammate takes part in it.
  const gathered = message.addressedBy === "command" && message.history !== undefined;
  if (!gathered && typedInChannel(message) && history?.serves(message)) {
    try {
      // One more than asked: the command's own message is among the newest and is left out.
      const read = await history.recent(channelOf(message), limit + 1);
      const others = read.filter((entry) => entry.id !== message.messageId).slice(-limit);
      const messages = fitMessages(others, Math.floor(services.promptTokenBudget * 0.7));
      return {
        summary: "",
        numbered: true,
        messages,
        turns: messages.map((entry) => ({
          role: entry.fromAssistant ? ("assistant" as const) : ("user" as const),
          speakerId: entry.userId,
          speakerName: entry.userName,
          text: entry.text,
        })),
      };
    } catch (error) {
      const appError = toAppError(error);
      if (appError.category !== "user") throw error;
      services.logger.info({ code: appError.code }, "channel history not readable; using memory");
      unreadable = appError.userMessage ?? "I couldn't read this channel's history.";
    }
  }
  const conversation = await services.store.loadConversation(message);
  // On first contact the platform's thread; once teammate takes part, memory has it.
  const earlier = takesPart(conversation) && !gathered ? [] : await earlierMessages(message, services.logger);
  const prior = earlier.map((entry) => ({
    role: entry.fromAssistant ? ("assistant" as const) : ("user" as const),
    speakerId: entry.userId,
    speakerName: entry.userName,
    text: entry.text,
  }));
  const turns = [...prior, ...conversation.turns].slice(-limit);
  return { summary: conversation.summary, turns, unreadable };
}

/** The channel messages a reply cites as [n], as sources with their permalinks. */
function citedMessages(text: string, found: Pick<Material, "messages" | "citeAll"> | undefined): Source[] {
  if (!found?.messages) return [];
  const cited = new Set([...text.matchAll(/\[(\d+)\]/g)].map((match) => Number(match[1])));
  return found.messages.flatMap((entry, position): Source[] => {
    const index = position + 1;
    if ((!found.citeAll && !cited.has(index)) || !entry.link) return [];
    const excerpt = entry.text.replace(/\s+/g, " ").trim();
    return [
      {
        index,
        title: `${entry.userName}: ${excerpt.length > 60 ? `${excerpt.slice(0, 59)}…` : excerpt}`,
        location: entry.link,
        documentId: `message:${entry.id}`,
      },
    ];
  });
}

async function stream(
  context: CommandContext,
  messages: ChatMessage[],
  found?: Pick<Material, "messages" | "unreadable" | "citeAll">,
): Promise<void> {
  const llm = context.services.llm;
  if (!llm) {
    await context.reply.say(NO_LLM_MESSAGE_SHORT, "asker");
    return;
  }
  const settings = await context.services.store.getSettings(context.message);
  await context.services.inAnswerLine(context.reply, async (deadline) => {
    if (found?.unreadable) {
      await context.reply.append(`_${found.unreadable} So this is from what I remember here._\n\n`);
    }
    let text = "";
    for await (const part of llm.stream({
      messages,
      model: settings.model,
      temperature: settings.temperature,
      signal: deadline.signal,
    })) {
      if (part.type === "text-delta") {
        text += part.text;
        await context.reply.append(part.text);
      }
    }
    await context.reply.finish({ sources: citedMessages(text, found), buttons: [] });
  });
}

function nothingToWorkOn(context: CommandContext, found?: Material): Promise<void> {
  // When the channel could not be read, why is the useful part.
  return context.reply.say(
    found?.unreadable ?? "There is nothing in this conversation yet for me to work on.",
    "asker",
  );
}

/** Runs a chain's `prompt` on the conversation's last `count` messages (at most `MAX_MESSAGES`), or says there is nothing to work on. */
async function chainOnRecent(
  context: CommandContext,
  count: number,
  prompt: (material: Material) => ChatMessage[],
): Promise<void> {
  const found = await material(context, Math.min(count, MAX_MESSAGES));
  if (found.turns.length === 0 && !found.summary) return nothingToWorkOn(context, found);
  await stream(context, prompt(found), found);
}

/** What every named chain is: open to everyone, answered in the open, and work for the language model. */
const NAMED_CHAIN = { needsLlm: true, usesLlm: true, adminOnly: false, visibility: "everyone" } as const;

/** `summarize`, `translate`, `actions`, `classify`, `draft`: named chains with their own prompts. */
export const chainCommands: readonly Command[] = [
  {
    name: "summarize",
    ...NAMED_CHAIN,
    usage: "summarize [N]",
    parameters: [howMany],
    summary: "summarize this thread, or the channel's last N messages",
    arguments: "optional",
    async run(context) {
      const count = context.args ? Number.parseInt(context.args, 10) : DEFAULT_MESSAGES;
      if (!Number.isFinite(count) || count < 1) {
        await context.reply.say("Usage: `summarize [N]` with N a number of messages.", "asker");
        return;
      }
      await chainOnRecent(context, count, summarizeChainPrompt);
    },
  },
  {
    name: "translate",
    ...NAMED_CHAIN,
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
    arguments: "required",
    async run(context) {
      const match = /^([^:]+?)(?::\s*([\s\S]*))?$/.exec(context.args);
      const language = match?.[1]?.replace(/^(to|into)\s+/i, "").trim() ?? "";
      let text = match?.[2]?.trim() ?? "";
      let found: Material | undefined;
      if (!text) {
        found = await material(context, 1);
        text = found.turns.at(-1)?.text ?? "";
      }
      if (!language) {
        await context.reply.say("Usage: `translate <language> [: text]`.", "asker");
        return;
      }
      if (!text) return nothingToWorkOn(context);
      // The message translated is the reply's source, so the reply links to it.
      await stream(
        context,
        translateChainPrompt(language, text),
        found?.messages ? { ...found, messages: found.messages.slice(-1), citeAll: true } : found,
      );
    },
  },
  {
    name: "actions",
    ...NAMED_CHAIN,
    usage: "actions [N]",
    parameters: [howMany],
    summary: "the action items in this thread (or the last N messages), with owners",
    arguments: "optional",
    async run(context) {
      const count = context.args ? Number.parseInt(context.args, 10) : DEFAULT_MESSAGES;
      await chainOnRecent(
        context,
        Number.isFinite(count) && count > 0 ? count : DEFAULT_MESSAGES,
        actionsChainPrompt,
      );
    },
  },
  {
    name: "classify",
    ...NAMED_CHAIN,
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
    arguments: "required",
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
    ...NAMED_CHAIN,
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
    arguments: "required",
    async run(context) {
      const separator = context.args.indexOf(":");
      const kind = (separator >= 0 ? context.args.slice(0, separator) : context.args).trim();
      const brief = separator >= 0 ? context.args.slice(separator + 1).trim() : "";
      await stream(context, draftChainPrompt(kind, brief, await material(context, DEFAULT_MESSAGES)));
    },
  },
];
