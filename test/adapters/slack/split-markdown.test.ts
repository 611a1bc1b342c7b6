import { describe, expect, it } from "vitest";
import { splitMarkdown } from "../../../src/adapters/slack/split-markdown.js";

const words = (text: string) =>
  text
    .replace(/```\w*/g, " ")
    .split(/\s+/)
    .filter(Boolean);

describe("splitMarkdown", () => {
  it("keeps short text whole", () => {
    expect(splitMarkdown("hello **world**", 100)).toEqual(["hello **world**"]);
  });

  it("cuts at paragraph boundaries under the limit", () => {
    const text = ["a".repeat(40), "b".repeat(40), "c".repeat(40)].join("\n\n");
    expect(splitMarkdown(text, 90)).toEqual([`${"a".repeat(40)}\n\n${"b".repeat(40)}`, "c".repeat(40)]);
  });

  it("closes and reopens a code block cut in the middle, keeping its language", () => {
    const code = Array.from({ length: 30 }, (_, index) => `line ${index};`).join("\n");
    const text = `Intro\n\n\`\`\`ts\n${code}\n\`\`\`\n\nOutro`;
    const pieces = splitMarkdown(text, 120);
    expect(pieces.length).toBeGreaterThan(2);
    for (const piece of pieces) {
      expect(piece.length).toBeLessThanOrEqual(120);
      expect((piece.match(/```/g) ?? []).length % 2).toBe(0);
    }
    expect(pieces[2]?.startsWith("```ts\n")).toBe(true);
    expect(words(pieces.join("\n"))).toEqual(words(text));
  });

  it("hard-cuts a single huge word without losing characters or splitting an emoji", () => {
    const text = "😀".repeat(100);
    const pieces = splitMarkdown(text, 51);
    expect(pieces.join("")).toBe(text);
    for (const piece of pieces) expect(piece.length).toBeLessThanOrEqual(51);
  });
});
