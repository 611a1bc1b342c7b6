import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { RedisApprovalGate } from "../../../src/adapters/redis/redis-approval-gate.js";
import { isAppError } from "../../../src/core/errors.js";
import type { ApprovalRequest, Decider } from "../../../src/core/ports/approval-gate.js";
import { runApprovalGateContract } from "../../contracts/approval-gate.contract.js";
import { unreachableRedis } from "../../support/unreachable-redis.js";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

/** A prefix per test, as a deployment's `<QUEUE_PREFIX>:store:`; every key under it expires by itself. */
function uniquePrefix(): string {
  return `teammate-test-approvals-${randomUUID()}:store:`;
}

// One connection per gate, as two bot processes have; notifications only (no slow re-read) unless a
// test asks for it, so these prove the pub/sub path.
runApprovalGateContract("Redis, clicked in another process", async ({ timeoutMs }) => {
  const keyPrefix = uniquePrefix();
  const clients = [new Redis(REDIS_URL), new Redis(REDIS_URL)];
  const [first, second] = clients.map(
    (client) => new RedisApprovalGate({ client, keyPrefix, timeoutMs, recheckIntervalMs: 600_000 }),
  ) as [RedisApprovalGate, RedisApprovalGate];
  return {
    opener: first,
    decider: second,
    cleanup: async () => {
      await first.close();
      await second.close();
      await Promise.all(clients.map((client) => client.quit()));
    },
  };
});

runApprovalGateContract("Redis, clicked in the same process", async ({ timeoutMs }) => {
  const client = new Redis(REDIS_URL);
  const gate = new RedisApprovalGate({ client, keyPrefix: uniquePrefix(), timeoutMs });
  return {
    opener: gate,
    decider: gate,
    cleanup: async () => {
      await gate.close();
      await client.quit();
    },
  };
});

const request: ApprovalRequest = {
  toolName: "remember",
  risk: "write",
  argumentsPreview: '{"text":"x"}',
  conversation: { platform: "discord", workspaceId: "G1", channelId: "C1" },
  askerId: "U-asker",
};
const asker: Decider = { userId: "U-asker", place: request.conversation, isAdmin: async () => false };

describe("RedisApprovalGate", () => {
  const clients: Redis[] = [];
  const gates: RedisApprovalGate[] = [];
  function gate(keyPrefix: string, options: { timeoutMs?: number; recheckIntervalMs?: number } = {}) {
    const client = new Redis(REDIS_URL);
    clients.push(client);
    const created = new RedisApprovalGate({ client, keyPrefix, ...options });
    gates.push(created);
    return created;
  }

  afterEach(async () => {
    for (const created of gates.splice(0)) await created.close();
    await Promise.all(clients.splice(0).map((client) => client.quit()));
  });

  async function keysUnder(prefix: string): Promise<string[]> {
    const client = clients[0] as Redis;
    const [, keys] = await client.scan("0", "MATCH", `${prefix}*`, "COUNT", 1000);
    return keys;
  }

  it("listens on its own connection when the commands connection has no offline queue (as the app's memory client)", async () => {
    const client = new Redis(REDIS_URL, { enableOfflineQueue: false, commandTimeout: 2_000 });
    clients.push(client);
    await new Promise<void>((resolve) => client.once("ready", () => resolve()));
    const keyPrefix = uniquePrefix();
    const waiting = new RedisApprovalGate({ client, keyPrefix, recheckIntervalMs: 600_000 });
    gates.push(waiting);
    const pending = await waiting.open(request);
    expect((await gate(keyPrefix).decide(pending.id, asker, true)).status).toBe("approved");
    expect(await pending.decision).toEqual({ outcome: "approved", deciderId: "U-asker" });
  });

  it("learns a decision whose notification never arrived by re-reading the request", async () => {
    const keyPrefix = uniquePrefix();
    const waiting = gate(keyPrefix, { recheckIntervalMs: 50 });
    const pending = await waiting.open(request);
    // What a decision taken while this process's listening connection was down leaves behind: the
    // stored outcome, and no notification for this process.
    const [key] = await keysUnder(keyPrefix);
    await (clients[0] as Redis).hset(key as string, { state: "approved", decider: "U-asker" });
    expect(await pending.decision).toEqual({ outcome: "approved", deciderId: "U-asker" });
  });

  it("leaves nothing behind for long: a pending request expires after its deadline, a decided one within a minute", async () => {
    const keyPrefix = uniquePrefix();
    const opener = gate(keyPrefix, { timeoutMs: 120_000 });
    const pending = await opener.open(request);
    const [key] = await keysUnder(keyPrefix);
    const client = clients[0] as Redis;
    const pendingTtl = await client.pttl(key as string);
    expect(pendingTtl).toBeGreaterThan(110_000);
    expect(pendingTtl).toBeLessThanOrEqual(125_000);
    await gate(keyPrefix).decide(pending.id, asker, true);
    await pending.decision;
    const decidedTtl = await client.pttl(key as string);
    expect(decidedTtl).toBeGreaterThan(0);
    expect(decidedTtl).toBeLessThanOrEqual(60_000);
    // Nothing else was written: no key without an expiry.
    expect(await keysUnder(keyPrefix)).toEqual([key]);
  });

  it("keeps deployments apart: a click through another prefix finds nothing", async () => {
    const opener = gate(uniquePrefix());
    const pending = await opener.open(request);
    expect((await gate(uniquePrefix()).decide(pending.id, asker, true)).status).toBe("not_found");
    expect((await opener.decide(pending.id, asker, false)).status).toBe("denied");
  });

  it("on close, ends its waiting requests as timed out, also for a click in another process", async () => {
    const keyPrefix = uniquePrefix();
    const closing = gate(keyPrefix);
    const other = gate(keyPrefix);
    const pending = await closing.open(request);
    await closing.close();
    expect(await pending.decision).toEqual({ outcome: "timed_out" });
    expect((await other.decide(pending.id, asker, true)).status).toBe("not_found");
    await expect(closing.open(request)).rejects.toSatisfy(isAppError);
  });

  it("refuses to open a request it cannot record: a clear error, and the tool never waits on nothing", async () => {
    const client = unreachableRedis();
    const broken = new RedisApprovalGate({ client, keyPrefix: uniquePrefix() });
    const error = await broken.open(request).catch((caught: unknown) => caught);
    expect(isAppError(error) && error.code).toBe("store_unavailable");
    expect(isAppError(error) && error.userMessage).toMatch(/approval requests/);
    await broken.close();
    client.disconnect();
  });

  it("ignores an overlong or foreign button value without touching Redis keys of others", async () => {
    const keyPrefix = uniquePrefix();
    const opener = gate(keyPrefix);
    const pending = await opener.open(request);
    expect((await opener.decide("x".repeat(500), asker, true)).status).toBe("not_found");
    expect((await opener.decide(`${pending.id}:extra`, asker, true)).status).toBe("not_found");
    expect((await opener.decide(pending.id, asker, true)).status).toBe("approved");
  });
});
