import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { RedisIdentifyThrottler } from "../../../src/adapters/discord/redis-identify-throttler.js";
import { unreachableRedis } from "../../support/unreachable-redis.js";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

describe("RedisIdentifyThrottler: one IDENTIFY per bucket every five seconds, across processes", () => {
  const clients: Redis[] = [];
  // A bucket's turn expires by itself five seconds after it was taken.
  const keyPrefix = () => `teammate-test-identify-${randomUUID()}:store:`;
  function throttler(prefix: string, maxConcurrency: number) {
    const client = new Redis(REDIS_URL);
    clients.push(client);
    return new RedisIdentifyThrottler({ client, keyPrefix: prefix, maxConcurrency });
  }
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.quit()));
  });

  it("lets another process's shard in the same bucket wait, and a shutdown end the wait", async () => {
    const prefix = keyPrefix();
    const first = throttler(prefix, 1);
    const second = throttler(prefix, 1);
    await first.waitForIdentify(0, new AbortController().signal);
    const controller = new AbortController();
    let settled = false;
    const waiting = second.waitForIdentify(1, controller.signal).finally(() => {
      settled = true;
    });
    // Still waiting after a moment (the turn lasts five seconds); then the process shuts down.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(settled).toBe(false);
    controller.abort(new Error("shutting down"));
    await expect(waiting).rejects.toMatchObject({ name: "AbortError" });
  });

  it("lets shards of different buckets identify at once", async () => {
    const prefix = keyPrefix();
    const started = Date.now();
    await Promise.all([
      throttler(prefix, 2).waitForIdentify(0, new AbortController().signal),
      throttler(prefix, 2).waitForIdentify(1, new AbortController().signal),
    ]);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("never throws while Redis is away (discord.js would identify twice): it waits one window, then identifies", async () => {
    const client = unreachableRedis();
    const started = Date.now();
    await new RedisIdentifyThrottler({
      client,
      keyPrefix: keyPrefix(),
      maxConcurrency: 1,
      identifyWindowMs: 1_000,
    }).waitForIdentify(0, new AbortController().signal);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    client.disconnect();
  });

  it("knows a turn it took as its own when the answer came back late", async () => {
    const prefix = keyPrefix();
    const slow = throttler(prefix, 1);
    const client = clients.at(-1) as Redis;
    // The first SET reaches Redis but its answer is lost (as a command timeout loses it).
    const realSet = client.set.bind(client);
    let lost = false;
    client.set = (async (...args: Parameters<typeof realSet>) => {
      const answer = await realSet(...args);
      if (!lost) {
        lost = true;
        throw new Error("Command timed out");
      }
      return answer;
    }) as typeof client.set;
    const started = Date.now();
    await slow.waitForIdentify(0, new AbortController().signal);
    // Its own turn, recognised at the next try rather than waited out for five seconds.
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
