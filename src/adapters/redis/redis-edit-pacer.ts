import type { Redis } from "ioredis";
import type { EditPacer } from "../../core/ports/edit-pacer.js";
import type { PostedMessage } from "../../core/ports/notifier.js";
import { defineScript, escapeKeyPart, evaluateScript } from "./redis-script.js";

export interface RedisEditPacerOptions {
  client: Redis;
  /** The deployment's store prefix (`<QUEUE_PREFIX>:store:`). */
  keyPrefix: string;
}

/**
 * One slot per write, on Redis's clock (not the callers', which may disagree by more than the
 * interval): the slot is the later of "now + earliest" and "previous slot + interval", and the key
 * lives only as long as it can still delay someone.
 */
const RESERVE = defineScript(`
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local interval = tonumber(ARGV[1])
local slot = now + tonumber(ARGV[2])
local previous = tonumber(redis.call('GET', KEYS[1]) or '0')
if previous + interval > slot then
  slot = previous + interval
end
redis.call('SET', KEYS[1], slot, 'PX', slot - now + interval)
return slot - now
`);

/** The EditPacer of several worker processes on one Redis: `<prefix>edit-slot:<message>` holds the last slot given out. */
export class RedisEditPacer implements EditPacer {
  readonly #client: Redis;
  readonly #prefix: string;

  constructor(options: RedisEditPacerOptions) {
    this.#client = options.client;
    this.#prefix = options.keyPrefix;
  }

  async reserve(message: PostedMessage, intervalMs: number, earliestInMs: number): Promise<number> {
    // The thread is not part of it: a message id is unique in its channel.
    const parts = [message.platform, message.workspaceId, message.channelId, message.messageId];
    const delay = await evaluateScript(
      this.#client,
      RESERVE,
      [`${this.#prefix}edit-slot:${parts.map(escapeKeyPart).join(":")}`],
      [String(Math.max(0, Math.ceil(intervalMs))), String(Math.max(0, Math.ceil(earliestInMs)))],
    );
    return Math.max(0, Number(delay));
  }
}
