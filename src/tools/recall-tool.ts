import { z } from "zod";
import { channelOf } from "../core/channel-of.js";
import type { NoteStore } from "../core/ports/memory-store.js";
import type { Tool } from "../core/ports/tool.js";

const input = z.object({
  query: z
    .string()
    .trim()
    .max(200)
    .optional()
    .describe("Only notes containing these words (case-insensitive); omit to list every note."),
});

/** `recall`: reads the channel's long-term notes, newest last. */
export function createRecallTool(memory: Pick<NoteStore, "listNotes">): Tool<z.output<typeof input>> {
  return {
    name: "recall",
    description:
      "List the notes this channel asked you to remember, optionally filtered by words they contain.",
    inputSchema: input,
    risk: "read",
    activity: "Reading the channel's notes…",
    async execute({ query }, context) {
      const notes = await memory.listNotes(channelOf(context.conversation));
      const words = (query ?? "").toLowerCase().split(/\s+/).filter(Boolean);
      const matching = notes.filter((note) => words.every((word) => note.text.toLowerCase().includes(word)));
      if (matching.length === 0)
        return notes.length === 0 ? "This channel has no notes." : "No note matches that.";
      return matching
        .map((note) => `- ${note.text} (${note.authorName}, ${new Date(note.at).toISOString().slice(0, 10)})`)
        .join("\n");
    },
  };
}
