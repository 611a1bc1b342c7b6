import { type AgentBudgets, type AgentContext, runAgent } from "../agent/agent-loop.js";
import type { AgentTrace } from "../agent/agent-trace.js";
import type { QuestionAttachments } from "../attachments/question-attachments.js";
import { channelOf } from "../channel-of.js";
import { type Deadline, LONGEST_DEADLINE } from "../deadline.js";
import { AppError } from "../errors.js";
import { sourceOfPassage } from "../knowledge/passage-source.js";
import type { ConversationMemory, PromptBudget } from "../memory/conversation-memory.js";
import { recentWindow } from "../memory/conversation-memory.js";
import type { ApprovalGate } from "../ports/approval-gate.js";
import type { InboundMessage } from "../ports/assistant-handler.js";
import type { Passage, Retriever } from "../ports/knowledge.js";
import type { ChatMessage, FinishReason, LlmProvider, TokenUsage } from "../ports/llm-provider.js";
import type { Logger } from "../ports/logger.js";
import type { ChannelSettings, Conversation, Note } from "../ports/memory-store.js";
import type { ApprovalPrompt, ReplyFinish, ReplySink, ReplyStart } from "../ports/reply-sink.js";
import type { QueryScope } from "../ports/vector-store.js";
import type { ReplyGuard } from "../reply-guard.js";
import { TokenCache } from "../token-cache.js";
import { countTokens, MESSAGE_OVERHEAD_TOKENS, truncateToTokens } from "../tokens.js";
import { createToolRegistry, type ToolRegistry } from "../tools/tool-registry.js";
import type { ChannelRef, Source } from "../types.js";
import { answerPrompt, condenseQuestionPrompt, passageTag } from "./prompt-templates.js";

export interface AnswerChainInput {
  message: InboundMessage;
  question: string;
  conversation: Conversation;
  notes: Note[];
  settings: ChannelSettings;
  reply: ReplyGuard;
  /** The answer's deadline: its signal ends every step, and approvals pause it. */
  deadline?: Deadline | undefined;
  /** This request's view of the LLM (its calls counted for the asker); the chain's own when absent. */
  llm?: LlmProvider | undefined;
  /**
   * Files attached to the question, read for this answer only: their passages come first (cited
   * like documents, by the file's name), their images go with the question.
   */
  attached?: Pick<QuestionAttachments, "passages" | "images"> | undefined;
}

/** The stored trace of an answer: the agent's trace plus what the chain itself decided. */
export type AnswerTrace = AgentTrace & {
  standaloneQuestion: string;
  /** The start of each passage's text, numbered like `passages`, for the `sources` command. */
  passageExcerpts: string[];
};

export interface AnswerChainResult {
  text: string;
  sources: Source[];
  passages: Passage[];
  model: string;
  finishReason: FinishReason;
  usage: TokenUsage | undefined;
  standaloneQuestion: string;
  promptTokens: number;
  trace: AnswerTrace;
}

/** Tools for the answer: with any registered, the answer runs through the agent loop. */
export interface AgentSetup {
  tools: ToolRegistry;
  /** Narrows the tools per channel (an MCP allowlist); `tools` when absent. */
  toolsFor?: ((channel: ChannelRef) => ToolRegistry) | undefined;
  approvals: ApprovalGate;
  budgets: AgentBudgets;
}

export interface AnswerChainOptions {
  llm: LlmProvider;
  retriever: Retriever;
  memory: ConversationMemory;
  budget: PromptBudget;
  allowGeneralKnowledgeByDefault: boolean;
  logger: Logger;
  agent?: AgentSetup | undefined;
  now?: () => Date;
  /** Token counts shared with memory, so each text is encoded once (`TokenCache`). */
  tokens?: TokenCache | undefined;
}

export function messageTokens(messages: ChatMessage[]): number {
  return messages.reduce(
    (sum, message) => sum + countTokens(message.content ?? "") + MESSAGE_OVERHEAD_TOKENS,
    0,
  );
}

/**
 * Retrieval is scoped to the asker's channel and the workspace-wide documents; a guest from another
 * organisation sees the channel's own documents only.
 */
export function scopeOf(message: InboundMessage): QueryScope {
  return message.isExternal === true
    ? { ...channelOf(message), channelDocumentsOnly: true }
    : channelOf(message);
}

/**
 * Keeps passages within their share of the budget, best first. `known` collects the stored counts of
 * their texts, and the counts of their tag lines, for counting this prompt: neither is put in the
 * cache (see `TokenCache.messages`), where each message's ~5 new tag lines would outlive it.
 * `inOrder` gets each kept passage's tag line and text, in the order the prompt has them.
 */
function fitPassages(
  passages: Passage[],
  budget: number,
  tokens: TokenCache,
  known: Map<string, number>,
  inOrder: string[],
): Passage[] {
  const kept: Passage[] = [];
  let used = 0;
  for (const passage of passages) {
    if (passage.tokens !== undefined) known.set(passage.text, passage.tokens);
    const cost = (passage.tokens ?? tokens.count(passage.text)) + 40;
    if (used + cost > budget) break;
    // Its tag line is counted for this prompt only: it names the passage's number in this answer.
    const tag = passageTag(passage, kept.length);
    known.set(tag, tokens.countOnce(tag));
    inOrder.push(tag, passage.text);
    kept.push(passage);
    used += cost;
  }
  return kept;
}

/** The passages the answer cites as [n], or all of them when it cites none explicitly. */
function citedSources(text: string, passages: Passage[]): Source[] {
  const cited = new Set([...text.matchAll(/\[(\d+)\]/g)].map((match) => Number(match[1])));
  const all = passages.map(sourceOfPassage);
  const chosen = all.filter((source) => cited.has(source.index));
  return chosen.length > 0 ? chosen : all;
}

/**
 * Prompt chain v1: condense a follow-up into a standalone question (only when there is history and
 * something to retrieve), retrieve, then answer with persona, notes and memory, streamed to the reply.
 */
export class AnswerChain {
  private readonly tokens: TokenCache;

  constructor(private readonly options: AnswerChainOptions) {
    this.tokens = options.tokens ?? new TokenCache();
  }

  async condense(input: AnswerChainInput, signal?: AbortSignal): Promise<string> {
    const { memory } = this.options;
    const llm = input.llm ?? this.options.llm;
    const window = memory.window(input.conversation);
    if (window.length === 0) return input.question;
    const completion = await llm.complete({
      messages: condenseQuestionPrompt({
        summary: input.conversation.summary,
        turns: recentWindow(window, 1_000),
        question: input.question,
      }),
      maxTokens: 200,
      temperature: 0,
      signal,
    });
    const standalone = completion.text.trim();
    return standalone.length > 0 ? standalone : input.question;
  }

  buildPrompt(
    input: AnswerChainInput,
    passages: Passage[],
    generalKnowledgeFallback: boolean,
    documentsOnlyMiss = false,
  ): { messages: ChatMessage[]; passages: Passage[]; tokens: number } {
    const { budget, memory } = this.options;
    const now = this.options.now?.() ?? new Date();
    const questionLimit = Math.floor(budget.total * 0.15);
    // Most questions fit: counting them (once, cached for their turn) is cheaper than truncating.
    const question =
      this.tokens.count(input.question) <= questionLimit
        ? input.question
        : truncateToTokens(input.question, questionLimit);
    const known = new Map<string, number>();
    const inOrder: string[] = [];
    let kept = fitPassages(passages, budget.passages, this.tokens, known, inOrder);
    let turns = memory.window(input.conversation);
    let notes = input.notes;
    const build = () =>
      answerPrompt({
        persona: input.settings.persona,
        notes,
        summary: input.conversation.summary,
        turns,
        passages: kept,
        generalKnowledgeFallback,
        documentsOnlyMiss,
        question,
        askerId: input.message.userId,
        askerName: input.message.userName,
        now,
      });
    let messages = build();
    let tokens = this.tokens.messages(messages, known, inOrder);
    // The shares keep us within budget in practice; a very long persona or many notes can still
    // overflow, so shed the least valuable material until the prompt fits.
    while (tokens > budget.total) {
      if (turns.length > 0) turns = turns.slice(1);
      else if (kept.length > 0) kept = kept.slice(0, -1);
      else if (notes.length > 0) notes = notes.slice(1);
      else break;
      messages = build();
      tokens = this.tokens.messages(messages, known, inOrder);
    }
    const images = input.attached?.images ?? [];
    const last = messages.at(-1);
    if (images.length > 0 && last?.role === "user") {
      messages = [...messages.slice(0, -1), { ...last, images }];
    }
    return { messages, passages: kept, tokens };
  }

  /**
   * Answers through the agent loop: with the channel's tools when there are any, else as one
   * streamed step with no tools. A docs-only channel whose documents have nothing on the question
   * gets the not-found sentence instead (with tools, only when the model used none).
   */
  async run(input: AnswerChainInput, signal = input.deadline?.signal): Promise<AnswerChainResult> {
    const startedAt = Date.now();
    const found = await this.retrieve(input, signal);
    const { standaloneQuestion, passages, hasDocuments, fromAttachments } = found;
    const allowGeneral = input.settings.allowGeneralKnowledge ?? this.options.allowGeneralKnowledgeByDefault;
    const agent = this.options.agent;
    const tools = agent ? (agent.toolsFor?.(input.message) ?? agent.tools) : undefined;
    const canAct = tools !== undefined && tools.definitions().length > 0;
    const missed = hasDocuments && passages.length === 0 && !fromAttachments;
    if (missed && !allowGeneral && !canAct) {
      await input.reply.append(NOT_FOUND_IN_DOCUMENTS);
      return this.notFound(standaloneQuestion, 0, startedAt, "none");
    }
    const documentsOnlyMiss = missed && !allowGeneral;
    const generalKnowledgeFallback = missed && allowGeneral;
    // The policy, stated in the answer whenever it decides where the answer comes from: with nothing
    // indexed here yet every answer is general knowledge; with documents, a miss is answered from
    // general knowledge only where the channel allows it (and refused with the reason otherwise).
    // The note goes out with the model's first words, not before them: a model that fails before
    // answering leaves only its failure sentence, not a note for an answer that never came.
    const originNote = generalKnowledgeFallback
      ? GENERAL_KNOWLEDGE_NOTE
      : hasDocuments || fromAttachments
        ? undefined
        : NO_DOCUMENTS_NOTE;
    const out: ReplySink = originNote ? new NoteBeforeFirstText(input.reply, originNote) : input.reply;
    const prompt = this.buildPrompt(input, passages, generalKnowledgeFallback, documentsOnlyMiss);
    // In a docs-only channel with nothing found, the model may act through a tool; a reply that
    // used none is replaced by the plain not-found sentence, so no general-knowledge answer leaks.
    const held = documentsOnlyMiss ? new HeldTextSink(input.reply) : undefined;
    const outcome = await runAgent({
      llm: input.llm ?? this.options.llm,
      messages: prompt.messages,
      tools: canAct ? tools : NO_TOOLS,
      context: this.agentContext(input, signal),
      sink: held ?? out,
      budgets: canAct && agent ? agent.budgets : ONE_STEP,
      approvals: agent?.approvals,
      passages: prompt.passages,
      model: input.settings.model,
      temperature: input.settings.temperature,
    });
    if (held && outcome.trace.toolCalls.length === 0) {
      await input.reply.append(NOT_FOUND_IN_DOCUMENTS);
      return this.notFound(standaloneQuestion, prompt.tokens, startedAt, outcome.model);
    }
    if (held) await out.append(held.text);
    let text = outcome.text;
    if (outcome.finishReason === "length") {
      text += LENGTH_LIMIT_NOTE;
      await out.append(LENGTH_LIMIT_NOTE);
    } else if (outcome.finishReason === "content_filter") {
      throw new AppError("llm_bad_request", "content filter stopped the answer", {
        category: "user",
        userMessage: "The model's content filter stopped this answer. Try rephrasing the question.",
      });
    }
    if (text.trim().length === 0) throw emptyAnswer();
    return {
      text,
      // Without tools the passages are the retrieved ones only, and the answer lists those it cites
      // (all when it cites none); with tools, one source per document the run found, as before.
      sources: canAct ? outcome.sources : citedSources(text, outcome.passages),
      passages: outcome.passages,
      model: outcome.model,
      finishReason: outcome.finishReason === "length" ? "length" : "stop",
      usage: outcome.trace.totals,
      standaloneQuestion,
      promptTokens: prompt.tokens,
      // The agent's trace and the chain's two fields, in this order. `Object.assign` rather than a
      // spread followed by new properties, which on Node 20 gets a hidden class of its own every time.
      trace: Object.assign({}, outcome.trace, {
        standaloneQuestion,
        passageExcerpts: outcome.passages.map((passage) => passage.text.slice(0, 300)),
      }),
    };
  }

  /**
   * The passages for the question: the indexed documents' (searched with the question made
   * standalone, when there are any here), after the files attached to the question.
   */
  private async retrieve(input: AnswerChainInput, signal: AbortSignal | undefined) {
    const { retriever, logger } = this.options;
    const scope = scopeOf(input.message);
    let standaloneQuestion = input.question;
    let retrieved: Passage[] = [];
    const hasDocuments = await retriever.hasDocuments(scope);
    if (hasDocuments) {
      await input.reply.status("Searching the team's documents…");
      standaloneQuestion = await this.condense(input, signal);
      retrieved = await retriever.retrieve(standaloneQuestion, scope, signal);
      logger.debug({ passages: retrieved.length }, "retrieved passages");
    }
    // Files attached to the question are what it is about: they come first, and with them the
    // answer is not a miss of the indexed docs nor general knowledge.
    const attachedPassages = input.attached?.passages ?? [];
    const fromAttachments = attachedPassages.length > 0 || (input.attached?.images.length ?? 0) > 0;
    return {
      standaloneQuestion,
      passages: [...attachedPassages, ...retrieved],
      hasDocuments,
      fromAttachments,
    };
  }

  private agentContext(input: AnswerChainInput, signal: AbortSignal | undefined): AgentContext {
    return {
      conversation: input.message,
      askerId: input.message.userId,
      askerName: input.message.userName,
      isAdmin: input.message.isAdmin && input.message.isExternal !== true,
      askerText: input.message.text,
      knowledgeScope: scopeOf(input.message),
      logger: this.options.logger,
      signal,
      deadline: input.deadline,
    };
  }

  /** The not-found sentence as the answer, with a trace of the same shape (no step when no model ran). */
  private notFound(
    standaloneQuestion: string,
    promptTokens: number,
    startedAt: number,
    model: string,
  ): AnswerChainResult {
    const text = NOT_FOUND_IN_DOCUMENTS;
    const totalMilliseconds = Date.now() - startedAt;
    const completionTokens = this.tokens.count(text);
    const steps =
      model === "none"
        ? []
        : [
            {
              step: 1,
              model,
              promptTokens,
              completionTokens,
              estimatedUsage: true,
              milliseconds: totalMilliseconds,
              finishReason: "stop" as const,
            },
          ];
    return {
      text,
      sources: [],
      passages: [],
      model,
      finishReason: "stop",
      usage: undefined,
      standaloneQuestion,
      promptTokens,
      trace: {
        model,
        startedAt,
        totalMilliseconds,
        finishReason: "stop",
        passages: [],
        steps,
        toolCalls: [],
        totals:
          steps.length > 0 ? { promptTokens, completionTokens } : { promptTokens: 0, completionTokens: 0 },
        standaloneQuestion,
        passageExcerpts: [],
      },
    };
  }
}

/** What an answer with no tools runs with: one streamed step, bounded by the answer's own deadline. */
const NO_TOOLS = createToolRegistry();
const ONE_STEP: AgentBudgets = {
  maxSteps: 1,
  maxTokens: Number.MAX_SAFE_INTEGER,
  // No limit of its own: the answer's deadline ends the run.
  maxMilliseconds: LONGEST_DEADLINE,
};

const LENGTH_LIMIT_NOTE = "\n\n_(The answer hit the model's length limit and stops here.)_";

export const NOT_FOUND_IN_DOCUMENTS =
  "I found nothing about that in the indexed docs. Try other words, or ask an admin to index the document that has the answer. " +
  "(This channel answers only from its documents; an admin can allow general knowledge with `config general-knowledge on`.)";

const GENERAL_KNOWLEDGE_NOTE =
  "_Nothing in the indexed docs matched, so this answer is from general knowledge._\n\n";

export const NO_DOCUMENTS_NOTE =
  "_No documents are indexed here yet, so this answer is from general knowledge; `index` teaches me yours._\n\n";

/**
 * Holds the model's text back while passing status lines and approval requests through at once,
 * so the chain can decide after the run whether the text may be shown.
 */
class HeldTextSink implements ReplySink {
  text = "";
  readonly requestApproval?: (prompt: ApprovalPrompt) => Promise<void>;

  constructor(private readonly reply: ReplyGuard) {
    const requestApproval = reply.requestApproval;
    if (requestApproval) this.requestApproval = (prompt) => requestApproval(prompt);
  }

  async start(): Promise<void> {}
  async append(text: string): Promise<void> {
    this.text += text;
  }
  status(line: string): Promise<void> {
    return this.reply.status(line);
  }
  async finish(): Promise<void> {}
  fail(message: string): Promise<void> {
    return this.reply.fail(message);
  }
}

/** Passes everything through, with a note put before the first non-empty text. */
class NoteBeforeFirstText implements ReplySink {
  readonly requestApproval?: (prompt: ApprovalPrompt) => Promise<void>;
  private noted = false;

  constructor(
    private readonly reply: ReplyGuard,
    private readonly note: string,
  ) {
    const requestApproval = reply.requestApproval;
    if (requestApproval) this.requestApproval = (prompt) => requestApproval(prompt);
  }

  start(options: ReplyStart): Promise<void> {
    return this.reply.start(options);
  }
  append(text: string): Promise<void> {
    if (this.noted || text.length === 0) return this.reply.append(text);
    this.noted = true;
    return this.reply.append(this.note + text);
  }
  status(line: string): Promise<void> {
    return this.reply.status(line);
  }
  finish(result: ReplyFinish): Promise<void> {
    return this.reply.finish(result);
  }
  fail(message: string): Promise<void> {
    return this.reply.fail(message);
  }
}

function emptyAnswer(): AppError {
  return new AppError("llm_bad_request", "the model returned an empty answer", {
    category: "third_party",
    userMessage: "The model returned an empty answer. Please try again.",
  });
}
