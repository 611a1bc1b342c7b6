import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { RedisUsageStore } from "../../src/adapters/redis/redis-usage-store.js";
import { silentLogger } from "../../src/core/ports/logger.js";
import { DEFAULT_MODEL_PRICES } from "../../src/core/usage/model-prices.js";
import { UsageMeter } from "../../src/core/usage/usage-meter.js";
import { waitFor } from "../support/e2e-helpers.js";
import { deleteKeysUnder, REDIS_URL } from "../support/redis-keys.js";

const RECORDER = join(import.meta.dirname, "../support/usage-recorder-process.ts");
const CALLS = 200;

describe("usage counts shared by two processes on Redis", () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it("adds up every call recorded at the same time by this process and another, and both see the limit", async () => {
    const keyPrefix = `teammate-test:${randomUUID()}:`;
    const client = new Redis(REDIS_URL);
    cleanups.push(async () => {
      await deleteKeysUnder(client, keyPrefix);
      await client.quit();
    });
    const store = new RedisUsageStore({ client, keyPrefix });
    const meter = new UsageMeter({ store, prices: DEFAULT_MODEL_PRICES, logger: silentLogger });
    const workspace = { platform: "slack" as const, workspaceId: "T1" };

    const child = spawn(process.execPath, ["--import", "tsx", RECORDER], {
      env: {
        ...process.env,
        REDIS_URL,
        USAGE_KEY_PREFIX: keyPrefix,
        USAGE_CALLS: String(CALLS),
        USAGE_USER: "U2",
      },
      stdio: ["pipe", "pipe", "inherit"],
    });
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const requester = { ...workspace, channelId: "C1", userId: "U1" };
    await waitFor(() => output.includes("ready"), "the other process to connect", 20_000);
    child.stdin?.end("go\n");
    await Promise.all(
      Array.from({ length: CALLS }, () =>
        meter.record(requester, "gpt-4.1-mini", { promptTokens: 100, completionTokens: 10 }),
      ),
    );
    expect(await exited).toBe(0);
    expect(output).toContain("recorded");

    // gpt-4.1-mini: 100 × $0.40/M + 10 × $1.60/M = 56 000 nano-USD a call.
    const both = {
      promptTokens: 200 * CALLS,
      completionTokens: 20 * CALLS,
      costNanoUsd: 112_000 * CALLS,
      calls: 2 * CALLS,
    };
    expect(await meter.report(workspace, { kind: "workspace", id: "" }, "today")).toEqual(both);
    expect(await meter.report(workspace, { kind: "channel", id: "C1" }, "month")).toEqual(both);
    expect(await meter.report(workspace, { kind: "user", id: "U2" }, "today")).toEqual({
      promptTokens: 100 * CALLS,
      completionTokens: 10 * CALLS,
      costNanoUsd: 56_000 * CALLS,
      calls: CALLS,
    });

    // A limit set here is checked against the other process's calls too.
    await store.setQuota(workspace, {
      subject: { kind: "channel", id: "C1" },
      period: "day",
      unit: "tokens",
      limit: 220 * CALLS,
      setBy: "UADMIN",
      at: Date.now(),
    });
    expect(await meter.refusal({ ...workspace, channelId: "C1", userId: "U3" })).toMatch(
      /^This channel has used 44,000 tokens of its limit of 44,000 tokens for today/,
    );
  });
});
