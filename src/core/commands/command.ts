import type { Deadline } from "../deadline.js";
import type { ConversationMemory } from "../memory/conversation-memory.js";
import type { InboundMessage, Suggestion } from "../ports/assistant-handler.js";
import type { ChannelHistory } from "../ports/channel-history.js";
import type { LlmProvider } from "../ports/llm-provider.js";
import type { Logger } from "../ports/logger.js";
import type { MemoryStore } from "../ports/memory-store.js";
import type { ReplyVisibility } from "../ports/reply-sink.js";
import type { ReplyGuard } from "../reply-guard.js";

/** What every command can reach. Later modules add their own services through their own commands. */
export interface CommandServices {
  store: MemoryStore;
  memory: ConversationMemory;
  llm: LlmProvider | undefined;
  logger: Logger;
  /** Runs the answer chain on a question (the `ask` command and conversation). */
  answer(message: InboundMessage, question: string, reply: ReplyGuard): Promise<void>;
  /**
   * Runs LLM work in the process's answer line under one deadline, with a first sign at once and a
   * "still working" line when nothing new shows for a while (named chains use it like answers do).
   */
  inAnswerLine(reply: ReplyGuard, work: (deadline: Deadline) => Promise<void>): Promise<void>;
  /** All registered commands, for `help`. */
  commands(): readonly Command[];
  /** Reads a channel's recent messages through the platform (absent: chains use what is remembered). */
  channelHistory?: ChannelHistory | undefined;
  /** Tokens a whole prompt may use (`PROMPT_TOKEN_BUDGET`). */
  promptTokenBudget: number;
}

export interface CommandContext {
  message: InboundMessage;
  /** The text after the command name, trimmed. */
  args: string;
  reply: ReplyGuard;
  services: CommandServices;
}

/**
 * A chat command. Parsed in core so Slack (`/teammate memory show`, `@teammate memory show`),
 * Discord (`/memory show`) and the terminal (`memory show`) get exactly the same ones.
 */
export interface Command {
  /** One or two words, e.g. `help`, `memory show`, `forget-note`. */
  name: string;
  usage: string;
  summary: string;
  adminOnly: boolean;
  /**
   * `none`: the command only matches when nothing follows it, so "help me write an email" stays a
   * conversation; `required`: a missing argument gets the usage line.
   */
  arguments: "none" | "optional" | "required";
  /**
   * Needs a language model to do anything: without one configured, core answers with the sentence
   * that says how to configure it, and `help` marks the command.
   */
  needsLlm?: boolean;
  /** Who sees the reply where the platform can tell (Slack ephemeral, Discord ephemeral). */
  visibility: ReplyVisibility;
  /**
   * Whether the command asks the language model. Such a command from someone past a usage limit gets
   * the limit's sentence, privately, before anything is posted or sent to the endpoint.
   */
  usesLlm?: boolean | undefined;
  /**
   * What follows the name, piece by piece, for platforms that ask for arguments as typed fields
   * (Discord's slash-command options, its modals). The command line a platform builds from them is
   * the name, then each given value after its `separator`: exactly what a person would type, so
   * `run` parses every platform the same way. Absent means no arguments (`arguments: "none"`).
   */
  parameters?: readonly CommandParameter[] | undefined;
  /**
   * When other commands extend this one's name (`sync` and `sync stop`), platforms that cannot run a
   * command which also has subcommands (Discord) offer this one as `<name> <subcommandName>`.
   */
  subcommandName?: string | undefined;
  run(context: CommandContext): Promise<void>;
}

/** What a parameter's values are: ids and names a platform may offer as suggestions while typing. */
type ParameterSuggestions = "document" | "source" | "model" | "language";

/** One argument of a command, described for platforms that show typed fields. */
export interface CommandParameter {
  /** Lowercase, letters, digits and dashes, at most 32 characters (Discord's option name rule). */
  name: string;
  /** One line, at most 100 characters. */
  description: string;
  /** `text` by default; `integer` a whole number; `attachment` a file (never part of the line). */
  type?: "text" | "integer" | "attachment" | undefined;
  required?: boolean | undefined;
  /** What goes before the value in the command line; `" "` by default (`": "` for `translate`'s text). */
  separator?: string | undefined;
  /** The only values allowed, with a label for each. */
  choices?: ReadonlyArray<{ label: string; value: string }> | undefined;
  /** What the value names (document ids, source ids, models, languages). */
  suggestions?: ParameterSuggestions | undefined;
  /**
   * The values to offer while the asker types (Discord autocomplete), best first. Only what the
   * asker's conversation may see: the message carries the workspace and channel to scope by.
   */
  suggest?: ((context: SuggestionContext) => Promise<readonly Suggestion[]>) | undefined;
  /** A longer text (a persona, a brief): platforms with forms ask for it in one (a Discord modal). */
  long?: boolean | undefined;
  maxLength?: number | undefined;
  minValue?: number | undefined;
  maxValue?: number | undefined;
}

/**
 * A parameter's `choices` from the values in the order given: a list where each value is its own
 * label, or labels keyed by value.
 */
export function choicesOf(
  values: readonly string[] | Readonly<Record<string, string>>,
): ReadonlyArray<{ label: string; value: string }> {
  const entries: Array<[string, string]> = Array.isArray(values)
    ? values.map((value: string): [string, string] => [value, value])
    : Object.entries(values);
  return entries.map(([value, label]) => ({ label, value }));
}

export type { Suggestion };

export interface SuggestionContext {
  /** Who is typing, and where (the scope every suggestion must respect). */
  message: InboundMessage;
  /** What they have typed so far. */
  partial: string;
  /** The command's other parameters they have filled in already, by name. */
  filled: Readonly<Record<string, string>>;
  services: CommandServices;
}
