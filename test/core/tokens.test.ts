import { describe, expect, it } from "vitest";
import { countTokens, truncateToTokens } from "../../src/core/tokens.js";

describe("token counting", () => {
  it("counts ordinary text like the tokenizer does", () => {
    expect(countTokens("")).toBe(0);
    expect(countTokens("hello world")).toBe(2);
  });

  it("encodes long runs without spaces in 32-character slices (whole-run encoding is quadratic)", () => {
    const blob = "가나다라마바사아자차카타파하".repeat(300) + "Qm9vbXMgYW5kIGJsb2Jz".repeat(300);
    let sliced = 0;
    for (let offset = 0; offset < blob.length; offset += 32)
      sliced += countTokens(blob.slice(offset, offset + 32));
    expect(countTokens(blob)).toBe(sliced);
    const truncated = truncateToTokens(blob, 500);
    expect(countTokens(truncated)).toBeLessThanOrEqual(500);
    expect(countTokens(truncated)).toBeGreaterThan(480);
    expect(blob.startsWith(truncated)).toBe(true);
  });

  it("truncates on a token boundary and leaves short text alone", () => {
    expect(truncateToTokens("one two three four five", 2)).toBe("one two");
    expect(truncateToTokens("short", 100)).toBe("short");
    expect(truncateToTokens("anything", 0)).toBe("");
  });
});
