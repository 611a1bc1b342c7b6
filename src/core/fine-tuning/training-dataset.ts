import { DEFAULT_PERSONA, renderTurn } from "../chains/prompt-templates.js";
import type { FineTuneStore } from "../ports/fine-tune-store.js";
import type { AnswerLog, ChannelSettingsStore, ConversationStore, Turn } from "../ports/memory-store.js";
import type { ChannelRef } from "../types.js";

/** One message of OpenAI's chat fine-tuning format. */
interface TrainingMessage {
  role: "system" | "user" | "assistant" | "tool";
  content: string | null;
  tool_calls?: Array<{ id: string; type: "function"; function: { name: string; arguments: string } }>;
  tool_call_id?: string;
}

interface TrainingExample {
  messages: TrainingMessage[];
}

export interface TrainingDataset {
  examples: TrainingExample[];
  /** One example per line, newline-terminated. */
  jsonl: string;
  /** Answers with at least one 👍 and no 👎, used. */
  upvotedAnswers: number;
  /** Answers with a 👎, left out whatever else they got. */
  downvotedAnswers: number;
  /** Marked threads used. */
  markedThreads: number;
  /** Marked threads with nothing to learn from (no reply of mine, or forgotten since). */
  skippedThreads: number;
}

// Citations point at passages the training example does not contain; keeping them would teach the
// model to cite sources it was never shown.
const CITATION = /\s?\[\d+\](?!\()/g;

function withoutCitations(text: string): string {
  return text.replace(CITATION, "").trim();
}

/** A thread's turns as alternating user/assistant messages that end with an assistant reply. */
function threadMessages(turns: Turn[]): TrainingMessage[] {
  const messages: TrainingMessage[] = [];
  for (const turn of turns) {
    const role = turn.role;
    const content = role === "assistant" ? withoutCitations(turn.text) : renderTurn(turn);
    if (content.length === 0) continue;
    if (messages.length === 0 && role === "assistant") continue;
    const previous = messages.at(-1);
    if (previous && previous.role === role) previous.content = `${previous.content ?? ""}\n\n${content}`;
    else messages.push({ role, content });
  }
  while (messages.length > 0 && messages.at(-1)?.role !== "assistant") messages.pop();
  return messages;
}

/**
 * Builds the channel's chat-format training set: every answer that got a 👍 and no 👎 (the
 * question and the answer as asked), and every thread an admin marked with `finetune mark`, each
 * under the channel's persona as the system message so the model learns the channel's voice.
 */
export async function buildTrainingDataset(options: {
  store: ConversationStore & ChannelSettingsStore & AnswerLog;
  fineTuneStore: FineTuneStore;
  channel: ChannelRef;
}): Promise<TrainingDataset> {
  const { store, fineTuneStore, channel } = options;
  const settings = await store.getSettings(channel);
  const system: TrainingMessage = { role: "system", content: settings.persona?.trim() || DEFAULT_PERSONA };

  const votes = new Map<
    string,
    { up: number; down: number; answer: { question: string; answer: string; at: number } }
  >();
  for (const feedback of await store.listFeedback(channel)) {
    const entry = votes.get(feedback.answerId) ?? { up: 0, down: 0, answer: feedback.answer };
    if (feedback.vote === "up") entry.up += 1;
    else entry.down += 1;
    votes.set(feedback.answerId, entry);
  }
  const examples: TrainingExample[] = [];
  let upvotedAnswers = 0;
  let downvotedAnswers = 0;
  for (const entry of [...votes.values()].sort((a, b) => a.answer.at - b.answer.at)) {
    if (entry.down > 0) {
      downvotedAnswers += 1;
      continue;
    }
    upvotedAnswers += 1;
    examples.push({
      messages: [
        system,
        { role: "user", content: entry.answer.question },
        { role: "assistant", content: withoutCitations(entry.answer.answer) },
      ],
    });
  }

  let markedThreads = 0;
  let skippedThreads = 0;
  for (const threadId of await fineTuneStore.listMarkedThreads(channel)) {
    const conversation = await store.loadConversation({ ...channel, threadId });
    const messages = threadMessages(conversation.turns);
    if (messages.length < 2) {
      skippedThreads += 1;
      continue;
    }
    markedThreads += 1;
    examples.push({ messages: [system, ...messages] });
  }

  return {
    examples,
    jsonl: examples.map((example) => `${JSON.stringify(example)}\n`).join(""),
    upvotedAnswers,
    downvotedAnswers,
    markedThreads,
    skippedThreads,
  };
}
