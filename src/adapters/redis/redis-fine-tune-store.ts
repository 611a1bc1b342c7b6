import type { Redis } from "ioredis";
import type { FineTuneRun, FineTuneRunPatch, FineTuneStore } from "../../core/ports/fine-tune-store.js";
import type { ChannelRef, ConversationRef } from "../../core/types.js";

export interface RedisFineTuneStoreOptions {
  client: Redis;
  /** Put in front of every key; `teammate:` unless given. Tests pass a unique one. */
  keyPrefix?: string | undefined;
}

// Applies a JSON patch to a stored run atomically; returns the new record or nil.
const UPDATE_RUN = `
local current = redis.call('GET', KEYS[1])
if not current then return nil end
local record = cjson.decode(current)
local patch = cjson.decode(ARGV[1])
for key, value in pairs(patch) do record[key] = value end
record['updatedAt'] = tonumber(ARGV[2])
local encoded = cjson.encode(record)
redis.call('SET', KEYS[1], encoded)
return encoded
`;

/**
 * Fine-tuning runs and curated threads in Redis, for when bot and workers share nothing but Redis.
 * Runs are JSON strings; each channel has a sorted set of its run ids by creation time and a set of
 * marked threads. Channel parts are JSON-encoded into keys so a `:` inside an id cannot collide.
 */
export class RedisFineTuneStore implements FineTuneStore {
  private readonly client: Redis;
  private readonly prefix: string;

  constructor(options: RedisFineTuneStoreOptions) {
    this.client = options.client;
    this.prefix = `${options.keyPrefix ?? "teammate:"}fine-tune:`;
  }

  private channelKey(kind: string, channel: ChannelRef): string {
    return `${this.prefix}${kind}:${JSON.stringify([channel.platform, channel.workspaceId, channel.channelId])}`;
  }

  private runKey(runId: string): string {
    return `${this.prefix}run:${JSON.stringify(runId)}`;
  }

  async saveRun(run: FineTuneRun): Promise<void> {
    await this.client
      .multi()
      .set(this.runKey(run.id), JSON.stringify(run))
      .zadd(this.channelKey("runs", run.channel), run.createdAt, run.id)
      .exec();
  }

  async getRun(runId: string): Promise<FineTuneRun | undefined> {
    const value = await this.client.get(this.runKey(runId));
    return value ? (JSON.parse(value) as FineTuneRun) : undefined;
  }

  async updateRun(runId: string, patch: FineTuneRunPatch): Promise<FineTuneRun | undefined> {
    // cjson cannot express "absent" for undefined: drop undefined fields, as JSON.stringify does.
    const value = (await this.client.eval(
      UPDATE_RUN,
      1,
      this.runKey(runId),
      JSON.stringify(patch),
      String(Date.now()),
    )) as string | null;
    return value ? (JSON.parse(value) as FineTuneRun) : undefined;
  }

  async latestRun(channel: ChannelRef): Promise<FineTuneRun | undefined> {
    const [runId] = await this.client.zrevrange(this.channelKey("runs", channel), 0, 0);
    return runId ? this.getRun(runId) : undefined;
  }

  async markThread(thread: ConversationRef & { threadId: string }, _markedBy: string): Promise<void> {
    await this.client.sadd(this.channelKey("marked", thread), thread.threadId);
  }

  async listMarkedThreads(channel: ChannelRef): Promise<string[]> {
    return (await this.client.smembers(this.channelKey("marked", channel))).sort();
  }

  async close(): Promise<void> {
    // The client belongs to the composition root, which quits it.
  }
}
