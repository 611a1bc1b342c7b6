import { z } from "zod";
import type { Tool } from "../core/ports/tool.js";
import type { ConversationRef } from "../core/types.js";

/** One message of the current thread as the platform adapter (or memory) returns it. */
export interface ThreadMessage {
  speakerName: string;
  text: string;
  /** Epoch milliseconds, when known. */
  at?: number | undefined;
}

/**
 * Reads the latest messages of a conversation, oldest first. Injected by the composition root: the
 * platform adapter's history API (Slack `conversations.replies`, Discord channel messages) or the
 * conversation memory, whichever the deployment has.
 */
export type ReadThread = (
  conversation: ConversationRef,
  limit: number,
  signal: AbortSignal,
) => Promise<ThreadMessage[]>;

const input = z.object({
  limit: z
    .number()
    .int()
    .min(1)
    .max(200)
    .default(50)
    .describe("How many of the latest messages to read (default 50)."),
});

/**
 * `summarize_thread`: hands the model the current thread's transcript, speakers kept apart, so the
 * model writes the summary itself in the same answer (no second LLM call, and the summary follows the
 * channel's persona). The registry caps the transcript in tokens.
 */
export function createSummarizeThreadTool(readThread: ReadThread): Tool<z.output<typeof input>> {
  return {
    name: "summarize_thread",
    description:
      "Get the messages of the current thread (or channel, outside a thread) so you can summarize them, " +
      "list decisions or answer questions about the discussion.",
    inputSchema: input,
    risk: "read",
    maxOutputTokens: 4_000,
    activity: "Reading the thread…",
    async execute({ limit }, context) {
      const messages = await readThread(context.conversation, limit, context.signal);
      if (messages.length === 0) return "The thread has no messages yet.";
      return messages
        .map((message) => {
          const time =
            message.at === undefined ? "" : `[${new Date(message.at).toISOString().slice(0, 16)}Z] `;
          return `${time}${message.speakerName}: ${message.text}`;
        })
        .join("\n");
    },
  };
}
