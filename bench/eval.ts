/**
 * `npm run eval -- --dataset <dir> [--split test]`: indexes a BEIR corpus into a fresh SqliteVectorStore
 * through the product's chunk → analyze path, runs the split's queries and prints nDCG@10, recall@10,
 * recall@100 and MRR@10. A document scores by its best chunk. The last line is one JSON object.
 *
 * `--k1` and `--b` override the BM25 parameters, for tuning on train splits only.
 */
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import {
  SqliteVectorStore,
  type SqliteVectorStoreOptions,
} from "../src/adapters/sqlite/sqlite-vector-store.js";
import { analyze } from "../src/core/knowledge/analyzer.js";
import { chunkDocument, toChunkRecords } from "../src/core/knowledge/chunker.js";
import type { DocumentScope, QueryScope } from "../src/core/ports/vector-store.js";
import {
  BEIR_DATASET_HINT,
  type BeirDataset,
  beirDatasetProblem,
  evaluateRankings,
  loadBeirDataset,
  type Metrics,
} from "./_beir.js";

const scope: DocumentScope = { platform: "local", workspaceId: "eval" };
const askScope: QueryScope = { platform: "local", workspaceId: "eval", channelId: "eval" };

export async function indexCorpus(store: SqliteVectorStore, dataset: BeirDataset): Promise<number> {
  let chunkCount = 0;
  for (const document of dataset.corpus) {
    const chunks = chunkDocument({
      id: document.id,
      title: document.title,
      text: document.text,
      format: "text",
      source: document.id,
    });
    chunkCount += chunks.length;
    await store.replaceDocument(document.id, scope, toChunkRecords(chunks, scope));
  }
  return chunkCount;
}

/** Ranks documents by their best chunk, deep enough for recall@100: fetches more chunks until `depth` documents. */
export async function rankDocuments(
  store: SqliteVectorStore,
  question: string,
  depth = 100,
): Promise<string[]> {
  const terms = analyze(question);
  for (let limit = depth * 2; ; limit *= 2) {
    const results = await store.search({ scope: askScope, terms, limit });
    const documents = [...new Set(results.map((result) => result.chunk.documentId))];
    if (documents.length >= depth || results.length < limit) return documents.slice(0, depth);
  }
}

export async function evaluate(directory: string, split: string, options: SqliteVectorStoreOptions = {}) {
  const dataset = loadBeirDataset(directory, split);
  const database = new Database(":memory:");
  const store = new SqliteVectorStore(database, options);
  const indexStart = performance.now();
  const chunkCount = await indexCorpus(store, dataset);
  const indexSeconds = (performance.now() - indexStart) / 1000;
  const rankings = new Map<string, string[]>();
  const queryStart = performance.now();
  for (const query of dataset.queries) rankings.set(query.id, await rankDocuments(store, query.text));
  const querySeconds = (performance.now() - queryStart) / 1000;
  database.close();
  return { dataset, chunkCount, indexSeconds, querySeconds, metrics: evaluateRankings(dataset, rankings) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      dataset: { type: "string" },
      split: { type: "string", default: "test" },
      k1: { type: "string" },
      b: { type: "string" },
    },
  });
  const problem = beirDatasetProblem(values.dataset, values.split);
  if (problem || !values.dataset) {
    // One sentence and the fix, not a stack: this is the first thing someone trying eval sees.
    console.error(
      `eval: ${problem}. Usage: npm run eval -- --dataset <beir-folder> [--split test]; ${BEIR_DATASET_HINT}.`,
    );
    process.exit(2);
  }
  const options: SqliteVectorStoreOptions = {};
  if (values.k1) options.k1 = Number(values.k1);
  if (values.b) options.b = Number(values.b);
  const result = await evaluate(values.dataset, values.split, options);
  const { dataset, metrics } = result;
  console.log(
    `${values.dataset} [${values.split}]: ${dataset.corpus.length} documents → ${result.chunkCount} chunks ` +
      `indexed in ${result.indexSeconds.toFixed(1)} s; ${dataset.queries.length} queries in ${result.querySeconds.toFixed(1)} s`,
  );
  for (const key of Object.keys(metrics) as Array<keyof Metrics>) {
    console.log(`${key.padEnd(11)} ${metrics[key].toFixed(4)}`);
  }
  const rounded = Object.fromEntries(
    Object.entries(metrics).map(([key, value]) => [key, Number(value.toFixed(4))]),
  );
  console.log(JSON.stringify(rounded));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await main().catch((error: unknown) => {
    console.error(`eval: ${error instanceof Error ? error.message : String(error)}`);
    if (process.env.LOG_LEVEL === "debug" && error instanceof Error) console.error(error.stack);
    process.exit(1);
  });
}
