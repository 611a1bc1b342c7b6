import { describe, expect, it } from "vitest";
import { findMarkdownCut, openFenceAt, splitMarkdown } from "../../../src/core/markdown/split-markdown.js";

const words = (text: string) =>
  text
    .replace(/(```|~~~)\w*/g, " ")
    .split(/\s+/)
    .filter(Boolean);

describe("splitMarkdown on parsed blocks", () => {
  it("cuts a long list between items, keeping each item's marker", () => {
    const items = Array.from({ length: 12 }, (_, index) => `- item ${index} ${"x".repeat(30)}`);
    const pieces = splitMarkdown(items.join("\n"), 120);
    expect(pieces.length).toBeGreaterThan(3);
    for (const piece of pieces) {
      expect(piece.length).toBeLessThanOrEqual(120);
      for (const line of piece.split("\n")) expect(line).toMatch(/^- item \d+ x+$/);
    }
    expect(pieces.join("\n")).toBe(items.join("\n"));
  });

  it("repeats a long table's header above the rows of every piece", () => {
    const header = "| name | value |\n| --- | --- |";
    const rows = Array.from({ length: 20 }, (_, index) => `| row ${index} | ${"v".repeat(10)} |`);
    const pieces = splitMarkdown(`Table:\n\n${header}\n${rows.join("\n")}`, 150);
    const tables = pieces.filter((piece) => piece.includes("| row"));
    expect(tables.length).toBeGreaterThan(1);
    for (const table of tables) {
      expect(table.length).toBeLessThanOrEqual(150);
      expect(table.slice(table.indexOf("| name"))).toMatch(/^\| name \| value \|\n\| --- \| --- \|\n\| row/);
    }
    expect(tables.join("\n").match(/\| row \d+/g)).toEqual(rows.map((_, index) => `| row ${index}`));
  });

  it("does not take a fence inside a code block's text for the end of the block", () => {
    const code = ["~~~md", "```", ...Array.from({ length: 20 }, (_, index) => `line ${index}`), "```", "~~~"];
    const pieces = splitMarkdown(`Look:\n\n${code.join("\n")}\n\nEnd.`, 80);
    for (const piece of pieces.filter((piece) => piece.includes("line "))) {
      expect(piece).toMatch(/^(Look:\n\n)?~~~md\n[\s\S]*\n~~~(\n\nEnd\.)?$/);
    }
    expect(words(pieces.join("\n"))).toEqual(words(`Look:\n\n${code.join("\n")}\n\nEnd.`));
  });

  it("keeps single line breaks (Discord shows them) and cuts a long paragraph at a line end", () => {
    const lines = Array.from({ length: 10 }, (_, index) => `• point ${index} ${"y".repeat(20)}`);
    const pieces = splitMarkdown(lines.join("\n"), 100);
    expect(pieces.join("\n")).toBe(lines.join("\n"));
    for (const piece of pieces) expect(piece.length).toBeLessThanOrEqual(100);
  });

  it("splits hostile nesting as plain text instead of exhausting the lexer", () => {
    for (const text of [`${"> ".repeat(20_000)}x`, `${"- ".repeat(20_000)}x`]) {
      const pieces = splitMarkdown(text, 2_000);
      expect(pieces.join(" ").replace(/\s+/g, " ")).toBe(text.replace(/\s+/g, " "));
      for (const piece of pieces) expect(piece.length).toBeLessThanOrEqual(2_000);
    }
  });

  it("keeps Windows line ends and cuts between the blocks they separate", () => {
    const text = `${"a".repeat(30)}\r\n\r\n${"b".repeat(30)}`;
    expect(splitMarkdown(text, 40)).toEqual(["a".repeat(30), "b".repeat(30)]);
  });

  it("refuses a limit too small to hold a fence", () => {
    expect(() => splitMarkdown("anything", 10)).toThrow(RangeError);
  });
});

describe("cuts in a streamed answer", () => {
  it("prefers the end of a block, then a line end, then a space", () => {
    const text = `${"a".repeat(30)}\n\n${"b".repeat(30)}\nccc ddd ${"e".repeat(40)}`;
    expect(findMarkdownCut(text, 10, 40)).toBe(30);
    expect(findMarkdownCut(text, 35, 70)).toBe(text.indexOf("\nccc"));
    expect(findMarkdownCut(text, 68, 75)).toBe(text.lastIndexOf(" "));
    expect(findMarkdownCut("short", 1, 10)).toBe(5);
  });

  it("knows when a cut falls inside a fenced code block, and which fence reopens it", () => {
    const text = "Intro\n\n```ts\nconst a = 1;\nconst b = 2;\n```\n\nAfter";
    expect(openFenceAt(text, text.indexOf("const b"))).toBe("```ts");
    expect(openFenceAt(text, text.indexOf("```\n\nAfter") + 3)).toBeUndefined();
    expect(openFenceAt(text, 3)).toBeUndefined();
    // A fence still streaming in is open up to the end of the text.
    expect(openFenceAt("Intro\n\n```py\nprint(1)", 21)).toBe("```py");
  });
});
