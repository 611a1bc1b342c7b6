import { setTimeout as sleep } from "node:timers/promises";
import type { IIdentifyThrottler } from "discord.js";
import type { Redis } from "ioredis";

export interface RedisIdentifyThrottlerOptions {
  client: Redis;
  /** The deployment's store prefix (`<QUEUE_PREFIX>:store:`). */
  keyPrefix: string;
  /** `session_start_limit.max_concurrency` from `GET /gateway/bot`: how many buckets identify at once. */
  maxConcurrency: number;
}

/** Discord lets each bucket (`shard_id % max_concurrency`) IDENTIFY once every five seconds. */
const IDENTIFY_WINDOW_MS = 5_000;
/** How long to wait at least before asking again for a taken bucket. */
const MIN_RETRY_MS = 50;

/**
 * The IDENTIFY rate limit shared by every bot process of one deployment. discord.js spaces the
 * identifies of the shards it runs itself, but two processes running different shards of one bot
 * would each start at once, and Discord invalidates every session of a bot that identifies too
 * fast. A bucket's turn is a Redis key that lives five seconds: whoever sets it may identify.
 *
 * @see https://discord.com/developers/docs/events/gateway#sharding-max-concurrency
 */
export class RedisIdentifyThrottler implements IIdentifyThrottler {
  readonly #client: Redis;
  readonly #prefix: string;
  readonly #maxConcurrency: number;

  constructor(options: RedisIdentifyThrottlerOptions) {
    this.#client = options.client;
    this.#prefix = options.keyPrefix;
    this.#maxConcurrency = Math.max(1, options.maxConcurrency);
  }

  async waitForIdentify(shardId: number, signal: AbortSignal): Promise<void> {
    const key = `${this.#prefix}discord-identify:${shardId % this.#maxConcurrency}`;
    for (;;) {
      signal.throwIfAborted();
      const taken = await this.#client.set(key, String(shardId), "PX", IDENTIFY_WINDOW_MS, "NX");
      if (taken === "OK") return;
      const remaining = await this.#client.pttl(key);
      // A little spread, so processes waiting for the same bucket do not all ask at the same moment.
      await sleep(Math.max(MIN_RETRY_MS, remaining) + Math.floor(Math.random() * 100), undefined, { signal });
    }
  }
}
