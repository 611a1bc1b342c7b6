import type { QueryScope } from "./vector-store.js";

/** A retrieved passage handed to the answer chain, numbered for citation. */
export interface Passage {
  documentId: string;
  title: string;
  location: string;
  headingPath: string[];
  text: string;
  score: number;
  /** Tokens of `text` when the store kept the count, so the prompt need not encode it again. */
  tokens?: number | undefined;
}

/**
 * The retrieval hook of the answer chain. The foundation ships `noKnowledge` (nothing indexed);
 * the knowledge module fills it with hybrid search over the VectorStore.
 */
export interface Retriever {
  /** Whether any document is indexed for this scope; without any, the chain skips retrieval. */
  hasDocuments(scope: QueryScope): Promise<boolean>;
  retrieve(question: string, scope: QueryScope, signal?: AbortSignal): Promise<Passage[]>;
}

export const noKnowledge: Retriever = {
  hasDocuments: async () => false,
  retrieve: async () => [],
};
