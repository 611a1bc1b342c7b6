import type { ChatMessage } from "../ports/llm-provider.js";
import type { Turn } from "../ports/memory-store.js";

export interface SummarizeInput {
  previousSummary: string;
  turns: Turn[];
  maxTokens: number;
}

/** fold-summary: folds older turns into the rolling summary, keeping facts, decisions and who said what. */
export function summarizePrompt(input: SummarizeInput): ChatMessage[] {
  return [
    {
      role: "system",
      content:
        `You maintain the running memory of a team chat conversation. Merge the previous summary and the new messages into one updated summary of at most ${input.maxTokens} tokens. ` +
        "Keep every fact, preference, decision, name, number and open question; attribute statements to their speakers; drop small talk. Reply with the summary only.",
    },
    {
      role: "user",
      content: `Previous summary:\n${input.previousSummary || "(none)"}\n\nNew messages:\n${input.turns
        .map((turn) =>
          turn.role === "assistant"
            ? `teammate: ${turn.text}`
            : `${turn.speakerName} (${turn.speakerId}): ${turn.text}`,
        )
        .join("\n")}`,
    },
  ];
}
