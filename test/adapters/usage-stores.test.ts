import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { RedisUsageStore } from "../../src/adapters/redis/redis-usage-store.js";
import { openSqliteDatabase } from "../../src/adapters/sqlite/open-sqlite-database.js";
import { SqliteUsageStore } from "../../src/adapters/sqlite/sqlite-usage-store.js";
import { runUsageStoreContract } from "../contracts/usage-store.contract.js";
import { deleteKeysUnder, REDIS_URL } from "../support/redis-keys.js";

runUsageStoreContract("SqliteUsageStore", async () => {
  const database = openSqliteDatabase(":memory:");
  return {
    store: new SqliteUsageStore(database),
    cleanup: async () => {
      database.close();
    },
  };
});

runUsageStoreContract("RedisUsageStore", async () => {
  const client = new Redis(REDIS_URL);
  const keyPrefix = `teammate-test:${randomUUID()}:`;
  return {
    store: new RedisUsageStore({ client, keyPrefix }),
    cleanup: async () => {
      await deleteKeysUnder(client, keyPrefix);
      await client.quit();
    },
  };
});
