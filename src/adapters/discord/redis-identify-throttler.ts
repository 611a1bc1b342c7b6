import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { IIdentifyThrottler } from "discord.js";
import type { Redis } from "ioredis";

export interface RedisIdentifyThrottlerOptions {
  client: Redis;
  /** The deployment's store prefix (`<QUEUE_PREFIX>:store:`). */
  keyPrefix: string;
  /** `session_start_limit.max_concurrency` from `GET /gateway/bot`: how many buckets identify at once. */
  maxConcurrency: number;
  /** Discord's window per bucket; only tests shorten it. Default 5 s. */
  identifyWindowMs?: number;
}

/** Discord lets each bucket (`shard_id % max_concurrency`) IDENTIFY once every five seconds. */
const IDENTIFY_WINDOW_MS = 5_000;
/** How long to wait at least before asking again for a taken bucket. */
const MIN_RETRY_MS = 50;
/** How long to wait before asking again when Redis did not answer. */
const FAILURE_RETRY_MS = 250;

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
  readonly #windowMs: number;
  /** Tells this process's turns from another's. */
  readonly #id = randomUUID();

  constructor(options: RedisIdentifyThrottlerOptions) {
    this.#windowMs = options.identifyWindowMs ?? IDENTIFY_WINDOW_MS;
    this.#client = options.client;
    this.#prefix = options.keyPrefix;
    this.#maxConcurrency = Math.max(1, options.maxConcurrency);
  }

  async waitForIdentify(shardId: number, signal: AbortSignal): Promise<void> {
    const key = `${this.#prefix}discord-identify:${shardId % this.#maxConcurrency}`;
    let failingSince: number | undefined;
    for (;;) {
      signal.throwIfAborted();
      let wait: number;
      try {
        const turn = `${this.#id}:${shardId}`;
        const taken = await this.#client.set(key, turn, "PX", this.#windowMs, "NX");
        if (taken === "OK") return;
        // A turn taken by an earlier try whose answer came too late is this shard's own.
        if ((await this.#client.get(key)) === turn) return;
        wait = Math.max(MIN_RETRY_MS, await this.#client.pttl(key));
      } catch {
        // Redis down or slow to answer. This must not throw: discord.js tears the shard down on a
        // throw and then identifies anyway, so the shard identified twice. Without Redis the turns
        // cannot be shared; after a whole window of trying, this process identifies on its own.
        failingSince ??= Date.now();
        if (Date.now() - failingSince >= this.#windowMs) return;
        wait = FAILURE_RETRY_MS;
      }
      // A little spread, so processes waiting for the same bucket do not all ask at the same moment.
      await sleep(wait + Math.floor(Math.random() * 100), undefined, { signal });
    }
  }
}
