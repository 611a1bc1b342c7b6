import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { OpenApiValidator } from "./openapi-validator.js";

/**
 * A local Qdrant that speaks the REST protocol @qdrant/js-client-rest uses, with in-memory semantics
 * close to the real server: filters (must / should / must_not / min_should, match value / any /
 * except, range, has_id, is_empty, nested filters), cosine dense search, sparse dot product with the
 * `idf` modifier applied to the query side, and RRF fusion with Qdrant's formula and default k = 2.
 *
 * Every request's path, method, query string and body is checked against Qdrant's OpenAPI spec; an
 * invalid request is recorded as a violation and answered 400 in Qdrant's error shape, so a test
 * fails where production would. Every response is checked against the spec's response schema too.
 * Anything the stand-in does not implement is also a violation, never a silent approximation.
 */
export interface QdrantStandIn {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** Every request received, in order. */
  requests: RecordedRequest[];
  /** Spec violations and unsupported features, one line each. */
  violations: string[];
  collections: Map<string, StandInCollection>;
  /** Throws with every violation listed when there is any. */
  assertNoViolations(): void;
  /** Requests made to an operation (`create_collection`, `query_points`, …). */
  requestsTo(operationId: string): RecordedRequest[];
  close(): Promise<void>;
}

interface RecordedRequest {
  method: string;
  path: string;
  /** Spec path template, when the path matched one. */
  template: string | undefined;
  operationId: string | undefined;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

interface StandInCollection {
  config: CollectionConfig;
  points: Map<string, StoredPoint>;
  payloadIndexes: Map<string, unknown>;
}

interface CollectionConfig {
  /** Dense vectors by name ("" for an unnamed single vector). */
  dense: Map<string, { size: number; distance: string }>;
  sparse: Map<string, { modifier: string }>;
  raw: Record<string, unknown>;
}

type PointId = number | string;

interface StoredPoint {
  id: PointId;
  version: number;
  dense: Map<string, number[]>;
  sparse: Map<string, { indices: number[]; values: number[] }>;
  payload: Record<string, unknown>;
}

interface Scored {
  point: StoredPoint;
  score: number;
}

export interface QdrantStandInOptions {
  /** When set, requests must carry it in the `api-key` header (401 otherwise). */
  apiKey?: string;
}

const SPEC = "qdrant/openapi-v1.19.x.subset.json";
const VERSION = "1.19.0";
/** Qdrant's `DEFAULT_RRF_K` (lib/segment/src/common/reciprocal_rank_fusion.rs). */
const DEFAULT_RRF_K = 2;
/** Qdrant's `DEFAULT_SPARSE_FULL_SCAN_THRESHOLD`: below it, filtered sparse search is a plain scan. */
const SPARSE_FULL_SCAN_THRESHOLD = 5000;
const DEFAULT_LIMIT = 10;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A feature the stand-in does not model; answered 400 and recorded as a violation. */
class Unsupported extends HttpError {
  constructor(feature: string) {
    super(400, `Qdrant stand-in does not implement ${feature}`);
  }
}

let validator: OpenApiValidator | undefined;

export async function startQdrantStandIn(options: QdrantStandInOptions = {}): Promise<QdrantStandIn> {
  validator ??= new OpenApiValidator(SPEC);
  const spec = validator;
  const requests: RecordedRequest[] = [];
  const violations: string[] = [];
  const collections = new Map<string, StandInCollection>();
  let operationCounter = 0;

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const started = process.hrtime.bigint();
    const url = new URL(request.url ?? "/", "http://stand-in");
    const method = (request.method ?? "GET").toUpperCase();
    const text = await readBody(request);
    const template = spec.matchPath(url.pathname);
    const operation = template ? operationOf(spec, template, method) : undefined;
    const recorded: RecordedRequest = {
      method,
      path: url.pathname,
      template,
      operationId: operation?.operationId,
      query: Object.fromEntries(url.searchParams),
      headers: request.headers,
      body: undefined,
    };
    requests.push(recorded);

    const send = (status: number, body: unknown) => {
      const statusKey = status === 200 ? "200" : status >= 400 && status < 500 ? "4XX" : "default";
      if (template && operation && hasResponseSchema(spec, template, method, statusKey)) {
        const checked = spec.validateResponseBody(template, method, statusKey, body);
        if (!checked.ok) violations.push(`response ${method} ${url.pathname} ${status}: ${checked.errors}`);
      }
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify(body));
    };
    const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
    const fail = (status: number, message: string) =>
      send(status, { status: { error: message }, time: elapsed(), result: null });

    if (options.apiKey !== undefined && request.headers["api-key"] !== options.apiKey) {
      fail(401, "Must provide an API key or an Authorization bearer token");
      return;
    }
    if (!template || !operation) {
      violations.push(`${method} ${url.pathname}: no such operation in ${SPEC}`);
      fail(404, `Not found: ${method} ${url.pathname}`);
      return;
    }
    const queryCheck = spec.validateQueryParameters(template, method, url.searchParams);
    if (!queryCheck.ok) {
      violations.push(`${method} ${url.pathname}: ${queryCheck.errors}`);
      fail(400, `Format error in query string: ${queryCheck.errors}`);
      return;
    }
    let body: unknown;
    if (text.length > 0) {
      try {
        body = JSON.parse(text);
      } catch (error) {
        violations.push(`${method} ${url.pathname}: body is not JSON`);
        fail(400, `Format error in JSON body: ${(error as Error).message}`);
        return;
      }
    }
    recorded.body = body;
    if (operation.hasBody) {
      const checked = spec.validateRequestBody(template, method, body ?? null);
      if (!checked.ok) {
        violations.push(`${method} ${url.pathname} (${operation.operationId}): ${checked.errors}`);
        fail(400, `Format error in JSON body: ${checked.errors}`);
        return;
      }
    }
    const name = decodeURIComponent(url.pathname.split("/")[2] ?? "");
    const collection = () => {
      const found = collections.get(name);
      if (!found) throw new HttpError(404, `Not found: Collection \`${name}\` doesn't exist!`);
      return found;
    };
    const updated = () => ({ operation_id: operationCounter++, status: "completed" });
    const input = (body ?? {}) as Record<string, unknown>;
    try {
      let result: unknown;
      switch (operation.operationId) {
        case "root":
          // The only unwrapped response: js-client-rest reads `version` from it directly.
          send(200, { title: "qdrant - vector search engine", version: VERSION });
          return;
        case "collection_exists":
          result = { exists: collections.has(name) };
          break;
        case "get_collection":
          result = collectionInfo(collection());
          break;
        case "create_collection":
          if (collections.has(name))
            throw new HttpError(409, `Wrong input: Collection \`${name}\` already exists!`);
          collections.set(name, {
            config: parseCollectionConfig(input),
            points: new Map(),
            payloadIndexes: new Map(),
          });
          result = true;
          break;
        case "delete_collection":
          result = collections.delete(name);
          break;
        case "create_field_index":
          collection().payloadIndexes.set(String(input.field_name), input.field_schema ?? null);
          result = updated();
          break;
        case "upsert_points":
          upsert(collection(), input);
          result = updated();
          break;
        case "delete_points":
          deletePoints(collection(), input);
          result = updated();
          break;
        case "count_points":
          result = {
            count: [...collection().points.values()].filter((point) => matches(point, input.filter)).length,
          };
          break;
        case "scroll_points":
          result = scroll(collection(), input);
          break;
        case "query_points":
          result = { points: query(collection(), input).map((scored) => present(scored, input)) };
          break;
        default:
          throw new Unsupported(`operation ${operation.operationId}`);
      }
      send(200, { result, status: "ok", time: elapsed() });
    } catch (error) {
      if (error instanceof Unsupported) violations.push(`${method} ${url.pathname}: ${error.message}`);
      if (error instanceof HttpError) fail(error.status, error.message);
      else {
        violations.push(`${method} ${url.pathname}: stand-in crashed: ${String(error)}`);
        fail(500, `Service internal error: ${String(error)}`);
      }
    }
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      violations.push(`stand-in crashed: ${String(error)}`);
      if (!response.headersSent) response.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    violations,
    collections,
    assertNoViolations() {
      if (violations.length > 0) {
        throw new Error(`Qdrant stand-in saw ${violations.length} violation(s):\n${violations.join("\n")}`);
      }
    },
    requestsTo(operationId) {
      return requests.filter((request) => request.operationId === operationId);
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

function operationOf(
  spec: OpenApiValidator,
  template: string,
  method: string,
): { operationId: string; hasBody: boolean } | undefined {
  if (!spec.hasOperation(template, method)) return undefined;
  const paths = spec.document.paths as Record<
    string,
    Record<string, { operationId?: string; requestBody?: unknown }>
  >;
  const operation = paths[template]?.[method.toLowerCase()];
  if (!operation?.operationId) return undefined;
  return { operationId: operation.operationId, hasBody: operation.requestBody !== undefined };
}

function hasResponseSchema(
  spec: OpenApiValidator,
  template: string,
  method: string,
  status: string,
): boolean {
  const paths = spec.document.paths as Record<
    string,
    Record<string, { responses?: Record<string, { content?: Record<string, unknown> }> }>
  >;
  return (
    paths[template]?.[method.toLowerCase()]?.responses?.[status]?.content?.["application/json"] !== undefined
  );
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

// ---- collections ----

function parseCollectionConfig(input: Record<string, unknown>): CollectionConfig {
  const dense = new Map<string, { size: number; distance: string }>();
  const vectors = input.vectors as Record<string, unknown> | undefined;
  if (vectors && typeof vectors.size === "number") {
    dense.set("", { size: vectors.size, distance: String(vectors.distance) });
  } else if (vectors) {
    for (const [name, params] of Object.entries(vectors)) {
      const { size, distance } = params as { size: number; distance: string };
      dense.set(name, { size, distance });
    }
  }
  for (const { distance } of dense.values()) {
    if (distance !== "Cosine" && distance !== "Dot") throw new Unsupported(`distance ${distance}`);
  }
  const sparse = new Map<string, { modifier: string }>();
  for (const [name, params] of Object.entries((input.sparse_vectors ?? {}) as Record<string, unknown>)) {
    sparse.set(name, { modifier: String((params as { modifier?: string } | null)?.modifier ?? "none") });
  }
  return { dense, sparse, raw: input };
}

function collectionInfo(collection: StandInCollection) {
  const vectors = collection.config.dense.has("")
    ? collection.config.dense.get("")
    : Object.fromEntries(collection.config.dense);
  const sparse = Object.fromEntries(
    [...collection.config.sparse].map(([name, { modifier }]) => [name, { modifier }]),
  );
  return {
    status: "green",
    optimizer_status: "ok",
    indexed_vectors_count: 0,
    points_count: collection.points.size,
    segments_count: 1,
    config: {
      params: {
        ...(collection.config.dense.size > 0 ? { vectors } : {}),
        shard_number: 1,
        replication_factor: 1,
        write_consistency_factor: 1,
        on_disk_payload: true,
        sparse_vectors: sparse,
      },
      hnsw_config: {
        m: 16,
        ef_construct: 100,
        full_scan_threshold: 10000,
        max_indexing_threads: 0,
        on_disk: false,
      },
      optimizer_config: {
        deleted_threshold: 0.2,
        vacuum_min_vector_number: 1000,
        default_segment_number: 0,
        max_segment_size: null,
        memmap_threshold: null,
        indexing_threshold: 10000,
        flush_interval_sec: 5,
        max_optimization_threads: null,
      },
      wal_config: { wal_capacity_mb: 32, wal_segments_ahead: 0 },
      quantization_config: null,
    },
    payload_schema: Object.fromEntries(
      [...collection.payloadIndexes].map(([field, schema]) => {
        const type = typeof schema === "string" ? schema : (schema as { type: string }).type;
        const params = typeof schema === "object" && schema !== null ? { params: schema } : {};
        return [field, { data_type: type, ...params, points: countWithField(collection, field) }];
      }),
    ),
  };
}

function countWithField(collection: StandInCollection, field: string): number {
  return [...collection.points.values()].filter((point) => valuesAt(point.payload, field).length > 0).length;
}

// ---- points ----

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** Qdrant answers with UUIDs lower-cased and hyphenated whatever form they were sent in. */
function normalizeId(id: unknown): PointId {
  if (typeof id === "number") return id;
  if (typeof id === "string" && UUID.test(id)) {
    const hex = id.replace(/-/g, "").toLowerCase();
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
  throw new HttpError(400, `Format error in JSON body: value ${JSON.stringify(id)} is not a valid point ID`);
}

const idKey = (id: PointId) => (typeof id === "number" ? `n:${id}` : `u:${id}`);

/** Qdrant's id order: integer ids first (numerically), then UUIDs (as 128-bit numbers). */
function compareIds(a: PointId, b: PointId): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "number") return -1;
  if (typeof b === "number") return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function upsert(collection: StandInCollection, input: Record<string, unknown>): void {
  const incoming: { id: unknown; vector: unknown; payload: unknown }[] = [];
  if (Array.isArray(input.points)) {
    for (const point of input.points as Record<string, unknown>[]) {
      incoming.push({ id: point.id, vector: point.vector, payload: point.payload });
    }
  } else {
    const batch = input.batch as {
      ids: unknown[];
      vectors: Record<string, unknown[]> | unknown[];
      payloads?: unknown[];
    };
    batch.ids.forEach((id, index) => {
      const vector = Array.isArray(batch.vectors)
        ? batch.vectors[index]
        : Object.fromEntries(Object.entries(batch.vectors).map(([name, list]) => [name, list[index]]));
      incoming.push({ id, vector, payload: batch.payloads?.[index] });
    });
  }
  if (input.update_filter !== undefined && input.update_filter !== null)
    throw new Unsupported("update_filter");
  if (input.update_mode !== undefined && input.update_mode !== null) throw new Unsupported("update_mode");
  // Validate everything first: Qdrant rejects the whole batch on any bad point.
  const prepared = incoming.map(({ id, vector, payload }) => {
    const point: StoredPoint = {
      id: normalizeId(id),
      version: 0,
      dense: new Map(),
      sparse: new Map(),
      payload: (payload ?? {}) as Record<string, unknown>,
    };
    const named =
      Array.isArray(vector) || (vector !== null && typeof vector === "object" && "indices" in vector)
        ? { "": vector }
        : ((vector ?? {}) as Record<string, unknown>);
    for (const [name, value] of Object.entries(named)) {
      if (Array.isArray(value)) {
        const params = collection.config.dense.get(name);
        if (!params) throw new HttpError(400, `Wrong input: Not existing vector name error: ${name}`);
        if (value.length !== params.size || value.some((item) => typeof item !== "number")) {
          throw new HttpError(
            400,
            `Wrong input: Vector dimension error: expected dim: ${params.size}, got ${value.length}`,
          );
        }
        point.dense.set(
          name,
          params.distance === "Cosine" ? normalize(value as number[]) : (value as number[]),
        );
      } else if (value && typeof value === "object" && "indices" in value) {
        if (!collection.config.sparse.has(name)) {
          throw new HttpError(400, `Wrong input: Not existing vector name error: ${name}`);
        }
        const sparse = value as { indices: number[]; values: number[] };
        if (sparse.indices.length !== sparse.values.length) {
          throw new HttpError(
            400,
            "Validation error in JSON body: indices and values must have the same length",
          );
        }
        if (new Set(sparse.indices).size !== sparse.indices.length) {
          throw new HttpError(400, "Validation error in JSON body: indices must be unique");
        }
        point.sparse.set(name, { indices: [...sparse.indices], values: [...sparse.values] });
      } else {
        throw new Unsupported(`vector input ${JSON.stringify(value).slice(0, 60)}`);
      }
    }
    return point;
  });
  for (const point of prepared) {
    const key = idKey(point.id);
    point.version = (collection.points.get(key)?.version ?? -1) + 1;
    collection.points.set(key, point);
  }
}

function deletePoints(collection: StandInCollection, input: Record<string, unknown>): void {
  if (input.shard_key !== undefined && input.shard_key !== null) throw new Unsupported("shard_key");
  if (Array.isArray(input.points)) {
    for (const id of input.points) collection.points.delete(idKey(normalizeId(id)));
    return;
  }
  for (const [key, point] of collection.points) {
    if (matches(point, input.filter)) collection.points.delete(key);
  }
}

function scroll(collection: StandInCollection, input: Record<string, unknown>) {
  if (input.order_by !== undefined && input.order_by !== null) throw new Unsupported("scroll order_by");
  const limit = typeof input.limit === "number" ? input.limit : DEFAULT_LIMIT;
  const offset = input.offset === undefined || input.offset === null ? undefined : normalizeId(input.offset);
  const ordered = [...collection.points.values()]
    .filter((point) => matches(point, input.filter))
    .filter((point) => offset === undefined || compareIds(point.id, offset) >= 0)
    .sort((a, b) => compareIds(a.id, b.id));
  const page = ordered.slice(0, limit);
  const withPayload = input.with_payload ?? true;
  const withVector = input.with_vector ?? false;
  return {
    points: page.map((point) => ({
      id: point.id,
      ...selectPayload(point, withPayload),
      ...selectVector(point, withVector),
    })),
    next_page_offset: ordered[limit]?.id ?? null,
  };
}

// ---- queries ----

function query(
  collection: StandInCollection,
  request: Record<string, unknown>,
  outerFilter?: unknown,
): Scored[] {
  for (const field of ["lookup_from", "shard_key"]) {
    if (request[field] !== undefined && request[field] !== null) throw new Unsupported(`query ${field}`);
  }
  // Qdrant propagates a request's filter into its prefetches.
  const filter = combineFilters(outerFilter, request.filter);
  const limit = typeof request.limit === "number" ? request.limit : DEFAULT_LIMIT;
  const offset = typeof request.offset === "number" ? request.offset : 0;
  const prefetches =
    request.prefetch === undefined || request.prefetch === null
      ? []
      : Array.isArray(request.prefetch)
        ? (request.prefetch as Record<string, unknown>[])
        : [request.prefetch as Record<string, unknown>];
  const spec = request.query as Record<string, unknown> | unknown[] | undefined | null;
  let results: Scored[];
  if (prefetches.length > 0) {
    const sources = prefetches.map((prefetch) => query(collection, prefetch, filter));
    if (spec && !Array.isArray(spec) && "fusion" in spec) {
      if (spec.fusion !== "rrf") throw new Unsupported(`fusion ${String(spec.fusion)}`);
      results = reciprocalRankFusion(sources, DEFAULT_RRF_K, undefined);
    } else if (spec && !Array.isArray(spec) && "rrf" in spec) {
      const parameters = (spec.rrf ?? {}) as { k?: number; weights?: number[] };
      results = reciprocalRankFusion(sources, parameters.k ?? DEFAULT_RRF_K, parameters.weights);
    } else if (spec === undefined || spec === null) {
      results = sources.flat();
    } else {
      // Re-scoring the prefetched candidates with a vector query.
      const candidates = new Map(sources.flat().map((scored) => [idKey(scored.point.id), scored.point]));
      results = nearest(collection, [...candidates.values()], spec, request.using, filter);
    }
  } else if (spec === undefined || spec === null) {
    results = [...collection.points.values()]
      .filter((point) => matches(point, filter))
      .sort((a, b) => compareIds(a.id, b.id))
      .map((point) => ({ point, score: 0 }));
  } else {
    results = nearest(collection, [...collection.points.values()], spec, request.using, filter);
  }
  if (typeof request.score_threshold === "number") {
    const threshold = request.score_threshold;
    results = results.filter((scored) => scored.score >= threshold);
  }
  return results.slice(offset, offset + limit);
}

function nearest(
  collection: StandInCollection,
  candidates: StoredPoint[],
  spec: unknown,
  using: unknown,
  filter: unknown,
): Scored[] {
  let vector: unknown = spec;
  if (vector && typeof vector === "object" && !Array.isArray(vector) && "nearest" in vector) {
    const nearestQuery = vector as { nearest: unknown; mmr?: unknown };
    if (nearestQuery.mmr !== undefined && nearestQuery.mmr !== null) throw new Unsupported("mmr");
    vector = nearestQuery.nearest;
  }
  const name = typeof using === "string" ? using : "";
  const filtered = candidates.filter((point) => matches(point, filter));
  if (Array.isArray(vector) && vector.every((item) => typeof item === "number")) {
    const params = collection.config.dense.get(name);
    if (!params) throw new HttpError(400, `Wrong input: Not existing vector name error: ${name}`);
    if (vector.length !== params.size) {
      throw new HttpError(
        400,
        `Wrong input: Vector dimension error: expected dim: ${params.size}, got ${vector.length}`,
      );
    }
    const queryVector = params.distance === "Cosine" ? normalize(vector) : vector;
    return filtered
      .flatMap((point) => {
        const stored = point.dense.get(name);
        return stored ? [{ point, score: dot(stored, queryVector) }] : [];
      })
      .sort((a, b) => b.score - a.score);
  }
  if (vector && typeof vector === "object" && "indices" in vector) {
    const params = collection.config.sparse.get(name);
    if (!params) throw new HttpError(400, `Wrong input: Not existing vector name error: ${name}`);
    const sparse = vector as { indices: number[]; values: number[] };
    if (sparse.indices.length === 0) return [];
    const weights = params.modifier === "idf" ? idfWeights(collection, name, sparse) : sparse.values;
    const withVector = filtered.filter((point) => point.sparse.has(name));
    // Qdrant scans small filtered sets plainly, scoring every point (0 when no term is shared);
    // otherwise it walks the inverted index, which only reaches points sharing a term.
    const plain = filter !== undefined && withVector.length < SPARSE_FULL_SCAN_THRESHOLD;
    return withVector
      .flatMap((point) => {
        const stored = point.sparse.get(name)!;
        let score = 0;
        let shared = false;
        sparse.indices.forEach((index, position) => {
          const at = stored.indices.indexOf(index);
          if (at >= 0) {
            shared = true;
            score += (stored.values[at] ?? 0) * (weights[position] ?? 0);
          }
        });
        return shared || plain ? [{ point, score }] : [];
      })
      .sort((a, b) => b.score - a.score);
  }
  throw new Unsupported(`query ${JSON.stringify(spec).slice(0, 80)}`);
}

/**
 * Qdrant's `fancy_idf`: ln((n − df + 0.5) / (df + 0.5) + 1), with n the number of points holding this
 * sparse vector and df the number of those holding the dimension; it multiplies the query weights.
 */
export function inverseDocumentFrequency(documentCount: number, documentFrequency: number): number {
  return Math.log((documentCount - documentFrequency + 0.5) / (documentFrequency + 0.5) + 1);
}

function idfWeights(
  collection: StandInCollection,
  name: string,
  sparse: { indices: number[]; values: number[] },
): number[] {
  const holders = [...collection.points.values()].flatMap((point) => point.sparse.get(name) ?? []);
  return sparse.indices.map((index, position) => {
    const frequency = holders.filter((vector) => vector.indices.includes(index)).length;
    return (sparse.values[position] ?? 0) * inverseDocumentFrequency(holders.length, frequency);
  });
}

/** Qdrant's RRF: Σ 1 / ((rank + 1) / weight + k − 1), rank from 0; ties keep no particular order. */
export function reciprocalRankFusion(
  sources: { point: StoredPoint; score: number }[][],
  k: number,
  weights: number[] | undefined,
): Scored[] {
  if (weights && weights.length !== sources.length) {
    throw new HttpError(
      400,
      `Wrong input: Number of weights in RRF should match number of pre-fetches: got ${weights.length}, expected ${sources.length}`,
    );
  }
  const fused = new Map<string, Scored>();
  sources.forEach((source, sourceIndex) => {
    const weight = weights?.[sourceIndex] ?? 1;
    source.forEach(({ point }, rank) => {
      const contribution = weight <= 0 ? 0 : 1 / ((rank + 1) / weight + k - 1);
      const key = idKey(point.id);
      const known = fused.get(key);
      if (known) known.score += contribution;
      else fused.set(key, { point, score: contribution });
    });
  });
  return [...fused.values()].sort((a, b) => b.score - a.score);
}

function present(scored: Scored, request: Record<string, unknown>) {
  return {
    id: scored.point.id,
    version: scored.point.version,
    score: scored.score,
    ...selectPayload(scored.point, request.with_payload ?? false),
    ...selectVector(scored.point, request.with_vector ?? false),
  };
}

function selectPayload(point: StoredPoint, selector: unknown): { payload?: Record<string, unknown> } {
  if (selector === false || selector === null) return {};
  if (selector === true) return { payload: point.payload };
  if (Array.isArray(selector)) return { payload: pick(point.payload, selector.map(String)) };
  const { include, exclude } = selector as { include?: string[]; exclude?: string[] };
  if (include) return { payload: pick(point.payload, include) };
  if (exclude) {
    return {
      payload: Object.fromEntries(Object.entries(point.payload).filter(([key]) => !exclude.includes(key))),
    };
  }
  throw new Unsupported(`with_payload ${JSON.stringify(selector)}`);
}

function pick(payload: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((key) => key in payload).map((key) => [key, payload[key]]));
}

function selectVector(point: StoredPoint, selector: unknown): { vector?: Record<string, unknown> } {
  if (selector === false || selector === null) return {};
  const all: Record<string, unknown> = {
    ...Object.fromEntries(point.dense),
    ...Object.fromEntries(point.sparse),
  };
  if (selector === true) return { vector: all };
  if (Array.isArray(selector)) return { vector: pick(all, selector.map(String)) };
  throw new Unsupported(`with_vector ${JSON.stringify(selector)}`);
}

// ---- filters ----

function combineFilters(outer: unknown, inner: unknown): unknown {
  if (outer === undefined || outer === null) return inner ?? undefined;
  if (inner === undefined || inner === null) return outer;
  return { must: [outer, inner] };
}

const asList = (value: unknown): unknown[] =>
  value === undefined || value === null ? [] : Array.isArray(value) ? value : [value];

function matches(point: StoredPoint, filter: unknown): boolean {
  if (filter === undefined || filter === null) return true;
  const { must, should, must_not, min_should } = filter as Record<string, unknown>;
  if (!asList(must).every((condition) => holds(point, condition))) return false;
  const shouldList = asList(should);
  if (shouldList.length > 0 && !shouldList.some((condition) => holds(point, condition))) return false;
  if (asList(must_not).some((condition) => holds(point, condition))) return false;
  if (min_should !== undefined && min_should !== null) {
    const { conditions, min_count } = min_should as { conditions: unknown[]; min_count: number };
    if (conditions.filter((condition) => holds(point, condition)).length < min_count) return false;
  }
  return true;
}

function holds(point: StoredPoint, condition: unknown): boolean {
  const record = condition as Record<string, unknown>;
  if ("has_id" in record) {
    const keys = new Set((record.has_id as unknown[]).map((id) => idKey(normalizeId(id))));
    return keys.has(idKey(point.id));
  }
  if ("is_empty" in record) {
    const values = valuesAt(point.payload, (record.is_empty as { key: string }).key);
    return values.length === 0;
  }
  if ("is_null" in record) {
    const values = rawAt(point.payload, (record.is_null as { key: string }).key);
    return values.some((value) => value === null);
  }
  if ("must" in record || "should" in record || "must_not" in record || "min_should" in record) {
    return matches(point, record);
  }
  if ("key" in record) {
    const values = valuesAt(point.payload, String(record.key));
    const supported = ["key", "match", "range"];
    for (const [field, value] of Object.entries(record)) {
      if (!supported.includes(field) && value !== undefined && value !== null) {
        throw new Unsupported(`field condition ${field}`);
      }
    }
    if (record.match !== undefined && record.match !== null) {
      const match = record.match as Record<string, unknown>;
      if ("value" in match) return values.some((value) => value === match.value);
      if ("any" in match) return values.some((value) => (match.any as unknown[]).includes(value));
      if ("except" in match) {
        // Qdrant: a missing field, or any value outside the list, matches.
        return values.length === 0 || values.some((value) => !(match.except as unknown[]).includes(value));
      }
      throw new Unsupported(`match ${JSON.stringify(match)}`);
    }
    if (record.range !== undefined && record.range !== null) {
      const { gt, gte, lt, lte } = record.range as Record<string, number | null | undefined>;
      return values.some(
        (value) =>
          typeof value === "number" &&
          (gt === undefined || gt === null || value > gt) &&
          (gte === undefined || gte === null || value >= gte) &&
          (lt === undefined || lt === null || value < lt) &&
          (lte === undefined || lte === null || value <= lte),
      );
    }
    throw new Unsupported(`field condition without match or range on ${String(record.key)}`);
  }
  throw new Unsupported(`condition ${JSON.stringify(condition).slice(0, 80)}`);
}

function rawAt(payload: Record<string, unknown>, key: string): unknown[] {
  let current: unknown[] = [payload];
  for (const part of key.split(".")) {
    current = current.flatMap((node) => {
      if (Array.isArray(node)) return node.map((item) => (item as Record<string, unknown>)?.[part]);
      return node !== null && typeof node === "object" ? [(node as Record<string, unknown>)[part]] : [];
    });
  }
  return current.filter((value) => value !== undefined);
}

/** Values at a payload key; arrays count as each of their elements, as in Qdrant. */
function valuesAt(payload: Record<string, unknown>, key: string): unknown[] {
  return rawAt(payload, key)
    .flatMap((value) => (Array.isArray(value) ? value : [value]))
    .filter((value) => value !== null);
}

function normalize(vector: number[]): number[] {
  const length = Math.sqrt(dot(vector, vector));
  return length === 0 ? vector : vector.map((value) => value / length);
}

function dot(a: number[], b: number[]): number {
  let sum = 0;
  for (let index = 0; index < a.length; index++) sum += (a[index] ?? 0) * (b[index] ?? 0);
  return sum;
}
