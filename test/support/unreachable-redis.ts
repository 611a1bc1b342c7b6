import { Redis } from "ioredis";

/**
 * A client for a Redis that is not there (nothing listens on port 1), failing at once instead of
 * retrying: what an adapter meets when Redis is down. The caller disconnects it when done.
 */
export function unreachableRedis(): Redis {
  const client = new Redis({
    port: 1,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  // The refused connection is the point; its error event is expected.
  client.on("error", () => {});
  return client;
}
