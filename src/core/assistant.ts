import { randomUUID } from "node:crypto";
import {
  QUESTION_FOR_BARE_FILES,
  type QuestionAttachments,
  readQuestionAttachments,
} from "./attachments/question-attachments.js";
import { type AgentSetup, AnswerChain, scopeOf } from "./chains/answer-chain.js";
import { channelOf } from "./channel-of.js";
import { answerCommands } from "./commands/answer-commands.js";
import { builtinCommands } from "./commands/builtin-commands.js";
import { chainCommands } from "./commands/chain-commands.js";
import type { Command, CommandServices } from "./commands/command.js";
import { parseInput } from "./commands/command-parser.js";
import { NO_LLM_MESSAGE, NO_LLM_MESSAGE_SHORT } from "./commands/no-llm.js";
import { matching } from "./commands/suggestions.js";
import { createDeadline, type Deadline, raceWithSignal } from "./deadline.js";
import { AppError, describeForUser, toAppError } from "./errors.js";
import { sourceOfPassage } from "./knowledge/passage-source.js";
import { ConversationMemory, splitPromptBudget } from "./memory/conversation-memory.js";
import { OpenReply } from "./open-replies.js";
import type { AttachmentReader } from "./ports/attachment-reader.js";
import type { ChannelHistory } from "./ports/channel-history.js";
import { noKnowledge, type Passage, type Retriever } from "./ports/knowledge.js";
import type { LlmProvider } from "./ports/llm-provider.js";
import type { Logger } from "./ports/logger.js";
import type { ChannelSettings, MemoryStore, NewTurn, Turn } from "./ports/memory-store.js";
import { hasAdminRights } from "./privileges.js";
import { ReplyGuard } from "./reply-guard.js";
import { TokenCache } from "./token-cache.js";
import type {
  AssistantHandler,
  ChannelPreferences,
  ChannelRef,
  ConversationRef,
  InboundAction,
  InboundMessage,
  ReplyButton,
  ReplySink,
  Source,
  Suggestion,
  SuggestionRequest,
} from "./types.js";
import { type MeteredRequest, requesterOf, type UsageMeter } from "./usage/usage-meter.js";
import { type PlaceInLine, WorkLine } from "./work-line.js";

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
  /** Counts every LLM call per workspace, channel and person, and refuses requests past a limit. */
  usage?: UsageMeter | undefined;
  /** How long a delivery id is remembered for de-duplication. Slack retries within minutes. */
  deduplicationSeconds?: number | undefined;
  /** The deployment's own secrets (tokens, keys), hidden by value in every chat message. */
  secrets?: readonly string[] | undefined;
  /**
   * How long a delivery's claim outlives its handler: renewed while the handler works, so after a
   * crash the delivery is claimable again this long later. Default 30 s (Slack re-delivers after
   * about one and five minutes).
   */
  deliveryLeaseSeconds?: number | undefined;
  /**
   * The longest one answer may take, from its arrival (a wait in line included) to its last word;
   * past it the person gets a sentence saying so. `LLM_TIMEOUT_MS`; default 60 s.
   */
  answerTimeoutMs?: number | undefined;
  /** Answers worked on at once by this process; the rest wait in line. `MAX_CONCURRENT_ANSWERS`; default 32. */
  maxConcurrentAnswers?: number | undefined;
  /** After this long with nothing new shown, the reply says it is still working. Default 5 s. */
  stillWorkingAfterMs?: number | undefined;
  /**
   * This process (an id per start): every reply in progress is recorded as open work under it, with
   * the delivery lease, so that a reply left unfinished by a crash is ended by the next sweep.
   */
  owner?: string | undefined;
  /** Reads a channel's recent messages for `summarize`, `actions` and `translate` outside a thread. */
  channelHistory?: ChannelHistory | undefined;
  /** Reads files attached to questions (for that answer only); absent: such files get a sentence. */
  attachments?: AttachmentReader | undefined;
  /** Whether the model takes image parts (`LLM_ACCEPTS_IMAGES`); without it an image gets a sentence. */
  acceptsImages?: boolean | undefined;
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

/** Said above an answer given while the memory store is down. */
export const MEMORY_DOWN_NOTE =
  "_My memory is unavailable right now, so I'm answering without this conversation's history, and I won't remember this exchange._";

function isStoreDown(error: unknown): boolean {
  return toAppError(error).code === "store_unavailable";
}

function answerTimedOut(milliseconds: number): AppError {
  const seconds = Math.round(milliseconds / 1000);
  return new AppError("answer_timeout", `answer took longer than ${milliseconds} ms`, {
    category: "system",
    userMessage: `I couldn't finish this answer within its ${seconds}-second limit, so I stopped. Please try again in a moment.`,
  });
}

export interface Assistant extends AssistantHandler {
  readonly commands: readonly Command[];
  suggest(request: SuggestionRequest): Promise<Suggestion[]>;
  channelPreferences(channel: ChannelRef): Promise<ChannelPreferences>;
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
  const secrets = options.secrets ?? [];
  const leaseSeconds = options.deliveryLeaseSeconds ?? 30;
  const answerTimeoutMs = options.answerTimeoutMs ?? 60_000;
  const stillWorkingAfterMs = options.stillWorkingAfterMs ?? 5_000;
  const answerLine = new WorkLine(options.maxConcurrentAnswers ?? 32);
  const owner = options.owner ?? randomUUID();

  /**
   * Runs LLM work for one reply: a first sign at once (before any wait), a place in the answer line,
   * one deadline from arrival to the last word, and a "still working" line whenever nothing new has
   * been shown for a while. Whatever the work does, it ends (or fails) by the deadline.
   */
  async function inAnswerLine(reply: ReplyGuard, work: (deadline: Deadline) => Promise<void>): Promise<void> {
    await reply.start({ visibility: "everyone" });
    const deadline = createDeadline(answerTimeoutMs, () => answerTimedOut(answerTimeoutMs));
    const arrivedAt = Date.now();
    let place: PlaceInLine | undefined;
    // One line whenever nothing new has been shown for a while: the place in line while waiting (the
    // 👀 of `start` is the first sign; a status message for every waiter of a burst would only slow
    // the process that has to acknowledge them), then "still working".
    const watch = setInterval(() => {
      if (reply.ended || Date.now() - reply.lastSignAt < stillWorkingAfterMs) return;
      const seconds = Math.round((Date.now() - arrivedAt) / 1000);
      const line = place?.waiting
        ? `Lots of questions right now: ${place.ahead === 0 ? "yours is next" : `${place.ahead} ahead of yours`} in line (${seconds} s so far)…`
        : `Still working on it (${seconds} s so far)…`;
      reply.status(line).catch((error: unknown) => {
        logger.debug({ err: error }, "still-working line not shown");
      });
    }, 1_000);
    try {
      await answerLine.run(() => raceWithSignal(work(deadline), deadline.signal), {
        signal: deadline.signal,
        onWait: (waiting) => {
          place = waiting;
        },
      });
    } finally {
      clearInterval(watch);
      deadline.dispose();
    }
  }

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
    const sources: Source[] = top.map(sourceOfPassage);
    await reply.start({ visibility: "everyone" });
    await reply.append(
      `No language model is configured, so here are the most relevant passages from the indexed docs:\n\n${top
        .map((passage, index) => `[${index + 1}] **${passage.title}**\n${passage.text.slice(0, 600)}`)
        .join("\n\n")}`,
    );
    await reply.finish({ sources, buttons: [] });
  }

  async function answer(
    message: InboundMessage,
    question: string,
    reply: ReplyGuard,
    metered?: MeteredRequest,
  ): Promise<void> {
    if (!chain) {
      if (await retriever.hasDocuments(scopeOf(message))) return searchOnly(message, question, reply);
      await reply.say(NO_LLM_MESSAGE, "asker");
      return;
    }
    // Before anything that could reach the endpoint (condensing, embeddings, the answer itself).
    const refusal = await metered?.refusal();
    if (refusal) {
      await reply.say(refusal, "asker");
      return;
    }
    await inAnswerLine(reply, (deadline) => answerNow(chain, message, question, reply, deadline, metered));
  }

  async function answerNow(
    chain: AnswerChain,
    message: InboundMessage,
    typedQuestion: string,
    reply: ReplyGuard,
    deadline: Deadline,
    metered: MeteredRequest | undefined,
  ): Promise<void> {
    let question = typedQuestion;
    let attached: QuestionAttachments | undefined;
    if (message.attachments.length > 0) {
      attached = await readQuestionAttachments({
        message,
        reader: options.attachments,
        acceptsImages: options.acceptsImages ?? false,
        tokenBudget: Math.floor(budget.passages * 0.6),
        logger,
        signal: deadline.signal,
        onReading: (name) => reply.status(`Reading ${name}…`),
      });
      if (attached.notes.length > 0) {
        await reply.append(`${attached.notes.map((note) => `_${note}_`).join("\n")}\n\n`);
      }
      if (attached.passages.length === 0 && attached.images.length === 0 && question.trim() === "") {
        // Nothing readable and nothing asked: the sentences above are the whole reply.
        await reply.finish({ sources: [], buttons: [] });
        return;
      }
      if (question.trim() === "") question = QUESTION_FOR_BARE_FILES;
    }
    const remembered = await recall(message).catch((error: unknown) => {
      if (!isStoreDown(error)) throw error;
      logger.warn({ err: error }, "memory store unavailable: answering without memory");
      return undefined;
    });
    if (!remembered) {
      await reply.append(`${MEMORY_DOWN_NOTE}\n\n`);
      // Thread messages the platform gave us still serve as context; they are just not kept.
      const turns: Turn[] = (message.priorMessages ?? []).map((prior, index) => ({
        ...memory.newTurn(
          prior.fromAssistant ? "assistant" : "user",
          prior.userId,
          prior.userName,
          prior.text,
        ),
        seq: index + 1,
      }));
      const result = await chain.run({
        message,
        question,
        conversation: { summary: "", turns },
        notes: [],
        settings: {},
        reply,
        deadline,
        llm: metered?.llm,
        attached,
      });
      // Nothing was saved, so there is nothing for buttons to refer to.
      await reply.finish({ sources: result.sources, buttons: [] });
      return;
    }
    const { conversation, notes, settings } = remembered;
    const result = await chain.run({
      message,
      question,
      conversation,
      notes,
      settings,
      reply,
      deadline,
      llm: metered?.llm,
      attached,
    });
    const answerId = randomUUID();
    const saved = await store
      .saveAnswer({
        id: answerId,
        conversation: { ...channelOf(message), threadId: message.threadId },
        askerId: message.userId,
        question,
        answer: result.text,
        sources: result.sources,
        model: result.model,
        at: now(),
        trace: result.trace,
      })
      .then(
        () => true,
        (error: unknown) => {
          if (!isStoreDown(error)) throw error;
          logger.warn({ err: error }, "answer not saved: the memory store failed");
          return false;
        },
      );
    await reply.finish(
      saved
        ? { sources: result.sources, buttons: answerButtons(answerId, result.sources.length > 0), answerId }
        : { sources: result.sources, buttons: [] },
    );
    // The person has their answer; a store that fails now costs the memory of it, not the reply.
    await memory
      .record(
        message,
        [
          memory.newTurn("user", message.userId, message.userName, question),
          memory.newTurn("assistant", "teammate", "teammate", result.text),
        ],
        metered?.llm,
      )
      .catch((error: unknown) => {
        logger.warn({ err: error }, "conversation turn not remembered");
      });
  }

  /** What the answer needs from memory: the conversation (seeded with earlier thread messages), notes, settings. */
  async function recall(message: InboundMessage) {
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
    return { conversation, notes, settings };
  }

  const services: CommandServices = {
    store,
    memory,
    llm,
    logger,
    answer,
    inAnswerLine,
    commands: () => commands,
    channelHistory: options.channelHistory,
    promptTokenBudget: options.promptTokenBudget,
  };

  /** One request's LLM: its calls counted for its asker, its limits checked once. */
  function meter(message: InboundMessage): MeteredRequest | undefined {
    return llm && options.usage ? options.usage.forRequest(llm, requesterOf(message)) : undefined;
  }

  function requestServices(metered: MeteredRequest | undefined): CommandServices {
    if (!metered) return services;
    return {
      ...services,
      llm: metered.llm,
      answer: (inner, question, reply) => answer(inner, question, reply, metered),
    };
  }

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

  /**
   * Claims a delivery as a lease: short while the handler works (renewed on a heartbeat), long once
   * it is done. A handler that dies (a crash, a kill) stops renewing, so Slack's next re-delivery is
   * answered; a live or finished one is dropped as a duplicate. With the store down nothing can be
   * de-duplicated, and answering a rare re-delivery twice is better than answering nobody.
   * Returns undefined for a duplicate, else a function that settles the claim.
   */
  async function claim(
    kind: string,
    ref: ConversationRef,
    eventId: string,
    log: Logger,
  ): Promise<(() => Promise<void>) | undefined> {
    const key = `${kind}:${ref.platform}:${ref.workspaceId}:${eventId}`;
    try {
      if (!(await store.claimEvent(key, leaseSeconds))) return undefined;
    } catch (error) {
      if (!isStoreDown(error)) throw error;
      log.warn({ err: error }, "memory store unavailable: handling the delivery without de-duplication");
      return async () => {};
    }
    const extend = (seconds: number) =>
      store.extendEvent(key, seconds).catch((error: unknown) => {
        log.debug({ err: error }, "delivery claim not extended");
      });
    const heartbeat = setInterval(() => void extend(leaseSeconds), (leaseSeconds * 1000) / 3);
    return async () => {
      clearInterval(heartbeat);
      await extend(deduplicationSeconds);
    };
  }

  return {
    commands,

    async handle(message: InboundMessage, sink: ReplySink): Promise<void> {
      const log = logger.child({
        platform: message.platform,
        channel: message.channelId,
        eventId: message.eventId,
      });
      const open = new OpenReply({
        store,
        id: `reply-${message.platform}-${message.workspaceId}-${message.eventId}`,
        where: { ...channelOf(message), threadId: message.threadId },
        askerId: message.userId,
        sink,
        owner,
        leaseMs: leaseSeconds * 1000,
        logger: log,
      });
      const reply = new ReplyGuard(sink, log, secrets, open.shown);
      let duplicate = false;
      let settle: (() => Promise<void>) | undefined;
      try {
        settle = await claim("event", message, message.eventId, log);
        if (!settle) {
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
            // Checked now, not from a cache: a demoted admin is refused at once.
            if (parsed.command.adminOnly && !(await hasAdminRights(message))) {
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
            const metered = meter(message);
            // Before the reply starts in public: a refusal is for the asker alone.
            const refusal = parsed.command.usesLlm ? await metered?.refusal() : undefined;
            if (refusal) {
              await reply.say(refusal, "asker");
              return;
            }
            await reply.start({ visibility: parsed.command.visibility });
            await parsed.command.run({
              message,
              args: parsed.args,
              reply,
              services: requestServices(metered),
            });
            return;
          }
          case "conversation": {
            if (parsed.text.length === 0 && message.attachments.length === 0) {
              await reply.say("Hi! Ask me a question, or say `help` to see what I can do.", "asker");
              return;
            }
            log.info("question");
            await answer(message, parsed.text, reply, meter(message));
            return;
          }
        }
      } catch (error) {
        await fail(reply, error, log);
      } finally {
        if (!reply.ended && !duplicate) await fail(reply, new Error("reply ended without an answer"), log);
        await open.close();
        await settle?.();
      }
    },

    async handleAction(action: InboundAction, sink: ReplySink): Promise<void> {
      const log = logger.child({
        platform: action.platform,
        channel: action.channelId,
        action: action.action,
      });
      const reply = new ReplyGuard(sink, log, secrets);
      let duplicate = false;
      let settle: (() => Promise<void>) | undefined;
      try {
        settle = await claim("action", action, action.eventId, log);
        if (!settle) {
          duplicate = true;
          return;
        }
        if (
          action.action === "feedback-up" ||
          action.action === "feedback-down" ||
          action.action === "show-sources"
        ) {
          const record = await store.getAnswer(action.value);
          // Buttons count only where the answer was shown: an id learned elsewhere opens nothing.
          if (
            !record ||
            record.conversation.platform !== action.platform ||
            record.conversation.workspaceId !== action.workspaceId ||
            record.conversation.channelId !== action.channelId
          ) {
            await reply.say("I no longer have that answer, so I can't do that.", "asker");
            return;
          }
          if (action.action === "show-sources") {
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
            { userId: action.userId, place: channelOf(action), isAdmin: () => hasAdminRights(action) },
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
        await settle?.();
      }
    },

    async isEngaged(conversation: ConversationRef): Promise<boolean> {
      const current = await store.loadConversation(conversation);
      return current.turns.length > 0 || current.summary.length > 0;
    },

    async suggest(request: SuggestionRequest): Promise<Suggestion[]> {
      const command = commands.find((candidate) => candidate.name === request.command);
      const parameter = command?.parameters?.find((candidate) => candidate.name === request.parameter);
      if (!command || !parameter?.suggest) return [];
      try {
        // An admin command's ids are an admin's to see: checked now, as when it runs.
        if (command.adminOnly && !(await hasAdminRights(request.message))) return [];
        const found = await parameter.suggest({
          message: request.message,
          partial: request.partial,
          filled: request.filled,
          services,
        });
        return matching(found, request.partial);
      } catch (error) {
        logger.warn({ err: error, command: command.name }, "no suggestions: looking them up failed");
        return [];
      }
    },

    async channelPreferences(channel: ChannelRef): Promise<ChannelPreferences> {
      // A store that is down must not make teammate go quiet: the defaults answer as before.
      const settings = await store.getSettings(channelOf(channel)).catch((error: unknown) => {
        logger.warn({ err: error }, "channel settings unavailable; using the defaults");
        return {} as ChannelSettings;
      });
      return { replyMode: settings.replyMode ?? "thread", listen: settings.listen ?? "thread" };
    },
  };
}
