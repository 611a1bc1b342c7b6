import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, "../..");

describe("`bench sync` on a small site", () => {
  it("prints both syncs, and the unchanged re-sync makes no embedding call and no chunk write", async () => {
    const { stdout } = await run(
      join(ROOT, "node_modules/.bin/tsx"),
      ["bench/run.ts", "sync", "30", "--rounds", "1"],
      {
        cwd: ROOT,
        timeout: 120_000,
      },
    );
    expect(stdout).toMatch(
      /^first sync: +[\d.]+ s +\(30 new; 30 embedding calls, 30 chunk writes; load [\d.]+\)$/m,
    );
    expect(stdout).toMatch(
      /^unchanged sync: +[\d.]+ s +\(30 unchanged, 0 changed; 0 embedding calls, 0 chunk writes; 32 HTTP requests, 30 answered 304; load [\d.]+\)$/m,
    );
    expect(stdout).toMatch(
      /^ratio: +[\d.]+ % of the first sync \(goal ≤ 10 %\) [✓✗]; embeddings 0 ✓, chunk writes 0 ✓/m,
    );
  }, 150_000);
});
