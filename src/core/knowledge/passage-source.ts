import type { Passage } from "../ports/knowledge.js";
import type { Source } from "../types.js";

/**
 * The source a passage is listed as: numbered from 1 by its position in the prompt, which is the
 * `[n]` the answer cites it by. Shaped to be passed to `map` directly.
 */
export function sourceOfPassage(
  passage: Pick<Passage, "title" | "location" | "documentId">,
  position: number,
): Source {
  return {
    index: position + 1,
    title: passage.title,
    location: passage.location,
    documentId: passage.documentId,
  };
}
