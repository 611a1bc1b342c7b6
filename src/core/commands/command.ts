import type { Deadline } from "../deadline.js";
import type { ConversationMemory } from "../memory/conversation-memory.js";
import type { ChannelHistory } from "../ports/channel-history.js";
import type { LlmProvider } from "../ports/llm-provider.js";
import type { Logger } from "../ports/logger.js";
import type { MemoryStore } from "../ports/memory-store.js";
import type { ReplyGuard } from "../reply-guard.js";
import type { InboundMessage, ReplyVisibility } from "../types.js";

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
  run(context: CommandContext): Promise<void>;
}
