import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../..");

// Built from parts so this file does not match itself.
const OUTSIDE = [new RegExp(["\\.\\.", "shared"].join("/")), new RegExp(["", "work", "shared"].join("/"))];

describe("the repository stands alone", () => {
  it("no tracked file reads from a sibling shared/ folder", () => {
    const files = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard"], {
      cwd: ROOT,
      encoding: "utf8",
    })
      .split("\n")
      .filter(Boolean);
    expect(files.length).toBeGreaterThan(100);
    const offenders: string[] = [];
    for (const file of files) {
      let text: string;
      try {
        text = readFileSync(join(ROOT, file), "utf8");
      } catch {
        continue; // deleted in the work tree
      }
      text.split("\n").forEach((line, index) => {
        if (OUTSIDE.some((pattern) => pattern.test(line)))
          offenders.push(`${file}:${index + 1}: ${line.trim()}`);
      });
    }
    expect(offenders).toEqual([]);
  });
});
