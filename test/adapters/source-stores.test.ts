import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { RedisSourceStore } from "../../src/adapters/redis/redis-source-store.js";
import { openSqliteDatabase } from "../../src/adapters/sqlite/open-sqlite-database.js";
import { SqliteSourceStore } from "../../src/adapters/sqlite/sqlite-source-store.js";
import { describeSourceStoreContract } from "../contracts/source-store.contract.js";
import { REDIS_URL } from "../support/bullmq-test-queue.js";

describeSourceStoreContract("SQLite", async () => {
  const database = openSqliteDatabase(":memory:");
  return {
    store: new SqliteSourceStore(database),
    cleanup: async () => {
      database.close();
    },
  };
});

describeSourceStoreContract("Redis", async () => {
  const client = new Redis(REDIS_URL);
  const keyPrefix = `teammate-test-${randomUUID()}:`;
  return {
    store: new RedisSourceStore({ client, keyPrefix }),
    async cleanup() {
      const keys = await client.keys(`${keyPrefix}*`);
      if (keys.length > 0) await client.del(...keys);
      await client.quit();
    },
  };
});
