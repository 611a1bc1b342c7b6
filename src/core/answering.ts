import { randomUUID } from "node:crypto";
import { answerButtons } from "./actions/answer-actions.js";
import { type Arrival, earlierMessages, isStoreDown, takesPart } from "./arrival.js";
import {
  QUESTION_FOR_BARE_FILES,
  type QuestionAttachments,
  readQuestionAttachments,
} from "./attachments/question-attachments.js";
import { type AnswerChain, type AnswerChainResult, scopeOf } from "./chains/answer-chain.js";
import { channelOf, conversationOf } from "./channel-of.js";
import { NO_LLM_MESSAGE } from "./commands/no-llm.js";
import { createDeadline, type Deadline, raceWithSignal } from "./deadline.js";
import { AppError } from "./errors.js";
import { sourceOfPassage } from "./knowledge/passage-source.js";
import type { ConversationMemory, PromptBudget } from "./memory/conversation-memory.js";
import type { InboundMessage } from "./ports/assistant-handler.js";
import type { AttachmentReader } from "./ports/attachment-reader.js";
import type { Passage, Retriever } from "./ports/knowledge.js";
import type { Logger } from "./ports/logger.js";
import type { ChannelSettings, Conversation, MemoryStore, Note, Turn } from "./ports/memory-store.js";
import type { ReplyGuard } from "./reply-guard.js";
import type { Source } from "./types.js";
import type { MeteredRequest } from "./usage/usage-meter.js";
import { type PlaceInLine, WorkLine } from "./work-line.js";

/** Said above an answer given while the memory store is down. */
const MEMORY_DOWN_NOTE =
  "_My memory is unavailable right now, so I'm answering without this conversation's history, and I won't remember this exchange._";

function answerTimedOut(milliseconds: number): AppError {
  const seconds = Math.round(milliseconds / 1000);
  return new AppError("answer_timeout", `answer took longer than ${milliseconds} ms`, {
    category: "system",
    userMessage: `I couldn't finish this answer within its ${seconds}-second limit, so I stopped. Please try again in a moment.`,
  });
}

export interface AnsweringOptions {
  store: MemoryStore;
  memory: ConversationMemory;
  /** Absent without an LLM: questions are searched only, or get a sentence. */
  chain: AnswerChain | undefined;
  retriever: Retriever;
  budget: PromptBudget;
  logger: Logger;
  attachments: AttachmentReader | undefined;
  acceptsImages: boolean;
  answerTimeoutMs: number;
  stillWorkingAfterMs: number;
  maxConcurrentAnswers: number;
  now: () => number;
}

/** What the answer needs from memory, loaded once for the message. */
interface Remembered {
  conversation: Conversation;
  notes: Note[];
  settings: ChannelSettings;
}

/**
 * The message path from a question to a saved answer: the answer line and its deadline, files
 * attached to the question, memory (or an answer without it), the chain, the stored answer with its
 * buttons, and the turn remembered.
 */
export class Answering {
  private readonly answerLine: WorkLine;

  constructor(private readonly options: AnsweringOptions) {
    this.answerLine = new WorkLine(options.maxConcurrentAnswers);
  }

  /**
   * Runs LLM work for one reply: a first sign at once (before any wait), a place in the answer line,
   * one deadline from arrival to the last word, and a "still working" line whenever nothing new has
   * been shown for a while. Whatever the work does, it ends (or fails) by the deadline.
   */
  async inAnswerLine(reply: ReplyGuard, work: (deadline: Deadline) => Promise<void>): Promise<void> {
    const { answerTimeoutMs, stillWorkingAfterMs, logger } = this.options;
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
      await this.answerLine.run(() => raceWithSignal(work(deadline), deadline.signal), {
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

  /**
   * Answers a question. `arrival` is what core read when the message came in (absent for a question
   * a command asks on its own): memory is not read twice.
   */
  async answer(
    message: InboundMessage,
    question: string,
    reply: ReplyGuard,
    metered: MeteredRequest | undefined,
    arrival: Arrival | undefined,
  ): Promise<void> {
    const { chain, retriever } = this.options;
    if (!chain) {
      if (await retriever.hasDocuments(scopeOf(message))) return this.searchOnly(message, question, reply);
      await reply.say(NO_LLM_MESSAGE, "asker");
      return;
    }
    // Before anything that could reach the endpoint (condensing, embeddings, the answer itself).
    const refusal = await metered?.refusal();
    if (refusal) {
      await reply.say(refusal, "asker");
      return;
    }
    const known: Arrival = arrival ?? {
      message,
      placement: "thread",
      settings: undefined,
      conversation: undefined,
      memoryDown: false,
    };
    await this.inAnswerLine(reply, (deadline) =>
      this.answerNow(chain, { message, question, reply, deadline, metered, arrival: known }),
    );
  }

  private async searchOnly(message: InboundMessage, question: string, reply: ReplyGuard): Promise<void> {
    const passages: Passage[] = await this.options.retriever.retrieve(question, scopeOf(message));
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

  private async answerNow(chain: AnswerChain, request: AnswerRequest): Promise<void> {
    const { message, reply, deadline, metered } = request;
    const read = await this.readAttachments(request);
    if (!read) return;
    const { question, attached } = read;
    const remembered = request.arrival.memoryDown
      ? undefined
      : await this.recall(message, request.arrival).catch((error: unknown) => {
          if (!isStoreDown(error)) throw error;
          this.options.logger.warn({ err: error }, "memory store unavailable: answering without memory");
          return undefined;
        });
    const context = remembered ?? (await this.withoutMemory(message, reply));
    const result = await chain.run({
      message,
      question,
      ...context,
      reply,
      deadline,
      llm: metered?.llm,
      attached,
    });
    // Without memory nothing is saved, so there is nothing for buttons to refer to.
    if (!remembered) return reply.finish({ sources: result.sources, buttons: [] });
    await this.finishAndRemember({ ...request, question }, result, remembered.conversation);
  }

  /**
   * Reads the files attached to the question; undefined when the notes about them are the whole
   * reply (nothing readable, nothing asked).
   */
  private async readAttachments(
    request: AnswerRequest,
  ): Promise<{ question: string; attached: QuestionAttachments | undefined } | undefined> {
    const { message, reply, deadline } = request;
    if (message.attachments.length === 0) return { question: request.question, attached: undefined };
    const attached = await readQuestionAttachments({
      message,
      reader: this.options.attachments,
      acceptsImages: this.options.acceptsImages,
      tokenBudget: Math.floor(this.options.budget.passages * 0.6),
      logger: this.options.logger,
      signal: deadline.signal,
      onReading: (name) => reply.status(`Reading ${name}…`),
    });
    if (attached.notes.length > 0) {
      await reply.append(`${attached.notes.map((note) => `_${note}_`).join("\n")}\n\n`);
    }
    const asked = request.question.trim() !== "";
    if (attached.passages.length === 0 && attached.images.length === 0 && !asked) {
      await reply.finish({ sources: [], buttons: [] });
      return undefined;
    }
    return { question: asked ? request.question : QUESTION_FOR_BARE_FILES, attached };
  }

  /** The context of an answer with memory down: the thread as the platform has it, not kept. */
  private async withoutMemory(message: InboundMessage, reply: ReplyGuard): Promise<Remembered> {
    const { memory, logger } = this.options;
    await reply.append(`${MEMORY_DOWN_NOTE}\n\n`);
    const turns: Turn[] = (await earlierMessages(message, logger)).map((prior, index) => ({
      ...memory.newTurn(prior.fromAssistant ? "assistant" : "user", prior.userId, prior.userName, prior.text),
      seq: index + 1,
    }));
    return { conversation: { summary: "", turns }, notes: [], settings: {} };
  }

  /**
   * What the answer needs from memory: the conversation (loaded once, seeded with the thread's earlier
   * messages on first contact), notes, settings.
   */
  private async recall(message: InboundMessage, arrival: Arrival): Promise<Remembered> {
    const { store, memory, logger } = this.options;
    const channel = channelOf(message);
    const [loaded, notes, settings] = await Promise.all([
      arrival.conversation ?? store.loadConversation(message),
      store.listNotes(channel),
      arrival.settings ?? store.getSettings(channel),
    ]);
    if (takesPart(loaded)) return { conversation: loaded, notes, settings };
    const earlier = await earlierMessages(message, logger);
    if (earlier.length === 0) return { conversation: loaded, notes, settings };
    const seeded = await store.appendTurns(
      message,
      earlier.map((prior) =>
        memory.newTurn(prior.fromAssistant ? "assistant" : "user", prior.userId, prior.userName, prior.text),
      ),
    );
    return {
      conversation: { summary: loaded.summary, turns: [...loaded.turns, ...seeded] },
      notes,
      settings,
    };
  }

  /**
   * Stores the answer (its buttons refer to it) and the exchange's turns in one write, finishes the
   * reply, then folds the conversation if it outgrew its window.
   */
  private async finishAndRemember(
    request: AnswerRequest,
    result: AnswerChainResult,
    conversation: Conversation,
  ): Promise<void> {
    const { store, memory, logger, now } = this.options;
    const { message, question, reply, metered } = request;
    const answerId = randomUUID();
    const exchange = [
      memory.newTurn("user", message.userId, message.userName, question),
      memory.newTurn("assistant", "teammate", "teammate", result.text),
    ];
    const saved = await store
      .saveAnswer(
        {
          id: answerId,
          conversation: conversationOf(message),
          askerId: message.userId,
          question,
          answer: result.text,
          sources: result.sources,
          model: result.model,
          at: now(),
          trace: result.trace,
        },
        exchange,
      )
      .catch((error: unknown) => {
        if (!isStoreDown(error)) throw error;
        logger.warn({ err: error }, "answer and conversation turn not saved: the memory store failed");
        return undefined;
      });
    await reply.finish(
      saved
        ? { sources: result.sources, buttons: answerButtons(answerId, result.sources.length > 0), answerId }
        : { sources: result.sources, buttons: [] },
    );
    if (!saved) return;
    // The person has their answer; a fold that fails costs a longer window for now, not the reply.
    await memory.foldIfOverflowing(message, saved, metered?.llm, conversation).catch((error: unknown) => {
      logger.warn({ err: error }, "conversation not folded");
    });
  }
}

interface AnswerRequest {
  message: InboundMessage;
  question: string;
  reply: ReplyGuard;
  deadline: Deadline;
  metered: MeteredRequest | undefined;
  arrival: Arrival;
}
