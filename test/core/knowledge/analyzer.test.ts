import { describe, expect, it } from "vitest";
import { analyze } from "../../../src/core/knowledge/analyzer.js";

describe("analyze", () => {
  it("folds case, drops stopwords and possessives, and stems English", () => {
    expect(analyze("The Children's hospitals are RUNNING trials")).toEqual([
      "children",
      "hospit",
      "run",
      "trial",
    ]);
  });

  it("keeps numbers, without thousands separators, and splits hyphenated words", () => {
    expect(analyze("COVID-19 cost 9,000 won in 2023 (3.5%)")).toEqual([
      "covid",
      "19",
      "cost",
      "9000",
      "won",
      "2023",
      "3.5",
    ]);
  });

  it("normalizes compatibility forms with NFKC", () => {
    expect(analyze("ｆｕｌｌ－ｗｉｄｔｈ ﬁles ①")).toEqual(["full", "width", "file", "1"]);
    expect(analyze("café")).toEqual(analyze("cafe\u0301"));
  });

  it("turns Hangul runs into character bigrams and keeps one-character words", () => {
    expect(analyze("장애인 자립자금은 및")).toEqual(["장애", "애인", "자립", "립자", "자금", "금은", "및"]);
  });

  it("splits mixed-script tokens and keeps the Katakana length mark inside its run", () => {
    expect(analyze("DMZ근무자")).toEqual(["dmz", "근무", "무자"]);
    expect(analyze("東京タワー")).toEqual(["東京", "京タ", "タワ", "ワー"]);
  });

  it("analyzes a question and a document the same way, so their terms meet", () => {
    const document = new Set(analyze("Deploying the services requires Kubernetes clusters."));
    for (const term of analyze("how do I deploy a service to a kubernetes cluster?")) {
      expect(document.has(term)).toBe(true);
    }
  });

  it("returns nothing for punctuation or stopwords only", () => {
    expect(analyze("... the of and, is!")).toEqual([]);
    expect(analyze("")).toEqual([]);
  });
});
