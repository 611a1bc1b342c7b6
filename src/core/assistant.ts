import { randomUUID } from "node:crypto";
import type { Action, ActionServices } from "./actions/action.js";
import { answerActions } from "./actions/answer-actions.js";
import { approvalActions } from "./actions/approval-actions.js";
import { Answering } from "./answering.js";
import { type Arrival, arrive } from "./arrival.js";
import { type AgentSetup, AnswerChain } from "./chains/answer-chain.js";
import { conversationOf } from "./channel-of.js";
import { answerCommands } from "./commands/answer-commands.js";
import { builtinCommands } from "./commands/builtin-commands.js";
import { chainCommands } from "./commands/chain-commands.js";
import type { Command, CommandServices } from "./commands/command.js";
import { type ParsedInput, parseInput } from "./commands/command-parser.js";
import { NO_LLM_MESSAGE_SHORT } from "./commands/no-llm.js";
import { matching } from "./commands/suggestions.js";
import { createDeliveryClaims, type SettleClaim } from "./delivery-claims.js";
import { reportFailure } from "./errors.js";
import { ConversationMemory, splitPromptBudget } from "./memory/conversation-memory.js";
import { OpenReply } from "./open-replies.js";
import type {
  AssistantHandler,
  InboundAction,
  InboundMessage,
  Suggestion,
  SuggestionRequest,
} from "./ports/assistant-handler.js";
import type { AttachmentReader } from "./ports/attachment-reader.js";
import type { ChannelHistory } from "./ports/channel-history.js";
import { noKnowledge, type Retriever } from "./ports/knowledge.js";
import type { LlmProvider } from "./ports/llm-provider.js";
import type { Logger } from "./ports/logger.js";
import type { MemoryStore } from "./ports/memory-store.js";
import type { ReplySink } from "./ports/reply-sink.js";
import { hasAdminRights } from "./privileges.js";
import { ReplyGuard } from "./reply-guard.js";
import { TokenCache } from "./token-cache.js";
import { type MeteredRequest, requesterOf, type UsageMeter } from "./usage/usage-meter.js";

/** A handler for a button action that is not built in (approvals, for instance). */
type ActionHandler = (action: InboundAction, reply: ReplyGuard) => Promise<void>;

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

export interface Assistant extends AssistantHandler {
  readonly commands: readonly Command[];
  suggest(request: SuggestionRequest): Promise<Suggestion[]>;
}

/** What one message or click is handled with, built once by `createAssistant`. */
interface Parts {
  store: MemoryStore;
  llm: LlmProvider | undefined;
  logger: Logger;
  commands: readonly Command[];
  /** Button actions by name: the built-ins and those other modules add. */
  actions: ReadonlyMap<string, Action>;
  actionServices: ActionServices;
  answering: Answering;
  services: CommandServices;
  claim: ReturnType<typeof createDeliveryClaims>;
  usage: UsageMeter | undefined;
  secrets: readonly string[];
  owner: string;
  leaseSeconds: number;
}

/**
 * The core assistant: de-duplicates deliveries, decides whether a message is for teammate, routes
 * commands vs conversation, answers, and handles button clicks. Every platform calls only this.
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
  const answering = new Answering({
    store,
    memory,
    chain,
    retriever,
    budget,
    logger,
    attachments: options.attachments,
    acceptsImages: options.acceptsImages ?? false,
    answerTimeoutMs: options.answerTimeoutMs ?? 60_000,
    stillWorkingAfterMs: options.stillWorkingAfterMs ?? 5_000,
    maxConcurrentAnswers: options.maxConcurrentAnswers ?? 32,
    now,
  });
  const commands: readonly Command[] = [
    ...builtinCommands,
    ...answerCommands,
    ...chainCommands,
    ...(options.commands ?? []),
  ];
  const leaseSeconds = options.deliveryLeaseSeconds ?? 30;
  const parts: Parts = {
    store,
    llm,
    logger,
    commands,
    actions: actionTable(options.actions),
    actionServices: { store, agent: options.agent, now },
    answering,
    services: {
      store,
      memory,
      llm,
      logger,
      answer: (message, question, reply) => answering.answer(message, question, reply, undefined, undefined),
      inAnswerLine: (reply, work) => answering.inAnswerLine(reply, work),
      commands: () => commands,
      channelHistory: options.channelHistory,
      promptTokenBudget: options.promptTokenBudget,
    },
    claim: createDeliveryClaims({
      store,
      leaseSeconds,
      deduplicationSeconds: options.deduplicationSeconds ?? 24 * 60 * 60,
    }),
    usage: options.usage,
    secrets: options.secrets ?? [],
    owner: options.owner ?? randomUUID(),
    leaseSeconds,
  };

  return {
    commands,
    handle: (message, sink) => handleMessage(parts, message, sink),
    handleAction: (action, sink) => handleAction(parts, action, sink),
    suggest: (request) => suggest(parts, request),
  };
}

/** The action table: the built-ins win over an added handler of the same name. */
function actionTable(added: Record<string, ActionHandler> | undefined): ReadonlyMap<string, Action> {
  const table = new Map<string, Action>();
  for (const [name, handler] of Object.entries(added ?? {})) {
    table.set(name, { name, run: (action, reply) => handler(action, reply) });
  }
  for (const action of [...answerActions, ...approvalActions]) table.set(action.name, action);
  return table;
}

/** One request's LLM: its calls counted for its asker, its limits checked once. */
function meter(parts: Parts, message: InboundMessage): MeteredRequest | undefined {
  return parts.llm && parts.usage ? parts.usage.forRequest(parts.llm, requesterOf(message)) : undefined;
}

/** The services a command of this request runs with: its metered LLM, and memory read on arrival. */
function requestServices(
  parts: Parts,
  metered: MeteredRequest | undefined,
  arrival: Arrival,
): CommandServices {
  return {
    ...parts.services,
    llm: metered?.llm ?? parts.llm,
    // The channel's settings as read on arrival; the conversation is the inner message's own.
    answer: (inner, question, reply) =>
      parts.answering.answer(inner, question, reply, metered, {
        ...arrival,
        message: inner,
        conversation: undefined,
      }),
  };
}

async function fail(reply: ReplyGuard, error: unknown, log: Logger): Promise<void> {
  const { sentence, referenceId } = reportFailure(error, log, "request failed");
  try {
    await reply.fail(sentence);
  } catch (sinkError) {
    log.error({ err: sinkError, referenceId }, "could not deliver the failure message");
  }
}

async function handleMessage(parts: Parts, delivered: InboundMessage, sink: ReplySink): Promise<void> {
  const log = parts.logger.child({
    platform: delivered.platform,
    channel: delivered.channelId,
    eventId: delivered.eventId,
  });
  const open = new OpenReply({
    store: parts.store,
    id: `reply-${delivered.platform}-${delivered.workspaceId}-${delivered.eventId}`,
    where: conversationOf(delivered),
    askerId: delivered.userId,
    sink,
    owner: parts.owner,
    leaseMs: parts.leaseSeconds * 1000,
    logger: log,
  });
  const reply = new ReplyGuard(sink, log, parts.secrets, open.shown);
  // A duplicate, or a message core leaves alone: no trace on the platform.
  let quiet = false;
  let settle: SettleClaim | undefined;
  try {
    settle = await parts.claim("event", delivered, delivered.eventId, log);
    if (!settle) {
      quiet = true;
      log.debug("duplicate delivery dropped");
      return;
    }
    const arrival = await arrive(delivered, parts.store, log);
    if (!arrival) {
      quiet = true;
      log.debug("not for teammate: left alone");
      return;
    }
    reply.placement = arrival.placement;
    const { message } = arrival;
    const parsed = parseInput(message.text, parts.commands, message.isCommand ?? false);
    await route(parts, parsed, arrival, reply, log);
  } catch (error) {
    await fail(reply, error, log);
  } finally {
    if (!reply.ended && !quiet) await fail(reply, new Error("reply ended without an answer"), log);
    // The reply's record and the claim go in one write: a message pays for one commit, not two.
    if (settle) await settle(await open.release());
    else await open.close();
  }
}

/** A parsed message to its command, its answer, or a sentence saying why neither. */
async function route(parts: Parts, parsed: ParsedInput, arrival: Arrival, reply: ReplyGuard, log: Logger) {
  const { message } = arrival;
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
    case "command":
      await runCommand(parts, parsed.command, parsed.args, arrival, reply, log);
      return;
    case "conversation":
      if (parsed.text.length === 0 && message.attachments.length === 0) {
        await reply.say("Hi! Ask me a question, or say `help` to see what I can do.", "asker");
        return;
      }
      log.info("question");
      await parts.answering.answer(message, parsed.text, reply, meter(parts, message), arrival);
      return;
  }
}

async function runCommand(
  parts: Parts,
  command: Command,
  args: Extract<ParsedInput, { kind: "command" }>["args"],
  arrival: Arrival,
  reply: ReplyGuard,
  log: Logger,
): Promise<void> {
  const { message } = arrival;
  // Checked now, not from a cache: a demoted admin is refused at once.
  if (command.adminOnly && !(await hasAdminRights(message))) {
    await reply.say(
      `Only workspace admins can use \`${command.name}\`. Ask an admin, or have one add you to ADMIN_USER_IDS.`,
      "asker",
    );
    return;
  }
  if (command.needsLlm && !parts.llm) {
    await reply.say(NO_LLM_MESSAGE_SHORT, "asker");
    return;
  }
  log.info({ command: command.name }, "command");
  const metered = meter(parts, message);
  // Before the reply starts in public: a refusal is for the asker alone.
  const refusal = command.usesLlm ? await metered?.refusal() : undefined;
  if (refusal) {
    await reply.say(refusal, "asker");
    return;
  }
  await reply.start({ visibility: command.visibility });
  await command.run({ message, args, reply, services: requestServices(parts, metered, arrival) });
}

async function handleAction(parts: Parts, action: InboundAction, sink: ReplySink): Promise<void> {
  const log = parts.logger.child({
    platform: action.platform,
    channel: action.channelId,
    action: action.action,
  });
  const reply = new ReplyGuard(sink, log, parts.secrets);
  let duplicate = false;
  let settle: SettleClaim | undefined;
  try {
    settle = await parts.claim("action", action, action.eventId, log);
    if (!settle) {
      duplicate = true;
      return;
    }
    const registered = parts.actions.get(action.action);
    if (!registered) {
      await reply.say("That button is not something I know how to handle any more.", "asker");
      return;
    }
    await registered.run(action, reply, parts.actionServices);
  } catch (error) {
    await fail(reply, error, log);
  } finally {
    if (!reply.ended && !duplicate) await fail(reply, new Error("action ended without a reply"), log);
    await settle?.();
  }
}

async function suggest(parts: Parts, request: SuggestionRequest): Promise<Suggestion[]> {
  const command = parts.commands.find((candidate) => candidate.name === request.command);
  const parameter = command?.parameters?.find((candidate) => candidate.name === request.parameter);
  if (!command || !parameter?.suggest) return [];
  try {
    // An admin command's ids are an admin's to see: checked now, as when it runs.
    if (command.adminOnly && !(await hasAdminRights(request.message))) return [];
    const found = await parameter.suggest({
      message: request.message,
      partial: request.partial,
      filled: request.filled,
      services: parts.services,
    });
    return matching(found, request.partial);
  } catch (error) {
    parts.logger.warn({ err: error, command: command.name }, "no suggestions: looking them up failed");
    return [];
  }
}
