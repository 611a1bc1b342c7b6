import { z } from "zod";
import { channelOf } from "../core/channel-of.js";
import type { Passage, Retriever } from "../core/ports/knowledge.js";
import type { Tool } from "../core/ports/tool.js";

export interface SearchDocsToolOptions {
  /** At most this many passages per call (the retriever may return fewer). */
  maxPassages?: number;
}

const input = z.object({
  query: z.string().trim().min(1).max(500).describe("What to look for, as a short question or keywords."),
});

/**
 * `search_docs`: retrieval over the team's indexed documents, always in the asker's scope (their
 * platform, workspace and channel, narrower for a guest from another organisation; the model cannot
 * widen it, since the scope is not an argument).
 * Passages come back numbered in the answer's shared citation numbering so the model can cite `[n]`.
 */
export function createSearchDocsTool(
  retriever: Retriever,
  options: SearchDocsToolOptions = {},
): Tool<z.output<typeof input>> {
  const maxPassages = options.maxPassages ?? 6;
  return {
    name: "search_docs",
    description:
      "Search the team's indexed documents (the ones this channel may see). Returns numbered passages; " +
      "cite them in the answer as [n]. Use it for any question about the team's own work, processes or docs.",
    inputSchema: input,
    risk: "read",
    activity: "Searching the docs…",
    async execute({ query }, context) {
      const scope = context.knowledgeScope ?? channelOf(context.conversation);
      const passages = (await retriever.retrieve(query, scope, context.signal)).slice(0, maxPassages);
      if (passages.length === 0) return "No indexed document matched that query.";
      return {
        text: passages.map((passage) => formatPassage(context.sources.add(passage), passage)).join("\n\n"),
        passages,
      };
    },
  };
}

function formatPassage(index: number, passage: Passage): string {
  const heading = passage.headingPath.length > 0 ? ` › ${passage.headingPath.join(" › ")}` : "";
  return `[${index}] ${passage.title}${heading} (${passage.location})\n${passage.text}`;
}
