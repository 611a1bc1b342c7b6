import { toAppError } from "../errors.js";
import type { Passage, Retriever } from "../ports/knowledge.js";
import { type Logger, silentLogger } from "../ports/logger.js";
import type { QueryScope, ScoredChunk, VectorStore } from "../ports/vector-store.js";
import { analyze } from "./analyzer.js";

export interface RetrieverOptions {
  store: VectorStore;
  /** Embeds texts (the LLM provider's `embed`); without it retrieval is BM25 alone. */
  embed?: ((texts: string[], signal?: AbortSignal) => Promise<number[][]>) | undefined;
  /** Passages returned at most; 5 by default. */
  topK?: number;
  /** Passages from one document at most, so one long document cannot fill every slot; 2 by default. */
  maxPerDocument?: number;
  /** Candidates fetched from the store before the floor and diversity; 4 × topK (at least 20) by default. */
  candidates?: number;
  /** Distinct query terms a passage must contain, at least (capped at the query's own count); 2 by default. */
  minimumMatchedTerms?: number;
  /** Fraction of the distinct query terms a passage must contain; 0.2 by default. */
  minimumCoverage?: number;
  /** Fraction of the best candidate's score a passage must reach; 0.3 by default. */
  minimumRelativeScore?: number;
  /** Where an embedding failure is reported before falling back to BM25 alone. */
  logger?: Logger;
}

/**
 * Retrieval for the answer chain: analyze the question, fetch candidates from the store (hybrid
 * dense + BM25 fused by RRF when an embedder is configured, else BM25), drop candidates under the
 * relevance floor, keep at most `maxPerDocument` per document, return the top `topK` passages.
 *
 * The floor is lexical because store scores are not comparable across stores or queries (BM25 is
 * unnormalized, RRF is rank-based). A passage must contain enough of the question's informative terms
 * (stopwords are already gone; CJK text counts in character bigrams) and score within a fraction of the
 * best candidate. A question sharing at most one incidental word with the indexed documents therefore
 * gets no passages, and the answer chain says it found nothing. On the SciFact and ko-welfare-qa train
 * splits (500 questions each) the defaults cost 2% and 3% of the relevant passages a floorless top 5
 * would hold, and leave 2 and 1 questions with no passage. A pure paraphrase that shares no term with the right passage is dropped even with dense
 * vectors: a known limit of a lexical floor.
 */
export function createRetriever(options: RetrieverOptions): Retriever {
  const topK = options.topK ?? 5;
  const maxPerDocument = options.maxPerDocument ?? 2;
  const candidates = options.candidates ?? Math.max(20, topK * 4);
  const minimumMatchedTerms = options.minimumMatchedTerms ?? 2;
  const minimumCoverage = options.minimumCoverage ?? 0.2;
  const minimumRelativeScore = options.minimumRelativeScore ?? 0.3;
  const logger = options.logger ?? silentLogger;
  const { store, embed } = options;

  async function embedQuestion(question: string, signal?: AbortSignal): Promise<number[] | undefined> {
    if (!embed) return undefined;
    try {
      const [vector] = await embed([question], signal);
      return vector;
    } catch (error) {
      if (signal?.aborted) throw error;
      const appError = toAppError(error);
      logger.warn(
        { code: appError.code, error: appError.message },
        "query embedding failed; using BM25 alone",
      );
      return undefined;
    }
  }

  return {
    async hasDocuments(scope: QueryScope): Promise<boolean> {
      return store.hasChunks(scope);
    },

    async retrieve(question: string, scope: QueryScope, signal?: AbortSignal): Promise<Passage[]> {
      const terms = analyze(question);
      const queryTerms = new Set(terms);
      if (queryTerms.size === 0) return [];
      const dense = await embedQuestion(question, signal);
      signal?.throwIfAborted();
      const results = await store.search({ scope, terms, dense, limit: candidates });
      const best = results[0]?.score ?? 0;
      const requiredTerms = Math.max(
        Math.min(minimumMatchedTerms, queryTerms.size),
        Math.ceil(minimumCoverage * queryTerms.size),
      );

      const passages: Passage[] = [];
      const perDocument = new Map<string, number>();
      for (const result of results) {
        if (passages.length === topK) break;
        if (result.score < minimumRelativeScore * best) break;
        if ((result.matchedTerms ?? matchedTerms(result, queryTerms)) < requiredTerms) continue;
        const taken = perDocument.get(result.chunk.documentId) ?? 0;
        if (taken >= maxPerDocument) continue;
        perDocument.set(result.chunk.documentId, taken + 1);
        passages.push({
          documentId: result.chunk.documentId,
          title: result.chunk.title,
          location: result.chunk.source,
          headingPath: result.chunk.headingPath,
          text: result.chunk.text,
          score: result.score,
          tokens: result.chunk.tokens,
        });
      }
      return passages;
    },
  };
}

function matchedTerms(result: ScoredChunk, queryTerms: ReadonlySet<string>): number {
  const { chunk } = result;
  const chunkTerms = new Set(analyze(`${chunk.title}\n${chunk.headingPath.join("\n")}\n${chunk.text}`));
  let matched = 0;
  for (const term of queryTerms) if (chunkTerms.has(term)) matched++;
  return matched;
}
