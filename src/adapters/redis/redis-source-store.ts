import type { Redis } from "ioredis";
import type {
  SourceItemState,
  SourcePatch,
  SourceRecord,
  SourceStore,
} from "../../core/ports/source-store.js";
import type { WorkspaceRef } from "../../core/types.js";

// Applies a patch to a stored source atomically (set fields, then clear the comma-separated ones) and
// keeps the scheduled set in step with `everyMs`; returns the new record or nil.
const UPDATE_SOURCE = `
local current = redis.call('GET', KEYS[1])
if not current then return nil end
local record = cjson.decode(current)
for key, value in pairs(cjson.decode(ARGV[1])) do record[key] = value end
for field in string.gmatch(ARGV[2], '[^,]+') do record[field] = nil end
local encoded = cjson.encode(record)
redis.call('SET', KEYS[1], encoded)
if record['everyMs'] == nil then redis.call('SREM', KEYS[2], ARGV[3]) else redis.call('SADD', KEYS[2], ARGV[3]) end
return encoded
`;

export interface RedisSourceStoreOptions {
  client: Redis;
  /** Put in front of every key; `teammate:` unless given. Tests pass a unique one. */
  keyPrefix?: string | undefined;
}

/**
 * Synced sources in Redis, for when bot and workers share nothing but Redis. A source is a JSON
 * string; each workspace has a sorted set of its source ids by creation time; each source's items
 * are one hash (item key → JSON); one set names every scheduled source. Workspace parts are
 * JSON-encoded into keys so a `:` inside an id cannot collide.
 */
export class RedisSourceStore implements SourceStore {
  private readonly client: Redis;
  private readonly prefix: string;

  constructor(options: RedisSourceStoreOptions) {
    this.client = options.client;
    this.prefix = `${options.keyPrefix ?? "teammate:"}sources:`;
  }

  private workspaceKey(workspace: WorkspaceRef): string {
    return `${this.prefix}ids:${JSON.stringify([workspace.platform, workspace.workspaceId])}`;
  }

  private sourceKey(workspace: WorkspaceRef, id: string): string {
    return `${this.prefix}source:${JSON.stringify([workspace.platform, workspace.workspaceId, id])}`;
  }

  private itemsKey(workspace: WorkspaceRef, id: string): string {
    return `${this.prefix}items:${JSON.stringify([workspace.platform, workspace.workspaceId, id])}`;
  }

  private get scheduledKey(): string {
    return `${this.prefix}scheduled`;
  }

  private scheduledMember(workspace: WorkspaceRef, id: string): string {
    return JSON.stringify([workspace.platform, workspace.workspaceId, id]);
  }

  async saveSource(source: SourceRecord): Promise<void> {
    const workspace = source.scope;
    const transaction = this.client
      .multi()
      .set(this.sourceKey(workspace, source.id), JSON.stringify(source))
      .zadd(this.workspaceKey(workspace), source.createdAt, source.id);
    if (source.everyMs === undefined)
      transaction.srem(this.scheduledKey, this.scheduledMember(workspace, source.id));
    else transaction.sadd(this.scheduledKey, this.scheduledMember(workspace, source.id));
    await transaction.exec();
  }

  async getSource(workspace: WorkspaceRef, id: string): Promise<SourceRecord | undefined> {
    const value = await this.client.get(this.sourceKey(workspace, id));
    return value ? (JSON.parse(value) as SourceRecord) : undefined;
  }

  async updateSource(
    workspace: WorkspaceRef,
    id: string,
    patch: SourcePatch,
  ): Promise<SourceRecord | undefined> {
    const set: Record<string, unknown> = {};
    const clear: string[] = [];
    for (const [field, value] of Object.entries(patch)) {
      if (value === undefined) clear.push(field);
      else set[field] = value;
    }
    // Cleared fields travel as a comma-separated list (field names hold no commas): an empty JSON
    // array would come back from cjson as an object.
    const value = (await this.client.eval(
      UPDATE_SOURCE,
      2,
      this.sourceKey(workspace, id),
      this.scheduledKey,
      JSON.stringify(set),
      clear.join(","),
      this.scheduledMember(workspace, id),
    )) as string | null;
    return value ? (JSON.parse(value) as SourceRecord) : undefined;
  }

  async listSources(workspace: WorkspaceRef): Promise<SourceRecord[]> {
    const ids = await this.client.zrange(this.workspaceKey(workspace), 0, -1);
    if (ids.length === 0) return [];
    const values = await this.client.mget(...ids.map((id) => this.sourceKey(workspace, id)));
    return values.flatMap((value) => (value ? [JSON.parse(value) as SourceRecord] : []));
  }

  async listScheduledSources(): Promise<SourceRecord[]> {
    const members = await this.client.smembers(this.scheduledKey);
    if (members.length === 0) return [];
    const keys = members.map((member) => {
      const [platform, workspaceId, id] = JSON.parse(member) as [WorkspaceRef["platform"], string, string];
      return this.sourceKey({ platform, workspaceId }, id);
    });
    const values = await this.client.mget(...keys);
    return values
      .flatMap((value) => (value ? [JSON.parse(value) as SourceRecord] : []))
      .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  }

  async deleteSource(workspace: WorkspaceRef, id: string): Promise<boolean> {
    const result = await this.client
      .multi()
      .del(this.sourceKey(workspace, id))
      .del(this.itemsKey(workspace, id))
      .zrem(this.workspaceKey(workspace), id)
      .srem(this.scheduledKey, this.scheduledMember(workspace, id))
      .exec();
    return (result?.[0]?.[1] as number | undefined) === 1;
  }

  async listItems(workspace: WorkspaceRef, sourceId: string): Promise<SourceItemState[]> {
    const entries = await this.client.hgetall(this.itemsKey(workspace, sourceId));
    return Object.keys(entries)
      .sort()
      .map((key) => JSON.parse(entries[key] ?? "null") as SourceItemState);
  }

  async putItem(workspace: WorkspaceRef, sourceId: string, item: SourceItemState): Promise<void> {
    await this.client.hset(this.itemsKey(workspace, sourceId), item.key, JSON.stringify(item));
  }

  async deleteItem(workspace: WorkspaceRef, sourceId: string, key: string): Promise<void> {
    await this.client.hdel(this.itemsKey(workspace, sourceId), key);
  }

  async close(): Promise<void> {
    // The client belongs to the composition root, which quits it.
  }
}
