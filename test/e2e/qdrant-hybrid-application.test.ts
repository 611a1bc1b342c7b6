/**
 * Scale mode through the composition root: with QDRANT_URL and EMBEDDING_MODEL, `createApplication`
 * learns the embedding size from the endpoint, creates the collection with dense + sparse vectors,
 * writes dense vectors with every chunk and queries both, fused by RRF. Everything is counted in what
 * the Qdrant and OpenAI stand-ins received.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Application, createApplication } from "../../src/application.js";
import { loadConfig } from "../../src/config.js";
import { silentLogger } from "../../src/core/ports/logger.js";
import { type LocalHttpServer, startLocalHttpServer } from "../support/local-http-server.js";
import { type OpenAiStandIn, startOpenAiStandIn } from "../support/openai-stand-in.js";
import { type QdrantStandIn, startQdrantStandIn } from "../support/qdrant-stand-in.js";
import { RecordingSink } from "../support/recording-sink.js";

const DIMENSIONS = 24;
const HANDBOOK = `# Handbook

## Parental leave

Every employee gets sixteen weeks of paid parental leave, to be taken within the first year.

## Expenses

Submit expense reports within thirty days through the finance portal.
`;

describe("createApplication with QDRANT_URL and EMBEDDING_MODEL (Qdrant and OpenAI stand-ins)", () => {
  let qdrant: QdrantStandIn;
  let openai: OpenAiStandIn;
  let documents: LocalHttpServer;
  let dataDirectory: string;
  let application: Application | undefined;
  const collection = `app_${randomUUID().replaceAll("-", "")}`;

  const environment = () => ({
    OPENAI_BASE_URL: openai.baseUrl,
    OPENAI_API_KEY: "sk-hybrid",
    EMBEDDING_MODEL: "text-embedding-3-small",
    QDRANT_URL: qdrant.url,
    QDRANT_COLLECTION: collection,
    DATA_DIR: dataDirectory,
    FETCH_ALLOWED_HOSTS: `127.0.0.1:${documents.port}`,
    ENABLE_TOOLS: "false",
  });

  beforeAll(async () => {
    qdrant = await startQdrantStandIn();
    openai = await startOpenAiStandIn({ apiKey: "sk-hybrid", embeddingDimension: DIMENSIONS });
    openai.setResponder(() => ({ kind: "text", text: "Sixteen weeks [1]." }));
    documents = await startLocalHttpServer((_request, response) => {
      response.writeHead(200, { "content-type": "text/markdown; charset=utf-8" }).end(HANDBOOK);
    });
    dataDirectory = mkdtempSync(join(tmpdir(), "teammate-qdrant-app-"));
  });

  afterAll(async () => {
    await application?.close();
    await qdrant?.close();
    await openai?.close();
    await documents?.close();
    rmSync(dataDirectory, { recursive: true, force: true });
  });

  it("learns the size, writes dense vectors with every chunk and fuses dense and BM25 for a question", async () => {
    application = await createApplication(loadConfig(environment()), silentLogger);

    // The size came from one probe to the embeddings endpoint, and the collection has both vectors.
    expect(openai.requests.filter((request) => request.path.endsWith("/embeddings"))).toHaveLength(1);
    expect(qdrant.requestsTo("create_collection").map((request) => request.body)).toEqual([
      {
        vectors: { dense: { size: DIMENSIONS, distance: "Cosine" } },
        sparse_vectors: { bm25: { modifier: "idf" } },
      },
    ]);

    const scope = { platform: "slack" as const, workspaceId: "T1", channelId: "C1" };
    await application.knowledge.index({ kind: "url", url: `${documents.origin}/handbook.md` }, scope);
    const points = qdrant
      .requestsTo("upsert_points")
      .flatMap((request) => (request.body as { points: Array<{ vector: Record<string, unknown> }> }).points);
    expect(points.length).toBeGreaterThan(0);
    for (const point of points) {
      expect(point.vector.dense).toHaveLength(DIMENSIONS);
      expect(point.vector.bm25).toMatchObject({ indices: expect.any(Array), values: expect.any(Array) });
    }

    const sink = new RecordingSink();
    const queriesBefore = qdrant.requestsTo("query_points").length;
    await application.assistant.handle(
      {
        ...scope,
        userId: "U1",
        userName: "Ada",
        text: "How many weeks of parental leave do employees get?",
        attachments: [],
        isAdmin: false,
        eventId: "hybrid-1",
      },
      sink,
    );
    expect(sink.failed).toBeUndefined();
    const [queryRequest] = qdrant.requestsTo("query_points").slice(queriesBefore);
    const body = queryRequest?.body as {
      prefetch: Array<{ using: string; query: unknown }>;
      query: unknown;
    };
    expect(body.prefetch.map((prefetch) => prefetch.using).sort()).toEqual(["bm25", "dense"]);
    expect(body.prefetch.find((prefetch) => prefetch.using === "dense")?.query).toHaveLength(DIMENSIONS);
    expect(body.query).toEqual({ rrf: { k: 60 } });
    // The existence check before the question was a count, never a scroll over the chunks.
    expect(qdrant.requestsTo("count_points").length).toBeGreaterThan(0);
    expect(qdrant.requestsTo("scroll_points")).toHaveLength(0);
    expect(sink.finished?.sources?.map((source) => source.title)).toContain("Handbook");
    qdrant.assertNoViolations();
    openai.assertNoViolations();
  });

  it("refuses to start, in one line, on a collection made for another embedding size", async () => {
    const error = await createApplication(
      loadConfig({ ...environment(), EMBEDDING_DIMENSIONS: "8", DATA_DIR: join(dataDirectory, "second") }),
      silentLogger,
    ).then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(error).toMatchObject({ code: "config_invalid" });
    const message = (error as Error).message;
    expect(message).toContain(`${DIMENSIONS}-dimensional`);
    expect(message).toContain("8");
    expect(message).not.toContain("\n");
  });
});
