/**
 * A second process for the cross-process usage test: its own Redis connection and UsageMeter,
 * recording `USAGE_CALLS` LLM calls of 100 + 10 tokens for one person as fast as it can, all at once.
 * Prints "ready" once connected, starts when a line arrives on stdin (so both processes write at the
 * same time), and prints "recorded" when done.
 */
import { Redis } from "ioredis";
import { RedisUsageStore } from "../../src/adapters/redis/redis-usage-store.js";
import { silentLogger } from "../../src/core/ports/logger.js";
import { DEFAULT_MODEL_PRICES } from "../../src/core/usage/model-prices.js";
import { UsageMeter } from "../../src/core/usage/usage-meter.js";

const environment = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

const client = new Redis(environment("REDIS_URL"));
const meter = new UsageMeter({
  store: new RedisUsageStore({ client, keyPrefix: environment("USAGE_KEY_PREFIX") }),
  prices: DEFAULT_MODEL_PRICES,
  logger: silentLogger,
});
await client.ping();
process.stdout.write("ready\n");
await new Promise((resolve) => process.stdin.once("data", resolve));
const requester = {
  platform: "slack" as const,
  workspaceId: "T1",
  channelId: "C1",
  userId: environment("USAGE_USER"),
};
await Promise.all(
  Array.from({ length: Number(environment("USAGE_CALLS")) }, () =>
    meter.record(requester, "gpt-4.1-mini", { promptTokens: 100, completionTokens: 10 }),
  ),
);
await client.quit();
process.stdout.write("recorded\n");
