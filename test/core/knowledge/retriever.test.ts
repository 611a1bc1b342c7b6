import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { SqliteVectorStore } from "../../../src/adapters/sqlite/sqlite-vector-store.js";
import { AppError } from "../../../src/core/errors.js";
import { chunkDocument, toChunkRecords } from "../../../src/core/knowledge/chunker.js";
import { createRetriever } from "../../../src/core/knowledge/retriever.js";
import type {
  DocumentScope,
  QueryScope,
  ScoredChunk,
  VectorQuery,
  VectorStore,
} from "../../../src/core/ports/vector-store.js";

const scope: QueryScope = { platform: "local", workspaceId: "w", channelId: "c" };
const documentScope: DocumentScope = { platform: "local", workspaceId: "w" };

function scored(documentId: string, position: number, text: string, score: number): ScoredChunk {
  return {
    chunk: {
      id: `${documentId}-${position}`,
      documentId,
      position,
      title: documentId,
      headingPath: [],
      source: `${documentId}.md`,
      text,
      scope: documentScope,
    },
    score,
  };
}

/** A store that answers every search with a fixed ranking and records the queries it got. */
function scriptedStore(results: ScoredChunk[]): VectorStore & { queries: VectorQuery[] } {
  const queries: VectorQuery[] = [];
  return {
    queries,
    replaceDocument: async () => {},
    replaceDocuments: async () => {},
    deleteDocument: async () => 0,
    search: async (query) => {
      queries.push(query);
      return results.slice(0, query.limit);
    },
    listDocuments: async () => [],
    hasChunks: async () => results.length > 0,
    close: async () => {},
  };
}

describe("createRetriever", () => {
  it("keeps at most maxPerDocument passages per document and returns topK", async () => {
    const store = scriptedStore([
      scored("long", 0, "deploy the billing service", 9),
      scored("long", 1, "deploy billing again", 8),
      scored("long", 2, "billing deploy notes", 7),
      scored("other", 0, "billing deploy checklist", 6),
      scored("third", 0, "deploy billing runbook", 5),
    ]);
    const retriever = createRetriever({ store, topK: 3, maxPerDocument: 2 });
    const passages = await retriever.retrieve("How do we deploy billing?", scope);
    expect(passages.map((passage) => `${passage.documentId}:${passage.text}`)).toEqual([
      "long:deploy the billing service",
      "long:deploy billing again",
      "other:billing deploy checklist",
    ]);
    expect(passages[0]).toMatchObject({ title: "long", location: "long.md", score: 9 });
    expect(store.queries[0]?.limit).toBe(20);
    expect(store.queries[0]?.dense).toBeUndefined();
  });

  it("drops passages that share too few of the question's terms or score far below the best", async () => {
    const store = scriptedStore([
      scored("a", 0, "kubernetes cluster upgrade procedure for billing", 10),
      scored("b", 0, "the cafeteria menu mentions a cluster of grapes", 9),
      scored("c", 0, "kubernetes cluster upgrade notes", 2),
    ]);
    const retriever = createRetriever({ store });
    const passages = await retriever.retrieve("How do we upgrade the kubernetes cluster?", scope);
    expect(passages.map((passage) => passage.documentId)).toEqual(["a"]);
  });

  it("returns nothing for an off-topic question, so the chain can say it found nothing", async () => {
    const database = new Database(":memory:");
    const store = new SqliteVectorStore(database);
    const chunks = chunkDocument({
      id: "readme",
      title: "teammate README",
      source: "README.md",
      format: "markdown",
      text: [
        "# teammate",
        "An AI teammate for team chat that answers from indexed documents.",
        "## Install",
        "Run npm install, then npm start. Set OPENAI_API_KEY for answers and SLACK_BOT_TOKEN for Slack.",
        "## Commands",
        "Admins use index <url> to add a document and forget-doc <id> to remove it. The game of chess is not covered.",
      ].join("\n\n"),
    });
    await store.replaceDocument("readme", documentScope, toChunkRecords(chunks, documentScope));
    const retriever = createRetriever({ store });

    expect(await retriever.hasDocuments(scope)).toBe(true);
    const relevant = await retriever.retrieve("How do I install teammate?", scope);
    expect(relevant.map((passage) => passage.headingPath)).toEqual([["teammate", "Install"]]);
    expect(await retriever.retrieve("Who won the football game yesterday?", scope)).toEqual([]);
    expect(await retriever.retrieve("What is the capital of France?", scope)).toEqual([]);
    expect(await retriever.retrieve("the of and", scope)).toEqual([]);
    expect(await createRetriever({ store }).hasDocuments({ ...scope, workspaceId: "other" })).toBe(false);
    database.close();
  });

  it("asks the store whether chunks exist, never for a listing of every document", async () => {
    const store = {
      ...scriptedStore([scored("a", 0, "payroll runs monthly", 1)]),
      listDocuments: async () => {
        throw new Error("a listing costs in proportion to the corpus");
      },
    };
    expect(await createRetriever({ store }).hasDocuments(scope)).toBe(true);
  });

  it("sends the question's embedding for hybrid search when an embedder is configured", async () => {
    const store = scriptedStore([scored("a", 0, "payroll runs monthly", 1)]);
    const embedded: string[][] = [];
    const retriever = createRetriever({
      store,
      embed: async (texts) => {
        embedded.push(texts);
        return [[0.1, 0.2, 0.3]];
      },
    });
    await retriever.retrieve("When does payroll run?", scope);
    expect(embedded).toEqual([["When does payroll run?"]]);
    expect(store.queries[0]?.dense).toEqual([0.1, 0.2, 0.3]);
    expect(store.queries[0]?.terms).toEqual(["payrol", "run"]);
  });

  it("falls back to BM25 alone when the embedder fails", async () => {
    const store = scriptedStore([scored("a", 0, "payroll runs monthly", 1)]);
    const warnings: unknown[] = [];
    const logger = {
      debug: () => {},
      info: () => {},
      warn: (object: unknown) => warnings.push(object),
      error: () => {},
      child: () => logger,
    };
    const retriever = createRetriever({
      store,
      logger,
      embed: async () => {
        throw new AppError("llm_unavailable", "embeddings endpoint down", { retryable: true });
      },
    });
    const passages = await retriever.retrieve("When does payroll run?", scope);
    expect(passages).toHaveLength(1);
    expect(store.queries[0]?.dense).toBeUndefined();
    expect(warnings).toEqual([{ code: "llm_unavailable", error: "embeddings endpoint down" }]);
  });
});
