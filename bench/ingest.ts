/**
 * `npm run bench -- ingest --dataset <beir-folder> [--rounds 3]`: end-to-end ingestion on the BM25 path,
 * the way `index` runs it: every corpus document goes through the extraction pool (a worker thread, as
 * plain text), the chunker, the analyzer and `SqliteVectorStore.replaceDocument`. Extraction of the next
 * documents overlaps with chunking and indexing of the current one (eight in flight), as it may in the bot.
 *
 * It prints chunks per second end to end, and the same stages measured alone on the main thread, side by
 * side in each round, with the load average; the best round is reported (on a shared machine a round only
 * gets slower through interference, never faster).
 */
import { existsSync } from "node:fs";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import { countTokens as gptTokenizerCount } from "gpt-tokenizer/encoding/o200k_base";
import { Tiktoken } from "js-tiktoken/lite";
import o200kBase from "js-tiktoken/ranks/o200k_base";
import { ExtractionPool } from "../src/adapters/extract/extraction-pool.js";
import { SqliteVectorStore } from "../src/adapters/sqlite/sqlite-vector-store.js";
import { chunkDocument, toChunkRecords } from "../src/core/knowledge/chunker.js";
import type { LoadedDocument } from "../src/core/ports/document-loader.js";
import type { ChunkRecord, DocumentChunk, DocumentScope } from "../src/core/ports/vector-store.js";
import { countTokens } from "../src/core/tokens.js";
import { type BeirDocument, loadBeirDataset } from "./_beir.js";

const scope: DocumentScope = { platform: "local", workspaceId: "bench" };
const IN_FLIGHT = 8;

function rawOf(document: BeirDocument) {
  const text = document.title ? `${document.title}\n\n${document.text}` : document.text;
  return {
    body: new TextEncoder().encode(text),
    mediaType: "text/plain",
    charset: "utf-8",
    fileName: `${document.id}.txt`,
    source: document.id,
  };
}

function chunksOf(document: BeirDocument, loaded: Pick<LoadedDocument, "text" | "format">): DocumentChunk[] {
  return chunkDocument({
    id: document.id,
    title: document.title || document.id,
    text: loaded.text,
    format: loaded.format,
    source: document.id,
  });
}

async function endToEnd(pool: ExtractionPool, corpus: BeirDocument[]): Promise<number> {
  const database = new Database(":memory:");
  const store = new SqliteVectorStore(database);
  const start = performance.now();
  let chunks = 0;
  const pending: Array<Promise<LoadedDocument>> = [];
  let next = 0;
  const fill = () => {
    while (pending.length < IN_FLIGHT && next < corpus.length) {
      const document = corpus[next++] as BeirDocument;
      pending.push(pool.extract(rawOf(document)));
    }
  };
  fill();
  for (const document of corpus) {
    const loaded = (await pending.shift()) as LoadedDocument;
    fill();
    const documentChunks = chunksOf(document, loaded);
    chunks += documentChunks.length;
    await store.replaceDocument(document.id, scope, toChunkRecords(documentChunks, scope));
  }
  const seconds = (performance.now() - start) / 1000;
  database.close();
  return chunks / seconds;
}

export async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      dataset: { type: "string" },
      split: { type: "string", default: "test" },
      rounds: { type: "string", default: "3" },
    },
  });
  if (!values.dataset || !existsSync(values.dataset)) {
    console.log(
      `ingest: no data set at ${values.dataset ?? "(none given)"}; pass --dataset <BEIR folder>. Skipped.`,
    );
    return;
  }
  const dataset = loadBeirDataset(values.dataset, values.split);
  const corpus = dataset.corpus;
  const rounds = Math.max(1, Number(values.rounds) || 1);
  const pool = new ExtractionPool({ maxQueue: IN_FLIGHT * 2 });
  const endToEndRounds: number[] = [];
  const stageRounds = { chunk: [] as number[], analyze: [] as number[], store: [] as number[] };
  let chunkCount = 0;
  let characters = 0;
  const loads: number[] = [];
  for (let round = 0; round < rounds; round++) {
    loads.push(loadavg()[0] ?? Number.NaN);
    endToEndRounds.push(await endToEnd(pool, corpus));
    // The stages alone, on text already extracted the same way.
    const texts = corpus.map((document) => ({
      text: document.title ? `${document.title}\n\n${document.text}` : document.text,
      format: "text" as const,
    }));
    let start = performance.now();
    const chunked = corpus.map((document, index) =>
      chunksOf(document, texts[index] as { text: string; format: "text" }),
    );
    const chunkSeconds = (performance.now() - start) / 1000;
    chunkCount = chunked.reduce((sum, chunks) => sum + chunks.length, 0);
    start = performance.now();
    const records: ChunkRecord[][] = chunked.map((chunks) => toChunkRecords(chunks, scope));
    const analyzeSeconds = (performance.now() - start) / 1000;
    const database = new Database(":memory:");
    const store = new SqliteVectorStore(database);
    start = performance.now();
    for (const [index, document] of corpus.entries())
      await store.replaceDocument(document.id, scope, records[index] ?? []);
    const storeSeconds = (performance.now() - start) / 1000;
    database.close();
    stageRounds.chunk.push(chunkCount / chunkSeconds);
    stageRounds.analyze.push(chunkCount / analyzeSeconds);
    stageRounds.store.push(chunkCount / storeSeconds);
    characters = texts.reduce((sum, text) => sum + text.text.length, 0);
  }
  await pool.close();
  // Tokenizers side by side on the corpus (as the chunker sees it: one count per sentence-sized piece).
  const reference = new Tiktoken(o200kBase);
  const pieces = corpus.flatMap((document) =>
    `${document.title}\n${document.text}`.split(/(?<=[.!?。])\s+/u),
  );
  const tokenizers: Array<[string, (text: string) => number]> = [
    ["js-tiktoken 1 (before)", (text) => reference.encode(text, [], []).length],
    ["gpt-tokenizer 4", (text) => gptTokenizerCount(text, { disallowedSpecial: new Set() })],
    ["teammate countTokens (o200k merge over byte strings + pre-token cache)", countTokens],
  ];
  const expected = pieces.map((piece) => reference.encode(piece, [], []).length);
  const totalTokens = expected.reduce((sum, count) => sum + count, 0);
  const tokenizerRows: string[] = [];
  for (const [name, count] of tokenizers) {
    const start = performance.now();
    let mismatches = 0;
    for (const [index, piece] of pieces.entries()) if (count(piece) !== expected[index]) mismatches += 1;
    const seconds = (performance.now() - start) / 1000;
    tokenizerRows.push(
      `| ${name} | ${(totalTokens / seconds / 1e6).toFixed(2)} | ${mismatches} of ${pieces.length} |`,
    );
  }
  const best = (list: number[]) => Math.max(...list);
  const perRound = (list: number[]) => list.map((value) => value.toFixed(0)).join(", ");
  console.log(
    `${values.dataset}: ${corpus.length} documents, ${(characters / 1e6).toFixed(1)} M characters → ${chunkCount} chunks`,
  );
  console.log(
    `load average (1 min) at the start of each round: ${loads.map((value) => value.toFixed(2)).join(", ")}`,
  );
  console.log("| stage | chunks/s (best round) | every round |");
  console.log("|---|---:|---|");
  console.log(
    `| end to end: extract (worker) + chunk + analyze + store | ${best(endToEndRounds).toFixed(0)} | ${perRound(endToEndRounds)} |`,
  );
  console.log(
    `| chunk alone (token counting) | ${best(stageRounds.chunk).toFixed(0)} | ${perRound(stageRounds.chunk)} |`,
  );
  console.log(
    `| analyze alone (BM25 terms) | ${best(stageRounds.analyze).toFixed(0)} | ${perRound(stageRounds.analyze)} |`,
  );
  console.log(
    `| store alone (SqliteVectorStore.replaceDocument) | ${best(stageRounds.store).toFixed(0)} | ${perRound(stageRounds.store)} |`,
  );
  console.log("");
  console.log(
    `tokenizers on ${pieces.length} sentence pieces (${totalTokens} o200k tokens), load ${loadavg()[0]?.toFixed(2)}:`,
  );
  console.log("| tokenizer | M tokens/s | counts different from js-tiktoken |");
  console.log("|---|---:|---:|");
  for (const row of tokenizerRows) console.log(row);
  console.log(
    JSON.stringify({ chunks: chunkCount, ingestEndToEndChunksPerSecond: Math.round(best(endToEndRounds)) }),
  );
}
