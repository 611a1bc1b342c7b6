import { randomUUID } from "node:crypto";
import { QdrantClient } from "@qdrant/js-client-rest";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { pointId, QdrantVectorStore } from "../../src/adapters/qdrant/qdrant-vector-store.js";
import { AppError } from "../../src/core/errors.js";
import { analyze } from "../../src/core/knowledge/analyzer.js";
import { chunkId } from "../../src/core/knowledge/chunker.js";
import { RRF_K, termId } from "../../src/core/knowledge/sparse.js";
import type { ChunkRecord, DocumentScope, QueryScope } from "../../src/core/ports/vector-store.js";
import { CONTRACT_DENSE_DIMENSIONS, runVectorStoreContract } from "../contracts/vector-store.contract.js";
import { type QdrantStandIn, startQdrantStandIn } from "../support/qdrant-stand-in.js";

runVectorStoreContract("qdrant on the local stand-in", async () => {
  const standIn = await startQdrantStandIn();
  const store = new QdrantVectorStore({
    url: standIn.url,
    collection: `contract_${randomUUID()}`,
    denseDimensions: CONTRACT_DENSE_DIMENSIONS,
  });
  return {
    store,
    async cleanup() {
      try {
        await store.close();
        standIn.assertNoViolations();
      } finally {
        await standIn.close();
      }
    },
  };
});

const liveUrl = process.env.QDRANT_URL;
const liveName = liveUrl ? "live Qdrant at QDRANT_URL" : "live Qdrant (skipped: set QDRANT_URL to run)";
describe.skipIf(!liveUrl)(liveName, () => {
  runVectorStoreContract("qdrant live", async () => {
    const url = liveUrl ?? "";
    const apiKey = process.env.QDRANT_API_KEY || undefined;
    const collection = `teammate_contract_${randomUUID().replaceAll("-", "")}`;
    const store = new QdrantVectorStore({
      url,
      apiKey,
      collection,
      denseDimensions: CONTRACT_DENSE_DIMENSIONS,
    });
    return {
      store,
      async cleanup() {
        await store.close();
        const client = new QdrantClient({ url, ...(apiKey ? { apiKey } : {}), checkCompatibility: false });
        await client.deleteCollection(collection);
      },
    };
  });
});

const workspaceScope: DocumentScope = { platform: "slack", workspaceId: "T-A" };
const channelScope: DocumentScope = { platform: "slack", workspaceId: "T-A", channelId: "C-A1" };
const askFromA1: QueryScope = { platform: "slack", workspaceId: "T-A", channelId: "C-A1" };

function chunks(
  documentId: string,
  scope: DocumentScope,
  texts: string[],
  dense?: number[][],
): ChunkRecord[] {
  return texts.map((text, position) => ({
    id: chunkId(documentId, position),
    documentId,
    position,
    title: "Guide",
    headingPath: [],
    source: `docs/${documentId}.md`,
    text,
    scope,
    terms: analyze(text),
    dense: dense?.[position],
  }));
}

const expectedScopeFilter = {
  must: [
    { key: "workspace", match: { value: "slack:T-A" } },
    { key: "channel", match: { any: ["C-A1", "*"] } },
  ],
};

describe("QdrantVectorStore on the stand-in", () => {
  let standIn: QdrantStandIn;
  let collection: string;

  beforeEach(async () => {
    standIn = await startQdrantStandIn();
    collection = `adapter_${randomUUID()}`;
  });

  afterEach(async () => {
    await standIn.close();
  });

  it("creates one collection with a named dense vector, an IDF sparse vector and scope indexes, once", async () => {
    const store = new QdrantVectorStore({ url: standIn.url, collection, denseDimensions: 8 });
    await store.ensureCollection();
    await store.ensureCollection();
    await new QdrantVectorStore({ url: standIn.url, collection, denseDimensions: 8 }).ensureCollection();

    expect(standIn.requestsTo("root").length).toBeGreaterThan(0);
    const creates = standIn.requestsTo("create_collection");
    expect(creates).toHaveLength(1);
    expect(creates[0]?.path).toBe(`/collections/${collection}`);
    expect(creates[0]?.body).toEqual({
      vectors: { dense: { size: 8, distance: "Cosine" } },
      sparse_vectors: { bm25: { modifier: "idf" } },
    });
    const indexes = standIn.requestsTo("create_field_index").map((request) => request.body);
    expect(indexes).toContainEqual({
      field_name: "workspace",
      field_schema: { type: "keyword", is_tenant: true },
    });
    expect(indexes).toContainEqual({ field_name: "channel", field_schema: "keyword" });
    expect(indexes).toContainEqual({ field_name: "document_id", field_schema: "keyword" });
    expect(standIn.requestsTo("create_field_index").every((request) => request.query.wait === "true")).toBe(
      true,
    );
    standIn.assertNoViolations();
  });

  it("creates a sparse-only collection when no embedding model is configured", async () => {
    await new QdrantVectorStore({ url: standIn.url, collection }).ensureCollection();
    expect(standIn.requestsTo("create_collection")[0]?.body).toEqual({
      sparse_vectors: { bm25: { modifier: "idf" } },
    });
    standIn.assertNoViolations();
  });

  it("refuses an existing collection whose dense size differs from the embedding model's", async () => {
    await new QdrantVectorStore({ url: standIn.url, collection, denseDimensions: 8 }).ensureCollection();
    const mismatched = new QdrantVectorStore({ url: standIn.url, collection, denseDimensions: 16 });
    await expect(mismatched.ensureCollection()).rejects.toMatchObject({ code: "config_invalid" });
    standIn.assertNoViolations();
  });

  it("upserts with wait, BM25 sparse and dense vectors, and workspace-derived point ids", async () => {
    const store = new QdrantVectorStore({ url: standIn.url, collection, denseDimensions: 2 });
    await store.replaceDocument(
      "guide",
      channelScope,
      chunks("guide", channelScope, ["deploy deploy helm"], [[0.6, 0.8]]),
    );
    const [upsert] = standIn.requestsTo("upsert_points");
    expect(upsert?.query.wait).toBe("true");
    const body = upsert?.body as {
      points: { id: string; vector: Record<string, unknown>; payload: object }[];
    };
    const point = body.points[0]!;
    expect(point.id).toBe(pointId("slack:T-A", chunkId("guide", 0)));
    expect(point.vector.dense).toEqual([0.6, 0.8]);
    const sparse = point.vector.bm25 as { indices: number[]; values: number[] };
    expect(sparse.indices).toEqual(
      analyze("deploy helm")
        .map(termId)
        .sort((a, b) => a - b),
    );
    expect(point.payload).toMatchObject({
      workspace: "slack:T-A",
      channel: "C-A1",
      document_id: "guide",
      chunk_id: chunkId("guide", 0),
      position: 0,
    });
    standIn.assertNoViolations();
  });

  it("answers whether a scope holds chunks with one count request under the scope filter, never a scroll", async () => {
    const store = new QdrantVectorStore({ url: standIn.url, collection });
    await store.replaceDocument("guide", channelScope, chunks("guide", channelScope, ["deploy", "helm"]));
    const before = standIn.requests.length;

    expect(await store.hasChunks(askFromA1)).toBe(true);

    const asked = standIn.requests.slice(before);
    expect(asked.map((request) => request.operationId)).toEqual(["count_points"]);
    expect(asked[0]?.body).toEqual({ filter: expectedScopeFilter, exact: true });
    standIn.assertNoViolations();
  });

  it("stores workspace-wide documents under the explicit channel marker", async () => {
    const store = new QdrantVectorStore({ url: standIn.url, collection });
    await store.replaceDocument("guide", workspaceScope, chunks("guide", workspaceScope, ["deploy"]));
    const stored = [...(standIn.collections.get(collection)?.points.values() ?? [])];
    expect(stored.map((point) => point.payload.channel)).toEqual(["*"]);
    await expect(
      store.replaceDocument("x", { ...workspaceScope, channelId: "*" }, chunks("x", workspaceScope, ["a"])),
    ).rejects.toMatchObject({ code: "input_invalid" });
    standIn.assertNoViolations();
  });

  it("trims positions past the new end after upserting, within the document and workspace", async () => {
    const store = new QdrantVectorStore({ url: standIn.url, collection });
    await store.replaceDocument(
      "guide",
      workspaceScope,
      chunks("guide", workspaceScope, ["one", "two", "three"]),
    );
    await store.replaceDocument("guide", workspaceScope, chunks("guide", workspaceScope, ["uno"]));
    const operations = standIn.requests
      .map((request) => request.operationId)
      .filter((operation) => operation === "upsert_points" || operation === "delete_points");
    expect(operations).toEqual(["upsert_points", "delete_points", "upsert_points", "delete_points"]);
    const trim = standIn.requestsTo("delete_points").at(-1);
    expect(trim?.body).toEqual({
      filter: {
        must: [
          { key: "workspace", match: { value: "slack:T-A" } },
          { key: "document_id", match: { value: "guide" } },
          { key: "position", range: { gte: 1 } },
        ],
      },
    });
    expect(standIn.collections.get(collection)?.points.size).toBe(1);
    standIn.assertNoViolations();
  });

  it("searches hybrid through the Query API: dense and sparse prefetches, each scoped, fused with RRF", async () => {
    const store = new QdrantVectorStore({ url: standIn.url, collection, denseDimensions: 2 });
    await store.replaceDocument(
      "guide",
      channelScope,
      chunks("guide", channelScope, ["deploy helm"], [[1, 0]]),
    );
    const results = await store.search({
      scope: askFromA1,
      terms: analyze("deploy"),
      dense: [1, 0],
      limit: 3,
    });
    expect(results.map((result) => result.chunk.documentId)).toEqual(["guide"]);

    const body = standIn.requestsTo("query_points").at(-1)?.body as Record<string, unknown>;
    // The same fusion constant as the SQLite store, not Qdrant's default k = 2.
    expect(body.query).toEqual({ rrf: { k: RRF_K } });
    expect(body.limit).toBe(3);
    const prefetch = body.prefetch as Record<string, unknown>[];
    expect(prefetch.map((entry) => entry.using)).toEqual(["dense", "bm25"]);
    for (const entry of prefetch) expect(entry.filter).toEqual(expectedScopeFilter);
    expect(prefetch[0]?.query).toEqual([1, 0]);
    expect(prefetch[1]?.query).toEqual({ indices: analyze("deploy").map(termId), values: [1] });
    standIn.assertNoViolations();
  });

  it("searches BM25 alone with the sparse query vector when no dense vector is given", async () => {
    const store = new QdrantVectorStore({ url: standIn.url, collection, denseDimensions: 2 });
    await store.replaceDocument(
      "guide",
      channelScope,
      chunks("guide", channelScope, ["deploy helm"], [[1, 0]]),
    );
    const results = await store.search({ scope: askFromA1, terms: analyze("helm deploy"), limit: 5 });
    expect(results).toHaveLength(1);

    const body = standIn.requestsTo("query_points").at(-1)?.body as Record<string, unknown>;
    expect(body.prefetch).toBeUndefined();
    expect(body.using).toBe("bm25");
    expect(body.filter).toEqual(expectedScopeFilter);
    expect(body.query).toEqual({
      indices: analyze("deploy helm")
        .map(termId)
        .sort((a, b) => a - b),
      values: [1, 1],
    });
    standIn.assertNoViolations();
  });

  it("deletes a document by counting, then deleting with a workspace and document filter", async () => {
    const store = new QdrantVectorStore({ url: standIn.url, collection });
    await store.replaceDocument("guide", channelScope, chunks("guide", channelScope, ["a b", "c d"]));
    expect(await store.deleteDocument(workspaceScope, "guide")).toBe(2);

    const documentFilter = {
      must: [
        { key: "workspace", match: { value: "slack:T-A" } },
        { key: "document_id", match: { value: "guide" } },
      ],
    };
    expect(standIn.requestsTo("count_points").at(-1)?.body).toEqual({ filter: documentFilter, exact: true });
    const deletion = standIn.requestsTo("delete_points").at(-1);
    expect(deletion?.body).toEqual({ filter: documentFilter });
    expect(deletion?.query.wait).toBe("true");
    expect(standIn.collections.get(collection)?.points.size).toBe(0);
    standIn.assertNoViolations();
  });

  it("pages through scroll results when listing documents", async () => {
    const store = new QdrantVectorStore({ url: standIn.url, collection });
    const texts = Array.from({ length: 300 }, (_, index) => `note ${index}`);
    await store.replaceDocument("long", channelScope, chunks("long", channelScope, texts));
    const [summary] = await store.listDocuments(askFromA1);
    expect(summary?.chunkCount).toBe(300);
    expect(standIn.requestsTo("scroll_points").length).toBeGreaterThan(1);
    standIn.assertNoViolations();
  });

  it("records and rejects a request the spec forbids, such as a sparse modifier of bm25", async () => {
    const client = new QdrantClient({ url: standIn.url, checkCompatibility: false });
    await expect(
      client.createCollection(collection, {
        sparse_vectors: { bm25: { modifier: "bm25" as "idf" } },
      }),
    ).rejects.toMatchObject({ status: 400 });
    expect(standIn.violations.join("\n")).toContain("create_collection");
    expect(() => standIn.assertNoViolations()).toThrow(/violation/);
    expect(standIn.collections.has(collection)).toBe(false);
  });

  it("answers the client's version handshake with Qdrant's unwrapped version info", async () => {
    const client = new QdrantClient({ url: standIn.url, checkCompatibility: false });
    expect(await client.versionInfo()).toMatchObject({ version: "1.19.0" });
    standIn.assertNoViolations();
  });

  it("turns an unreachable server into store_unavailable without the API key in the message", async () => {
    const apiKey = "qdrant-secret-key-4242";
    const url = standIn.url;
    await standIn.close();
    const store = new QdrantVectorStore({ url, apiKey, collection });
    const error = await store
      .search({ scope: askFromA1, terms: ["deploy"], limit: 3 })
      .catch((caught) => caught);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: "store_unavailable", retryable: true });
    expect(error.message).toMatch(/ECONNREFUSED/);
    expect(String(error.message)).not.toContain(apiKey);
    expect(String(error.stack)).not.toContain(apiKey);
    standIn = await startQdrantStandIn();
  });

  it("turns a refused API key into store_unavailable without either key in the message", async () => {
    await standIn.close();
    standIn = await startQdrantStandIn({ apiKey: "server-side-key-1" });
    const store = new QdrantVectorStore({ url: standIn.url, apiKey: "wrong-client-key-2", collection });
    const error = await store.ensureCollection().catch((caught) => caught);
    expect(error).toMatchObject({ code: "store_unavailable", retryable: false });
    expect(error.message).toContain("QDRANT_API_KEY");
    expect(error.message).not.toContain("wrong-client-key-2");
    expect(error.message).not.toContain("server-side-key-1");
  });
});
