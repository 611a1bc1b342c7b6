import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { OpenApiValidator, SPECS_DIR } from "./openapi-validator.js";
import {
  inverseDocumentFrequency,
  type QdrantStandIn,
  reciprocalRankFusion,
  startQdrantStandIn,
} from "./qdrant-stand-in.js";

interface Example {
  operationId: string;
  method: string;
  path: string;
  query?: Record<string, string>;
  request?: unknown;
  status?: number;
}

const example = (name: string) =>
  JSON.parse(readFileSync(join(SPECS_DIR, "qdrant/examples", `${name}.json`), "utf8")) as Example;

const spec = new OpenApiValidator("qdrant/openapi-v1.19.x.subset.json");

describe("Qdrant stand-in", () => {
  let standIn: QdrantStandIn;

  beforeEach(async () => {
    standIn = await startQdrantStandIn();
  });

  afterEach(async () => {
    await standIn.close();
  });

  async function send(method: string, path: string, body?: unknown, query: Record<string, string> = {}) {
    const search = new URLSearchParams(query).toString();
    const response = await fetch(`${standIn.url}${path}${search ? `?${search}` : ""}`, {
      method,
      headers: { "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = (await response.json()) as Record<string, unknown>;
    // Checked here as well as inside the stand-in, so a stand-in that skipped its check would still fail.
    const template = spec.matchPath(path);
    if (template && spec.hasOperation(template, method)) {
      const status = response.status === 200 ? "200" : "4XX";
      const checked = spec.validateResponseBody(template, method, status, json);
      expect(checked.errors).toBe("");
    }
    return { status: response.status, json };
  }

  async function replay(name: string, collection: string) {
    const { method, path, query, request } = example(name);
    return send(method, path.replace("{collection_name}", collection), request, query);
  }

  it("accepts the composed golden requests and fuses the hybrid example with Qdrant's RRF", async () => {
    for (const name of [
      "create_collection.hybrid",
      "create_field_index.keyword",
      "create_field_index.keyword_tenant",
      "upsert_points.hybrid",
    ]) {
      expect((await replay(name, "examples")).status).toBe(200);
    }
    const fused = await replay("query_points.hybrid_fusion_rrf", "examples");
    const points = (fused.json.result as { points: { id: unknown; score: number }[] }).points;
    // Point 1 ranks first on both sides (dense cosine and IDF-weighted sparse): 1/2 + 1/2.
    expect(points.map((point) => point.id)).toEqual([1, "5c56c793-69f3-4fbf-87e6-c4bf54c28c26"]);
    expect(points[0]?.score).toBeCloseTo(1, 6);
    expect(points[1]?.score).toBeCloseTo(2 / 3, 6);

    const weighted = await replay("query_points.hybrid_rrf_params", "examples");
    const weightedPoints = (weighted.json.result as { points: { score: number }[] }).points;
    // k = 60, weights 3 and 1: 1/(1/3 + 59) + 1/(1 + 59) for the point first on both sides.
    expect(weightedPoints[0]?.score).toBeCloseTo(1 / (1 / 3 + 59) + 1 / 60, 6);

    const scrolled = await replay("scroll_points.by_filter", "examples");
    expect((scrolled.json.result as { points: unknown[] }).points).toHaveLength(2);
    expect((await replay("delete_points.by_filter", "examples")).status).toBe(200);
    expect(standIn.collections.get("examples")?.points.size).toBe(1);
    standIn.assertNoViolations();
  });

  it("answers a missing collection with 404 in Qdrant's error shape", async () => {
    const { status, json } = await send("POST", "/collections/missing/points/query", { limit: 1 });
    expect(status).toBe(example("error.404_collection").status);
    expect(json.status).toEqual({ error: "Not found: Collection `missing` doesn't exist!" });
    standIn.assertNoViolations();
  });

  it("records unknown paths, undeclared query parameters and bodies the spec rejects", async () => {
    expect((await send("POST", "/collections/c/points/search", { vector: [1], limit: 1 })).status).toBe(404);
    expect((await send("PUT", "/collections/c/index", { field_name: "a" }, { wait: "maybe" })).status).toBe(
      400,
    );
    expect((await send("PUT", "/collections/c", { vectors: { size: 0, distance: "Cosine" } })).status).toBe(
      400,
    );
    expect(standIn.violations).toHaveLength(3);
    expect(() => standIn.assertNoViolations()).toThrow(/3 violation/);
  });

  it("weights sparse queries by Qdrant's IDF and returns only points sharing a term without a filter", async () => {
    await send("PUT", "/collections/idf", { sparse_vectors: { text: { modifier: "idf" } } });
    await send("PUT", "/collections/idf/points", {
      points: [
        { id: 1, vector: { text: { indices: [7, 9], values: [2, 1] } } },
        { id: 2, vector: { text: { indices: [7], values: [1] } } },
        { id: 3, vector: { text: { indices: [5], values: [1] } } },
      ],
    });
    const { json } = await send("POST", "/collections/idf/points/query", {
      query: { indices: [7, 9], values: [1, 1] },
      using: "text",
    });
    const points = (json.result as { points: { id: number; score: number }[] }).points;
    expect(points.map((point) => point.id)).toEqual([1, 2]);
    const idf7 = Math.log((3 - 2 + 0.5) / (2 + 0.5) + 1);
    const idf9 = Math.log((3 - 1 + 0.5) / (1 + 0.5) + 1);
    expect(inverseDocumentFrequency(3, 2)).toBeCloseTo(idf7, 12);
    expect(points[0]?.score).toBeCloseTo(2 * idf7 + idf9, 6);
    expect(points[1]?.score).toBeCloseTo(idf7, 6);
    standIn.assertNoViolations();
  });

  it("evaluates must, should and must_not with match value, any and except", async () => {
    await send("PUT", "/collections/f", { sparse_vectors: { text: {} } });
    await send("PUT", "/collections/f/points", {
      points: [
        { id: 1, vector: {}, payload: { team: "a", tags: ["x", "y"] } },
        { id: 2, vector: {}, payload: { team: "b", tags: ["y"] } },
        { id: 3, vector: {}, payload: { team: "c" } },
      ],
    });
    const ids = async (filter: unknown) => {
      const { json } = await send("POST", "/collections/f/points/scroll", { filter, limit: 10 });
      return (json.result as { points: { id: number }[] }).points.map((point) => point.id);
    };
    expect(await ids({ must: [{ key: "tags", match: { value: "x" } }] })).toEqual([1]);
    expect(await ids({ should: [{ key: "team", match: { any: ["b", "c"] } }] })).toEqual([2, 3]);
    expect(await ids({ must_not: [{ key: "tags", match: { value: "y" } }] })).toEqual([3]);
    expect(await ids({ must: [{ key: "team", match: { except: ["a"] } }] })).toEqual([2, 3]);
    expect(await ids({ must: [{ has_id: [2, 3] }], must_not: [{ is_empty: { key: "tags" } }] })).toEqual([2]);
    standIn.assertNoViolations();
  });

  it("computes RRF exactly as Qdrant's own unit test expects", () => {
    const point = (id: number) => ({ id, version: 0, dense: new Map(), sparse: new Map(), payload: {} });
    const list = (...ids: number[]) => ids.map((id) => ({ point: point(id), score: 0 }));
    const fused = reciprocalRankFusion([list(2, 1), list(1, 2, 3), list(5, 3, 1)], 2, undefined);
    expect(fused.map((scored) => scored.point.id)).toEqual([1, 2, 3, 5]);
    expect(fused.map((scored) => Number(scored.score.toFixed(6)))).toEqual([
      1.083333, 0.833333, 0.583333, 0.5,
    ]);
  });
});
