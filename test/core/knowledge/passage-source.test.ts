import { describe, expect, it } from "vitest";
import { sourceOfPassage } from "../../../src/core/knowledge/passage-source.js";

describe("sourceOfPassage", () => {
  it("numbers passages from 1 as the answer cites them, keeping only what a source shows", () => {
    const passages = [
      { documentId: "d1", title: "Runbook", location: "https://wiki.example/runbook", text: "t", score: 0.9 },
      { documentId: "d2", title: "Notes", location: "notes/ops.md", text: "u", score: 0.5 },
    ];
    expect(passages.map(sourceOfPassage)).toEqual([
      { index: 1, title: "Runbook", location: "https://wiki.example/runbook", documentId: "d1" },
      { index: 2, title: "Notes", location: "notes/ops.md", documentId: "d2" },
    ]);
  });
});
