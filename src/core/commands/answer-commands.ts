import { formatTrace } from "../agent/agent-trace.js";
import type { AnswerTrace } from "../chains/answer-chain.js";
import { channelOf } from "../channel-of.js";
import type { InboundMessage } from "../ports/assistant-handler.js";
import type { ChannelSettings } from "../ports/memory-store.js";
import type { ReplyVisibility } from "../ports/reply-sink.js";
import { hasAdminRights } from "../privileges.js";
import { defaultReplyMode } from "../reply-mode.js";
import { type Command, type CommandServices, choicesOf } from "./command.js";
import { suggestModels } from "./suggestions.js";

/** Reads a stored trace back; older or foreign shapes come back as undefined rather than crashing. */
function storedTrace(trace: Record<string, unknown> | undefined): AnswerTrace | undefined {
  if (!trace || !Array.isArray(trace.passages) || !Array.isArray(trace.steps)) return undefined;
  return trace as unknown as AnswerTrace;
}

/** The last answer in the asker's conversation, and its trace when it has a readable one. */
async function lastAnswerOf(message: InboundMessage, services: CommandServices) {
  const last = await services.store.lastAnswer(message);
  return { last, trace: storedTrace(last?.trace) };
}

/** `sources` and `why`: about the last answer, for anyone, privately. */
const ABOUT_LAST_ANSWER = { adminOnly: false, arguments: "none", visibility: "asker" } as const;

const sourcesCommand: Command = {
  name: "sources",
  ...ABOUT_LAST_ANSWER,
  usage: "sources",
  summary: "the passages behind my last answer here",
  async run({ message, reply, services }) {
    const { last, trace } = await lastAnswerOf(message, services);
    // A member's answer in a shared channel may quote workspace-wide documents: a guest from
    // another organisation sees the passages of their own answers only.
    if (last && message.isExternal === true && last.askerId !== message.userId) {
      await reply.say("Only the person who asked can see the passages behind that answer.", "asker");
      return;
    }
    if (!last || !trace || trace.passages.length === 0) {
      await reply.say(
        last ? "My last answer here used no documents." : "I haven't answered anything here yet.",
        "asker",
      );
      return;
    }
    await reply.say(
      `Passages behind my last answer ("${last.question.slice(0, 80)}"):\n\n${trace.passages
        .map((passage, index) => {
          const excerpt = trace.passageExcerpts?.[index]?.replace(/\n+/g, " ") ?? "";
          return `[${passage.index}] **${passage.title}** — ${passage.location}${excerpt ? `\n> ${excerpt}` : ""}`;
        })
        .join("\n\n")}`,
      "asker",
    );
  },
};

const whyCommand: Command = {
  name: "why",
  ...ABOUT_LAST_ANSWER,
  usage: "why",
  summary: "how I produced my last answer here: sources, tools, tokens, time",
  async run({ message, reply, services }) {
    const { last, trace } = await lastAnswerOf(message, services);
    if (!last || !trace) {
      await reply.say("I haven't answered anything here yet.", "asker");
      return;
    }
    if (last.askerId !== message.userId && !(await hasAdminRights(message))) {
      await reply.say("Only the person who asked (or an admin) can see how that answer was made.", "asker");
      return;
    }
    const condensed =
      trace.standaloneQuestion && trace.standaloneQuestion !== last.question
        ? `\nSearched for: "${trace.standaloneQuestion}"`
        : "";
    await reply.say(
      `Why that answer ("${last.question.slice(0, 80)}"):${condensed}\n${formatTrace(trace)}`,
      "asker",
    );
  },
};

const feedbackCommand: Command = {
  name: "feedback",
  usage: "feedback",
  summary: "👍/👎 counts for this channel and the latest 👎 answers",
  adminOnly: true,
  arguments: "none",
  visibility: "asker",
  async run({ message, reply, services }) {
    const feedback = await services.store.listFeedback(channelOf(message));
    const up = feedback.filter((entry) => entry.vote === "up").length;
    const down = feedback.filter((entry) => entry.vote === "down");
    const lines = [`Feedback in this channel: 👍 ${up} · 👎 ${down.length}`];
    if (down.length > 0) {
      lines.push("", "Latest 👎:");
      for (const entry of down.slice(0, 5)) {
        lines.push(
          `• "${entry.answer.question.slice(0, 100)}" → "${entry.answer.answer.slice(0, 140).replace(/\n+/g, " ")}"`,
        );
      }
    }
    await reply.say(lines.join("\n"), "asker");
  },
};

/** One `config <key> <value>` accepted: what it changes, and the sentence saying so. */
interface SettingChange {
  settings: Partial<ChannelSettings>;
  sentence: string;
  visibility: ReplyVisibility;
}

/**
 * Each setting `config` changes, in the order `config` lists them: the change for a value, a sentence
 * for a value it refuses, or undefined for the usage line. A Map, so a key such as `constructor` is
 * no setting.
 */
const CONFIG_SETTINGS = new Map<
  string,
  (value: string, message: InboundMessage) => SettingChange | string | undefined
>([
  [
    "model",
    (value) =>
      value
        ? {
            settings: { model: value },
            sentence: `This channel now uses the model \`${value}\`.`,
            visibility: "everyone",
          }
        : undefined,
  ],
  [
    "temperature",
    (value) => {
      const temperature = Number(value);
      if (!value || !Number.isFinite(temperature) || temperature < 0 || temperature > 2)
        return "Temperature must be a number from 0 to 2.";
      return {
        settings: { temperature },
        sentence: `Temperature set to ${temperature} for this channel.`,
        visibility: "asker",
      };
    },
  ],
  [
    "general-knowledge",
    (value) =>
      value === "on" || value === "off"
        ? {
            settings: { allowGeneralKnowledge: value === "on" },
            sentence:
              value === "on"
                ? "When the docs have nothing relevant, I'll answer from general knowledge and say so."
                : "I'll answer only from the indexed docs here.",
            visibility: "asker",
          }
        : undefined,
  ],
  [
    "reply-mode",
    (value) =>
      value === "thread" || value === "channel"
        ? {
            settings: { replyMode: value },
            sentence:
              value === "thread"
                ? "I'll answer questions typed in this channel in a thread under them."
                : "I'll answer questions typed in this channel right in the channel, not in a thread.",
            visibility: "everyone",
          }
        : undefined,
  ],
  [
    "listen",
    (value) =>
      value === "mention" || value === "thread"
        ? {
            settings: { listen: value },
            sentence:
              value === "mention"
                ? "In threads I'm part of here, I'll answer only messages that mention me."
                : "In threads I'm part of here, I'll answer every message, mention or not.",
            visibility: "everyone",
          }
        : undefined,
  ],
]);

const CONFIG_USAGE =
  "config [model <name> | temperature <0-2> | general-knowledge on|off | reply-mode thread|channel | listen mention|thread]";

const configCommand: Command = {
  name: "config",
  usage: CONFIG_USAGE,
  summary:
    "this channel's model, temperature, whether I may answer beyond the docs, where I answer and whether I need a mention in threads",
  subcommandName: "set",
  parameters: [
    {
      name: "setting",
      description: "Which setting (leave out to see them all)",
      choices: choicesOf([...CONFIG_SETTINGS.keys()]),
    },
    {
      name: "value",
      description: "A model name, a temperature from 0 to 2, on/off, thread/channel or mention/thread",
      maxLength: 200,
      suggestions: "model",
      // Only a model name has values worth offering.
      suggest: async (context) => (context.filled.setting === "model" ? suggestModels(context) : []),
    },
  ],
  adminOnly: true,
  arguments: "optional",
  visibility: "asker",
  async run({ message, args, reply, services }) {
    const channel = channelOf(message);
    const [key, ...rest] = args.split(/\s+/).filter(Boolean);
    if (!key) {
      const settings = await services.store.getSettings(channel);
      await reply.say(
        [
          `model: ${settings.model ?? `${services.llm?.defaultModel ?? "none"} (default)`}`,
          `temperature: ${settings.temperature ?? "model default"}`,
          `general-knowledge: ${settings.allowGeneralKnowledge === undefined ? "server default" : settings.allowGeneralKnowledge ? "on" : "off"}`,
          `reply-mode: ${settings.replyMode ?? `${defaultReplyMode(message.platform)} (default)`}`,
          `listen: ${settings.listen ?? "thread (default)"}`,
        ].join("\n"),
        "asker",
      );
      return;
    }
    const change = CONFIG_SETTINGS.get(key)?.(rest.join(" "), message);
    if (change === undefined) {
      await reply.say(`Usage: \`${CONFIG_USAGE}\``, "asker");
      return;
    }
    if (typeof change === "string") {
      await reply.say(change, "asker");
      return;
    }
    await services.store.updateSettings(channel, change.settings);
    await reply.say(change.sentence, change.visibility);
  },
};

export const answerCommands: readonly Command[] = [
  sourcesCommand,
  whyCommand,
  feedbackCommand,
  configCommand,
];
