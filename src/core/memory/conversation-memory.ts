import type { ChatModel } from "../ports/llm-provider.js";
import type { Logger } from "../ports/logger.js";
import type { Conversation, ConversationStore, NewTurn, Turn } from "../ports/memory-store.js";
import { TokenCache } from "../token-cache.js";
import { MESSAGE_OVERHEAD_TOKENS, truncateToTokens } from "../tokens.js";
import type { ConversationRef } from "../types.js";
import { summarizePrompt } from "./summarize-prompt.js";

/**
 * How a prompt's token budget is shared. The recent-turn window and the rolling summary together
 * never take more than `history + summary`; passages get their own share, so a long retrieval
 * cannot push the conversation out and a long conversation cannot push the documents out.
 */
export interface PromptBudget {
  total: number;
  history: number;
  summary: number;
  passages: number;
}

export function splitPromptBudget(total: number): PromptBudget {
  return {
    total,
    history: Math.floor(total * 0.4),
    summary: Math.floor(total * 0.1),
    passages: Math.floor(total * 0.3),
  };
}

function turnTokens(turn: Pick<Turn, "tokens">): number {
  return turn.tokens + MESSAGE_OVERHEAD_TOKENS;
}

/** The most recent turns whose tokens fit in `budget`, oldest first. */
export function recentWindow(turns: Turn[], budget: number): Turn[] {
  let used = 0;
  let start = turns.length;
  while (start > 0) {
    const cost = turnTokens(turns[start - 1] as Turn);
    if (used + cost > budget) break;
    used += cost;
    start--;
  }
  return turns.slice(start);
}

export interface ConversationMemoryOptions {
  store: ConversationStore;
  /** Without an LLM nothing is folded; the window still keeps prompts within budget. */
  llm: ChatModel | undefined;
  budget: PromptBudget;
  logger: Logger;
  now?: () => number;
  /** Shared with the answer chain, so a text counted for the prompt is not encoded again for its turn. */
  tokens?: TokenCache | undefined;
}

/**
 * Per-conversation memory under a token budget: recent turns verbatim, older turns folded by the
 * LLM into a rolling summary once the window overflows.
 */
export class ConversationMemory {
  private readonly store: ConversationStore;
  private readonly llm: ChatModel | undefined;
  private readonly budget: PromptBudget;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly tokens: TokenCache;

  constructor(options: ConversationMemoryOptions) {
    this.tokens = options.tokens ?? new TokenCache();
    this.store = options.store;
    this.llm = options.llm;
    this.budget = options.budget;
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
  }

  load(conversation: ConversationRef): Promise<Conversation> {
    return this.store.loadConversation(conversation);
  }

  /** Builds a turn with its token count, computed once here. */
  newTurn(role: Turn["role"], speakerId: string, speakerName: string, text: string): NewTurn {
    return { role, speakerId, speakerName, text, tokens: this.tokens.count(text), at: this.now() };
  }

  /** The turns that fit next to the summary in the history share of the budget. */
  window(conversation: Conversation): Turn[] {
    const summaryCost = conversation.summary
      ? this.tokens.count(conversation.summary) + MESSAGE_OVERHEAD_TOKENS
      : 0;
    return recentWindow(conversation.turns, Math.max(0, this.budget.history - summaryCost));
  }

  /**
   * Folds the oldest turns into the summary if the window overflowed with the turns just saved (by
   * the store, with the answer they belong to). `llm` is the request's own view of the model, so the
   * summary call is counted for the person who asked. `loaded` is the conversation as the caller read
   * it for this message: with it, memory does not read it again unless there is something to fold.
   */
  async foldIfOverflowing(
    conversation: ConversationRef,
    saved: Turn[],
    llm?: ChatModel,
    loaded?: Conversation,
  ): Promise<void> {
    if (loaded && !this.overflows({ summary: loaded.summary, turns: [...loaded.turns, ...saved] })) return;
    await this.foldIfNeeded(conversation, llm);
  }

  private overflows(conversation: Conversation): boolean {
    return conversation.turns.reduce((sum, turn) => sum + turnTokens(turn), 0) > this.budget.history;
  }

  /**
   * Folds the oldest turns until the remaining ones fill at most half the history share, so folding
   * happens every few turns rather than on every turn. A failed summary call leaves the turns in
   * place (the window still bounds the prompt) and is retried on a later turn.
   */
  async foldIfNeeded(conversation: ConversationRef, requestLlm?: ChatModel): Promise<boolean> {
    const llm = requestLlm ?? this.llm;
    if (!llm) return false;
    // Read again: another message of the same conversation may have folded it meanwhile.
    const current = await this.store.loadConversation(conversation);
    if (!this.overflows(current)) return false;
    const keep = recentWindow(current.turns, Math.floor(this.budget.history / 2));
    const folded = current.turns.slice(0, current.turns.length - keep.length);
    const last = folded.at(-1);
    if (!last) return false;
    try {
      const completion = await llm.complete({
        messages: summarizePrompt({
          previousSummary: current.summary,
          turns: folded,
          maxTokens: this.budget.summary,
        }),
        maxTokens: this.budget.summary,
        temperature: 0,
      });
      const summary = truncateToTokens(completion.text.trim(), this.budget.summary);
      await this.store.foldTurns(conversation, last.seq, summary);
      this.logger.debug(
        // Through the shared cache: the next message's window counts this summary again.
        { foldedTurns: folded.length, summaryTokens: this.tokens.count(summary) },
        "folded turns into summary",
      );
      return true;
    } catch (error) {
      this.logger.warn({ err: error }, "could not fold turns into the summary; keeping them for now");
      return false;
    }
  }
}
