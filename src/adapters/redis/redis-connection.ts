import { Redis } from "ioredis";

/**
 * What a connection is for; each use needs different failure behaviour from ioredis.
 * - `store`: the process's one connection for stores, approvals and throttles. While Redis is away,
 *   commands fail at once (no offline queue) and a hung server costs at most two seconds: the message
 *   path then answers without memory instead of waiting on it.
 * - `queue-producer`: BullMQ's `Queue`; adding a job fails fast instead of queueing in memory.
 * - `queue-blocking`: BullMQ's `Worker` and `QueueEvents` block on Redis and must retry forever
 *   (BullMQ requires `maxRetriesPerRequest: null` there).
 * - `probe`: one PING at start-up (`waitForRedis`); connects when asked, never retries by itself.
 */
export type RedisConnectionPurpose = "store" | "queue-producer" | "queue-blocking" | "probe";

const OPTIONS = {
  store: { lazyConnect: false, maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: 2_000 },
  "queue-producer": { enableOfflineQueue: false, maxRetriesPerRequest: 3 },
  "queue-blocking": { maxRetriesPerRequest: null },
  probe: {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 5_000,
  },
} as const;

/**
 * The one place Redis connections are made, so each purpose gets the same options in every process.
 * Callers attach their own `error` listener (ioredis prints every unhandled one).
 */
export function createRedisConnection(url: string, purpose: RedisConnectionPurpose): Redis {
  return new Redis(url, { ...OPTIONS[purpose] });
}
