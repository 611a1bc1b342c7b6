import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { RedisFineTuneStore } from "../../src/adapters/redis/redis-fine-tune-store.js";
import { openSqliteDatabase } from "../../src/adapters/sqlite/open-sqlite-database.js";
import { SqliteFineTuneStore } from "../../src/adapters/sqlite/sqlite-fine-tune-store.js";
import { describeFineTuneStoreContract } from "../contracts/fine-tune-store.contract.js";
import { REDIS_URL } from "../support/bullmq-test-queue.js";

describeFineTuneStoreContract("SQLite", async () => {
  const database = openSqliteDatabase(":memory:");
  return {
    store: new SqliteFineTuneStore(database),
    cleanup: async () => {
      database.close();
    },
  };
});

describeFineTuneStoreContract("Redis", async () => {
  const client = new Redis(REDIS_URL);
  const keyPrefix = `teammate-test-${randomUUID()}:`;
  return {
    store: new RedisFineTuneStore({ client, keyPrefix }),
    async cleanup() {
      const keys = await client.keys(`${keyPrefix}*`);
      if (keys.length > 0) await client.del(...keys);
      await client.quit();
    },
  };
});
