import { randomUUID } from "node:crypto";
import { type AgentSetup, AnswerChain, scopeOf } from "./chains/answer-chain.js";
import { channelOf } from "./channel-of.js";
import { answerCommands } from "./commands/answer-commands.js";
import { builtinCommands } from "./commands/builtin-commands.js";
import { chainCommands } from "./commands/chain-commands.js";
import type { Command, CommandServices } from "./commands/command.js";
import { parseInput } from "./commands/command-parser.js";
import { NO_LLM_MESSAGE, NO_LLM_MESSAGE_SHORT } from "./commands/no-llm.js";
import { describeForUser, toAppError } from "./errors.js";
import { ConversationMemory, splitPromptBudget } from "./memory/conversation-memory.js";
import { noKnowledge, type Passage, type Retriever } from "./ports/knowledge.js";
import type { LlmProvider } from "./ports/llm-provider.js";
import type { Logger } from "./ports/logger.js";
import type { MemoryStore, NewTurn } from "./ports/memory-store.js";
import { ReplyGuard } from "./reply-guard.js";
import { TokenCache } from "./token-cache.js";
import type {
  AssistantHandler,
  ConversationRef,
  InboundAction,
  InboundMessage,
  ReplyButton,
  ReplySink,
  Source,
} from "./types.js";

/** A handler for a button action that is not built in (approvals, for instance). */
export type ActionHandler = (action: InboundAction, reply: ReplyGuard) => Promise<void>;

export interface AssistantOptions {
  store: MemoryStore;
  /** Absent when no endpoint is configured: commands and memory still work; questions get a clear sentence. */
  llm: LlmProvider | undefined;
  retriever?: Retriever | undefined;
  logger: Logger;
  promptTokenBudget: number;
  allowGeneralKnowledge: boolean;
  /** Tools for answers (built-ins, MCP); with any registered, answers run through the agent loop. */
  agent?: AgentSetup | undefined;
  /** Commands added by other modules (knowledge, tools, fine-tuning), routed like the built-ins. */
  commands?: readonly Command[] | undefined;
  actions?: Record<string, ActionHandler> | undefined;
  /** How long a delivery id is remembered for de-duplication. Slack retries within minutes. */
  deduplicationSeconds?: number | undefined;
  now?: (() => number) | undefined;
}

function sourceList(sources: Source[]): string {
  return sources.map((source) => `[${source.index}] ${source.title} — ${source.location}`).join("\n");
}

function answerButtons(answerId: string, hasSources: boolean): ReplyButton[] {
  const buttons: ReplyButton[] = [
    { action: "feedback-up", label: "👍", value: answerId },
    { action: "feedback-down", label: "👎", value: answerId },
  ];
  if (hasSources) buttons.push({ action: "show-sources", label: "Show sources", value: answerId });
  return buttons;
}

export interface Assistant extends AssistantHandler {
  readonly commands: readonly Command[];
}

/**
 * The core assistant: de-duplicates deliveries, routes commands vs conversation, loads memory, runs
 * the answer chain, streams the reply and saves the turn. Every platform calls only this.
 */
export function createAssistant(options: AssistantOptions): Assistant {
  const { store, llm, logger } = options;
  const retriever = options.retriever ?? noKnowledge;
  const now = options.now ?? Date.now;
  const budget = splitPromptBudget(options.promptTokenBudget);
  // One cache of token counts for memory and the answer chain: each text is encoded once.
  const tokens = new TokenCache();
  const memory = new ConversationMemory({ store, llm, budget, logger, now, tokens });
  const chain = llm
    ? new AnswerChain({
        llm,
        retriever,
        memory,
        budget,
        allowGeneralKnowledgeByDefault: options.allowGeneralKnowledge,
        logger,
        agent: options.agent,
        tokens,
      })
    : undefined;
  const commands: readonly Command[] = [
    ...builtinCommands,
    ...answerCommands,
    ...chainCommands,
    ...(options.commands ?? []),
  ];
  const deduplicationSeconds = options.deduplicationSeconds ?? 24 * 60 * 60;

  async function searchOnly(message: InboundMessage, question: string, reply: ReplyGuard): Promise<void> {
    const passages: Passage[] = await retriever.retrieve(question, scopeOf(message));
    if (passages.length === 0) {
      // One message: the search found nothing, and answering anyway needs the model that is missing.
      await reply.say(
        "No language model is configured, so I can only search the indexed docs, and they have nothing about that. Set OPENAI_API_KEY or OPENAI_BASE_URL (Ollama: http://localhost:11434/v1) for real answers.",
        "asker",
      );
      return;
    }
    const top = passages.slice(0, 3);
    const sources: Source[] = top.map((passage, index) => ({
      index: index + 1,
      title: passage.title,
      location: passage.location,
      documentId: passage.documentId,
    }));
    await reply.start({ visibility: "everyone" });
    await reply.append(
      `No language model is configured, so here are the most relevant passages from the indexed docs:\n\n${top
        .map((passage, index) => `[${index + 1}] **${passage.title}**\n${passage.text.slice(0, 600)}`)
        .join("\n\n")}`,
    );
    await reply.finish({ sources, buttons: [] });
  }

  async function answer(message: InboundMessage, question: string, reply: ReplyGuard): Promise<void> {
    if (!chain) {
      if (await retriever.hasDocuments(scopeOf(message))) return searchOnly(message, question, reply);
      await reply.say(NO_LLM_MESSAGE, "asker");
      return;
    }
    let conversation = await store.loadConversation(message);
    if (message.priorMessages?.length && conversation.turns.length === 0 && !conversation.summary) {
      const prior: NewTurn[] = message.priorMessages.map((prior) =>
        memory.newTurn(prior.fromAssistant ? "assistant" : "user", prior.userId, prior.userName, prior.text),
      );
      await store.appendTurns(message, prior);
      conversation = await store.loadConversation(message);
    }
    const channel = channelOf(message);
    const [notes, settings] = await Promise.all([store.listNotes(channel), store.getSettings(channel)]);
    await reply.start({ visibility: "everyone" });
    const result = await chain.run({ message, question, conversation, notes, settings, reply });
    const answerId = randomUUID();
    await store.saveAnswer({
      id: answerId,
      conversation: { ...channelOf(message), threadId: message.threadId },
      askerId: message.userId,
      question,
      answer: result.text,
      sources: result.sources,
      model: result.model,
      at: now(),
      trace: result.trace,
    });
    await reply.finish({
      sources: result.sources,
      buttons: answerButtons(answerId, result.sources.length > 0),
      answerId,
    });
    await memory.record(message, [
      memory.newTurn("user", message.userId, message.userName, question),
      memory.newTurn("assistant", "teammate", "teammate", result.text),
    ]);
  }

  const services: CommandServices = {
    store,
    memory,
    llm,
    logger,
    answer,
    commands: () => commands,
  };

  async function fail(reply: ReplyGuard, error: unknown, log: Logger): Promise<void> {
    const appError = toAppError(error);
    const referenceId = randomUUID().slice(0, 8);
    const level = appError.category === "user" ? "info" : "error";
    log[level]({ err: appError, code: appError.code, referenceId }, "request failed");
    try {
      await reply.fail(describeForUser(appError, referenceId));
    } catch (sinkError) {
      log.error({ err: sinkError, referenceId }, "could not deliver the failure message");
    }
  }

  async function claim(kind: string, ref: ConversationRef, eventId: string): Promise<boolean> {
    return store.claimEvent(`${kind}:${ref.platform}:${ref.workspaceId}:${eventId}`, deduplicationSeconds);
  }

  return {
    commands,

    async handle(message: InboundMessage, sink: ReplySink): Promise<void> {
      const log = logger.child({
        platform: message.platform,
        channel: message.channelId,
        eventId: message.eventId,
      });
      const reply = new ReplyGuard(sink, log);
      let duplicate = false;
      try {
        if (!(await claim("event", message, message.eventId))) {
          duplicate = true;
          log.debug("duplicate delivery dropped");
          return;
        }
        const parsed = parseInput(message.text, commands, message.isCommand ?? false);
        switch (parsed.kind) {
          case "unknown":
            await reply.say(
              `I don't know the command \`${parsed.word}\`. Say \`help\` to see what I can do.`,
              "asker",
            );
            return;
          case "usage":
            await reply.say(`Usage: \`${parsed.command.usage}\` — ${parsed.command.summary}.`, "asker");
            return;
          case "command": {
            if (parsed.command.adminOnly && !message.isAdmin) {
              await reply.say(
                `Only workspace admins can use \`${parsed.command.name}\`. Ask an admin, or have one add you to ADMIN_USER_IDS.`,
                "asker",
              );
              return;
            }
            if (parsed.command.needsLlm && !llm) {
              await reply.say(NO_LLM_MESSAGE_SHORT, "asker");
              return;
            }
            log.info({ command: parsed.command.name }, "command");
            await reply.start({ visibility: parsed.command.visibility });
            await parsed.command.run({ message, args: parsed.args, reply, services });
            return;
          }
          case "conversation": {
            if (parsed.text.length === 0 && message.attachments.length === 0) {
              await reply.say("Hi! Ask me a question, or say `help` to see what I can do.", "asker");
              return;
            }
            log.info("question");
            await answer(message, parsed.text, reply);
            return;
          }
        }
      } catch (error) {
        await fail(reply, error, log);
      } finally {
        if (!reply.ended && !duplicate) await fail(reply, new Error("reply ended without an answer"), log);
      }
    },

    async handleAction(action: InboundAction, sink: ReplySink): Promise<void> {
      const log = logger.child({
        platform: action.platform,
        channel: action.channelId,
        action: action.action,
      });
      const reply = new ReplyGuard(sink, log);
      let duplicate = false;
      try {
        if (!(await claim("action", action, action.eventId))) {
          duplicate = true;
          return;
        }
        if (
          action.action === "feedback-up" ||
          action.action === "feedback-down" ||
          action.action === "show-sources"
        ) {
          const record = await store.getAnswer(action.value);
          if (
            !record ||
            record.conversation.platform !== action.platform ||
            record.conversation.workspaceId !== action.workspaceId
          ) {
            await reply.say("I no longer have that answer, so I can't do that.", "asker");
            return;
          }
          if (action.action === "show-sources") {
            await reply.say(
              record.sources.length > 0
                ? `Sources:\n${sourceList(record.sources)}`
                : "That answer used no documents.",
              "asker",
            );
            return;
          }
          const vote = action.action === "feedback-up" ? "up" : "down";
          await store.recordVote({ answerId: record.id, voterId: action.userId, vote, at: now() });
          await reply.say(
            `Thanks, ${action.userName}: your ${vote === "up" ? "👍" : "👎"} is recorded.`,
            "asker",
          );
          return;
        }
        if ((action.action === "approve-tool" || action.action === "deny-tool") && options.agent) {
          const decided = await options.agent.approvals.decide(
            action.value,
            action.userId,
            action.isAdmin,
            action.action === "approve-tool",
          );
          await reply.say(
            decided.message,
            decided.status === "forbidden" || decided.status === "not_found" ? "asker" : "everyone",
          );
          return;
        }
        const handler = options.actions?.[action.action];
        if (!handler) {
          await reply.say("That button is not something I know how to handle any more.", "asker");
          return;
        }
        await handler(action, reply);
      } catch (error) {
        await fail(reply, error, log);
      } finally {
        if (!reply.ended && !duplicate) await fail(reply, new Error("action ended without a reply"), log);
      }
    },

    async isEngaged(conversation: ConversationRef): Promise<boolean> {
      const current = await store.loadConversation(conversation);
      return current.turns.length > 0 || current.summary.length > 0;
    },
  };
}
