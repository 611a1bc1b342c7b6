import { z } from "zod";
import { channelOf } from "../core/channel-of.js";
import type { NoteStore } from "../core/ports/memory-store.js";
import type { Tool } from "../core/ports/tool.js";

const input = z.object({
  text: z.string().trim().min(1).max(1_000).describe("The fact to remember, as one self-contained sentence."),
});

/**
 * `remember`: saves a long-term note for the channel. Risk `write`: it changes what the channel's
 * memory holds, so it needs the asker's (or an admin's) click.
 */
export function createRememberTool(memory: Pick<NoteStore, "addNote">): Tool<z.output<typeof input>> {
  return {
    name: "remember",
    description:
      "Save a note this channel should remember long-term (a decision, a preference, a fact about the team). " +
      "Only use it when someone asks you to remember something.",
    inputSchema: input,
    risk: "write",
    activity: "Saving a note…",
    async execute({ text }, context) {
      const note = await memory.addNote(channelOf(context.conversation), {
        text,
        authorId: context.askerId,
        authorName: context.askerName ?? context.askerId,
        at: Date.now(),
      });
      return `Saved note ${note.id}: ${note.text}`;
    },
  };
}
