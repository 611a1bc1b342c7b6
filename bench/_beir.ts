/**
 * BEIR-format data sets (`corpus.jsonl`, `queries.jsonl`, `qrels/<split>.tsv`) and the trec_eval-style
 * metrics the evaluation and the retrieval benchmark report.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

export interface BeirDocument {
  id: string;
  title: string;
  text: string;
}

export interface BeirDataset {
  corpus: BeirDocument[];
  /** Queries of the split that have judgements, in file order. */
  queries: Array<{ id: string; text: string }>;
  /** query id → (document id → relevance grade). */
  qrels: Map<string, Map<string, number>>;
}

/** Where to get the data set the benchmarks were measured on, for the one-line skip and error messages. */
export const BEIR_DATASET_HINT =
  "get SciFact in BEIR format from https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets/scifact.zip, unzip it and pass --dataset <folder>";

/**
 * Why a folder cannot be read as a BEIR data set (one sentence naming the missing file), or
 * undefined when the three files are there.
 */
export function beirDatasetProblem(directory: string | undefined, split: string): string | undefined {
  if (!directory) return "no --dataset given";
  const folder = resolve(directory);
  if (!existsSync(folder)) return `${folder} does not exist`;
  for (const file of ["corpus.jsonl", "queries.jsonl", join("qrels", `${split}.tsv`)]) {
    if (!existsSync(join(folder, file))) return `${folder} has no ${file}, so it is not a BEIR data set`;
  }
  return undefined;
}

function readJsonLines(path: string): Array<Record<string, unknown>> {
  const rows: Array<Record<string, unknown>> = [];
  readFileSync(path, "utf8")
    .split("\n")
    .forEach((line, index) => {
      if (line.trim() === "") return;
      try {
        rows.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        throw new Error(`${path} line ${index + 1} is not JSON; a BEIR file has one JSON object per line`);
      }
    });
  return rows;
}

export function loadBeirDataset(directory: string, split: string): BeirDataset {
  const problem = beirDatasetProblem(directory, split);
  if (problem) throw new Error(`${problem}; ${BEIR_DATASET_HINT}`);
  const corpus = readJsonLines(join(directory, "corpus.jsonl")).map((row) => ({
    id: String(row._id),
    title: typeof row.title === "string" ? row.title : "",
    text: typeof row.text === "string" ? row.text : "",
  }));
  const qrels = new Map<string, Map<string, number>>();
  const lines = readFileSync(join(directory, "qrels", `${split}.tsv`), "utf8")
    .split("\n")
    .slice(1);
  for (const line of lines) {
    const [queryId, documentId, grade] = line.trim().split("\t");
    if (!queryId || !documentId || grade === undefined) continue;
    const judgements = qrels.get(queryId) ?? new Map<string, number>();
    judgements.set(documentId, Number(grade));
    qrels.set(queryId, judgements);
  }
  const queries = readJsonLines(join(directory, "queries.jsonl"))
    .map((row) => ({ id: String(row._id), text: String(row.text ?? "") }))
    .filter((query) => qrels.has(query.id));
  return { corpus, queries, qrels };
}

export interface Metrics {
  "ndcg@10": number;
  "recall@10": number;
  "recall@100": number;
  "mrr@10": number;
}

/**
 * Means over the judged queries, trec_eval conventions: nDCG with linear gain and log2(rank + 1)
 * discount against the ideal ordering of the judged grades; recall@k as the fraction of relevant
 * (grade > 0) documents in the top k; reciprocal rank of the first relevant document within 10.
 * `rankings` maps query id → document ids, best first.
 */
export function evaluateRankings(dataset: BeirDataset, rankings: Map<string, string[]>): Metrics {
  const totals = { ndcg: 0, recall10: 0, recall100: 0, mrr: 0 };
  for (const query of dataset.queries) {
    const judgements = dataset.qrels.get(query.id) ?? new Map<string, number>();
    // BEIR drops a document that is the query itself (ArguAna, Quora share ids between the two).
    const ranking = (rankings.get(query.id) ?? []).filter((documentId) => documentId !== query.id);
    const relevant = [...judgements.values()].filter((grade) => grade > 0).length;
    let dcg = 0;
    for (let rank = 0; rank < Math.min(10, ranking.length); rank++) {
      const grade = judgements.get(ranking[rank]!) ?? 0;
      if (grade > 0) dcg += grade / Math.log2(rank + 2);
    }
    const ideal = [...judgements.values()]
      .filter((grade) => grade > 0)
      .sort((left, right) => right - left)
      .slice(0, 10)
      .reduce((sum, grade, rank) => sum + grade / Math.log2(rank + 2), 0);
    totals.ndcg += ideal > 0 ? dcg / ideal : 0;
    if (relevant > 0) {
      const found = (k: number) =>
        ranking.slice(0, k).filter((documentId) => (judgements.get(documentId) ?? 0) > 0).length;
      totals.recall10 += found(10) / relevant;
      totals.recall100 += found(100) / relevant;
    }
    const firstRelevant = ranking
      .slice(0, 10)
      .findIndex((documentId) => (judgements.get(documentId) ?? 0) > 0);
    if (firstRelevant >= 0) totals.mrr += 1 / (firstRelevant + 1);
  }
  const count = Math.max(1, dataset.queries.length);
  return {
    "ndcg@10": totals.ndcg / count,
    "recall@10": totals.recall10 / count,
    "recall@100": totals.recall100 / count,
    "mrr@10": totals.mrr / count,
  };
}
