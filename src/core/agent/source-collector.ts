import { sourceOfPassage } from "../knowledge/passage-source.js";
import type { Passage } from "../ports/knowledge.js";
import type { SourceCollector } from "../ports/tool.js";
import type { Source } from "../types.js";

/**
 * One citation numbering per answer. The same passage found twice keeps its first number, so a
 * second `search_docs` call cannot renumber what the model already cited.
 */
export function createSourceCollector(initial: Passage[] = []): SourceCollector {
  const passages: Passage[] = [];
  const indexByKey = new Map<string, number>();
  const collector: SourceCollector = {
    add(passage) {
      const key = `${passage.documentId}\u0000${passage.text}`;
      const existing = indexByKey.get(key);
      if (existing !== undefined) return existing;
      passages.push(passage);
      indexByKey.set(key, passages.length);
      return passages.length;
    },
    list: () => [...passages],
  };
  for (const passage of initial) collector.add(passage);
  return collector;
}

/**
 * The sources an answer lists, one per document, numbered as the answer cites them. A document whose
 * passages got several numbers is listed under its first.
 */
export function sourcesFromPassages(passages: Passage[]): Source[] {
  const seen = new Set<string>();
  const sources: Source[] = [];
  passages.forEach((passage, position) => {
    if (seen.has(passage.documentId)) return;
    seen.add(passage.documentId);
    sources.push(sourceOfPassage(passage, position));
  });
  return sources;
}
