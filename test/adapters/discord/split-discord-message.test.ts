import { describe, expect, it } from "vitest";
import { splitDiscordMessage } from "../../../src/adapters/discord/split-discord-message.js";

const fenceCount = (text: string) => (text.match(/^```/gm) ?? []).length;

describe("splitDiscordMessage", () => {
  it("keeps a short text whole", () => {
    expect(splitDiscordMessage("hello")).toEqual(["hello"]);
    expect(splitDiscordMessage("")).toEqual([]);
  });

  it("cuts at paragraph boundaries, never inside a paragraph that fits", () => {
    const paragraphs = Array.from({ length: 6 }, (_, index) => `P${index} ${"x".repeat(700)}`);
    const parts = splitDiscordMessage(paragraphs.join("\n\n"));
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(2000);
    for (const paragraph of paragraphs) expect(parts.some((part) => part.includes(paragraph))).toBe(true);
    expect(parts.join("\n\n")).toBe(paragraphs.join("\n\n"));
  });

  it("closes and reopens a code block that alone exceeds the limit", () => {
    const lines = Array.from({ length: 200 }, (_, index) => `print(${index})  # a line of python code`);
    const text = `Here:\n\n\`\`\`python\n${lines.join("\n")}\n\`\`\`\n\nDone.`;
    const parts = splitDiscordMessage(text);
    expect(parts.length).toBeGreaterThan(2);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(2000);
      expect(fenceCount(part) % 2).toBe(0);
    }
    const codeParts = parts.filter((part) => part.includes("print("));
    for (const part of codeParts) expect(part).toMatch(/```python\n[\s\S]*\n```/);
    const printed = parts.join("\n").match(/print\(\d+\)/g) ?? [];
    expect(printed).toEqual(lines.map((_, index) => `print(${index})`));
    expect(parts.at(-1)?.endsWith("Done.")).toBe(true);
  });

  it("splits a single huge line at word boundaries", () => {
    const text = "word ".repeat(1000).trim();
    const parts = splitDiscordMessage(text, 300);
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(300);
    expect(parts.join(" ")).toBe(text);
  });
});
