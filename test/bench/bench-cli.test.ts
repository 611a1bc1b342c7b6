import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, "../..");
const tsx = join(ROOT, "node_modules/.bin/tsx");

async function outcome(args: string[]) {
  try {
    const { stdout, stderr } = await run(tsx, args, { cwd: ROOT, timeout: 120_000 });
    return { code: 0, text: stdout + stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, text: failed.stdout + failed.stderr };
  }
}

describe("benchmarks without their data set", () => {
  it("`bench retrieval` skips with one line that says where to get the data", async () => {
    const result = await outcome(["bench/run.ts", "retrieval", "--dataset", "/nonexistent/scifact"]);
    expect(result.code).toBe(0);
    const lines = result.text.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^retrieval: skipped \(\/nonexistent\/scifact does not exist\); get SciFact/);
  }, 150_000);

  it("`eval` with a bad --dataset path gives one sentence and the fix, no stack", async () => {
    const result = await outcome(["bench/eval.ts", "--dataset", ROOT]);
    expect(result.code).toBe(2);
    expect(result.text.trim().split("\n")).toHaveLength(1);
    expect(result.text).toContain("has no corpus.jsonl, so it is not a BEIR data set");
    expect(result.text).not.toMatch(/\n\s+at /);
  }, 150_000);
});
