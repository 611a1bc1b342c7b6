import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { RedisMemoryStore } from "../../src/adapters/redis/redis-memory-store.js";
import { runMemoryStoreContract } from "../contracts/memory-store.contract.js";
import { deleteKeysUnder, keysUnder, REDIS_URL } from "../support/redis-keys.js";

function uniquePrefix(): string {
  return `teammate-test:${randomUUID()}:`;
}

runMemoryStoreContract("RedisMemoryStore", async () => {
  const client = new Redis(REDIS_URL);
  const keyPrefix = uniquePrefix();
  const store = new RedisMemoryStore({ client, keyPrefix });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await deleteKeysUnder(client, keyPrefix);
      await client.quit();
    },
  };
});

describe("RedisMemoryStore across processes", () => {
  const clients: Redis[] = [];
  const prefixes: string[] = [];

  function connect(): Redis {
    const client = new Redis(REDIS_URL);
    clients.push(client);
    return client;
  }

  function prefix(): string {
    const created = uniquePrefix();
    prefixes.push(created);
    return created;
  }

  afterEach(async () => {
    const [first] = clients;
    if (first) for (const created of prefixes.splice(0)) await deleteKeysUnder(first, created);
    await Promise.all(clients.splice(0).map((client) => client.quit()));
  });

  it("lets exactly one of two connections claim each event", async () => {
    const keyPrefix = prefix();
    const left = new RedisMemoryStore({ client: connect(), keyPrefix });
    const right = new RedisMemoryStore({ client: connect(), keyPrefix });

    for (let index = 0; index < 25; index += 1) {
      const eventId = `slack:Ev${index}`;
      const [leftWon, rightWon] = await Promise.all([
        left.claimEvent(eventId, 60),
        right.claimEvent(eventId, 60),
      ]);
      expect([leftWon, rightWon].filter(Boolean)).toHaveLength(1);
    }
  });

  it("numbers turns appended from two connections without gaps or duplicates", async () => {
    const keyPrefix = prefix();
    const stores = [connect(), connect()].map((client) => new RedisMemoryStore({ client, keyPrefix }));
    const conversation = { platform: "slack", workspaceId: "T1", channelId: "C1", threadId: "1.2" } as const;

    await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        stores[index % 2]!.appendTurns(conversation, [
          { role: "user", speakerId: "U1", speakerName: "Ada", text: `turn ${index}`, tokens: 2, at: index },
        ]),
      ),
    );

    const { turns } = await stores[0]!.loadConversation(conversation);
    expect(turns.map((turn) => turn.seq)).toEqual(Array.from({ length: 20 }, (_, index) => index + 1));
    expect(new Set(turns.map((turn) => turn.text)).size).toBe(20);
  });

  it("writes only under its key prefix, with scope parts escaped", async () => {
    const client = connect();
    const keyPrefix = prefix();
    const store = new RedisMemoryStore({ client, keyPrefix });

    await store.appendTurns({ platform: "discord", workspaceId: "guild:1", channelId: "50%" }, [
      { role: "user", speakerId: "U1", speakerName: "Ada", text: "hello", tokens: 1, at: 1 },
    ]);

    const keys = await keysUnder(client, keyPrefix);
    expect(keys).toContain(`${keyPrefix}conversation:discord:guild%3A1:50%25::turns`);
    expect(keys.every((key) => key.startsWith(keyPrefix))).toBe(true);
  });

  it("defaults the key prefix to teammate:", async () => {
    const client = connect();
    const eventKey = `test-default-prefix-${randomUUID()}`;
    prefixes.push(`teammate:event:${eventKey}`);
    const store = new RedisMemoryStore({ client });

    expect(await store.claimEvent(eventKey, 5)).toBe(true);
    expect(await client.exists(`teammate:event:${eventKey}`)).toBe(1);
  });

  it("reports an unreachable Redis as store_unavailable", async () => {
    const client = new Redis({
      host: "127.0.0.1",
      port: 1,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    client.on("error", () => {
      // Connection errors surface through the rejected command below.
    });
    const store = new RedisMemoryStore({ client, ownsClient: false });
    const attempt = store.claimEvent("slack:unreachable", 5);

    await expect(attempt).rejects.toMatchObject({ code: "store_unavailable", retryable: true });
    client.disconnect();
  });

  it("quits the client on close only when it owns it", async () => {
    const shared = connect();
    await new RedisMemoryStore({ client: shared }).close();
    expect(await shared.ping()).toBe("PONG");

    const owned = new Redis(REDIS_URL);
    await owned.ping();
    await new RedisMemoryStore({ client: owned, ownsClient: true }).close();
    await expect(owned.ping()).rejects.toThrow(/closed/i);
  });
});
