import { describe, expect, it } from "vitest";
import { type BeirDataset, evaluateRankings } from "../../bench/_beir.js";

function dataset(qrels: Record<string, Record<string, number>>): BeirDataset {
  return {
    corpus: [],
    queries: Object.keys(qrels).map((id) => ({ id, text: id })),
    qrels: new Map(Object.entries(qrels).map(([id, grades]) => [id, new Map(Object.entries(grades))])),
  };
}

describe("evaluateRankings", () => {
  it("computes nDCG with linear gain, recall and MRR as trec_eval does", () => {
    const data = dataset({ q1: { a: 2, b: 1, z: 0 }, q2: { c: 1 } });
    const metrics = evaluateRankings(
      data,
      new Map([
        ["q1", ["x", "a", "z", "b"]],
        ["q2", []],
      ]),
    );
    // q1: DCG = 2/log2(3) + 1/log2(5); ideal = 2/log2(2) + 1/log2(3). q2 retrieves nothing.
    const ndcgQ1 = (2 / Math.log2(3) + 1 / Math.log2(5)) / (2 + 1 / Math.log2(3));
    expect(metrics["ndcg@10"]).toBeCloseTo(ndcgQ1 / 2, 10);
    expect(metrics["recall@10"]).toBeCloseTo(0.5, 10);
    expect(metrics["recall@100"]).toBeCloseTo(0.5, 10);
    expect(metrics["mrr@10"]).toBeCloseTo(0.25, 10);
  });

  it("ignores a retrieved document that is the query itself, and ranks past 10 only for recall@100", () => {
    const data = dataset({ q1: { d: 1 } });
    const ranking = ["q1", ...Array.from({ length: 10 }, (_, index) => `n${index}`), "d"];
    const metrics = evaluateRankings(data, new Map([["q1", ranking]]));
    expect(metrics["ndcg@10"]).toBe(0);
    expect(metrics["recall@10"]).toBe(0);
    expect(metrics["recall@100"]).toBe(1);
    expect(metrics["mrr@10"]).toBe(0);
  });
});
