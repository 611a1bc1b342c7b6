import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { startBot } from "../../src/main.js";
import { obliterateQueue, REDIS_URL } from "../support/bullmq-test-queue.js";
import { type DiscordStandIn, shardOf, startDiscordStandIn } from "../support/discord-stand-in.js";
import { recordingLogger } from "../support/e2e-helpers.js";
import { startOpenAiStandIn } from "../support/openai-stand-in.js";

/**
 * Discord sharding through discord.js's client options, against the gateway stand-in: the guild sits
 * on shard 1 of 2, so its events reach only shard 1's connection, and DMs only shard 0's.
 */
describe("Discord sharding (startBot, gateway stand-in with two shards)", () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function standIns(options: Parameters<typeof startDiscordStandIn>[0]) {
    const discord = await startDiscordStandIn({ guildShard: { index: 1, count: 2 }, ...options });
    const openai = await startOpenAiStandIn({ apiKey: "sk-shards" });
    openai.setResponder(() => ({ kind: "text", text: "Rivers carry water to the sea.", deltas: 2 }));
    const dataDirectory = mkdtempSync(join(tmpdir(), "teammate-discord-shards-"));
    cleanups.push(async () => {
      await discord.close();
      await openai.close();
      rmSync(dataDirectory, { recursive: true, force: true });
    });
    const environment = {
      DISCORD_TOKEN: discord.token,
      DISCORD_APPLICATION_ID: discord.applicationId,
      DISCORD_API_URL: discord.apiUrl,
      DISCORD_GUILD_ID: discord.guildId,
      OPENAI_BASE_URL: openai.baseUrl,
      OPENAI_API_KEY: "sk-shards",
      PORT: "0",
      DATA_DIR: dataDirectory,
      ENABLE_TOOLS: "false",
    };
    return { discord, openai, environment };
  }

  async function bot(environment: Record<string, string>) {
    const entries: Array<Record<string, unknown>> = [];
    const running = await startBot(loadConfig(environment), recordingLogger(entries));
    cleanups.push(() => running.stop());
    return entries;
  }

  /** Sends /ask from the guild or a DM and resolves once its answer was written. */
  async function ask(discord: DiscordStandIn, directMessage: boolean) {
    const interaction = discord.slashCommand({
      name: "ask",
      options: [{ type: 3, name: "question", value: "where do rivers go?" }],
      ...(directMessage ? { directMessage: true } : {}),
    });
    discord.dispatchInteraction(interaction);
    await discord.waitForRequest(
      (request) =>
        request.method === "PATCH" &&
        request.path === `/webhooks/${discord.applicationId}/${interaction.token}/messages/@original` &&
        String((request.body as { content?: string }).content).includes("Rivers carry water"),
      20_000,
    );
    return discord.dispatched.filter((entry) => entry.type === "INTERACTION_CREATE").at(-1)?.shards;
  }

  it("runs as many shards as Discord recommends by default, and answers on each", async () => {
    const { discord, environment } = await standIns({ recommendedShards: 2, maxConcurrency: 2 });
    expect(shardOf(discord.guildId, 2)).toBe(1);
    const log = await bot(environment);
    expect(discord.identifies.map((identify) => identify.shard).sort()).toEqual([
      [0, 2],
      [1, 2],
    ]);
    expect(log.find((entry) => entry.message === "discord adapter started")).toMatchObject({
      shards: [0, 1],
      shardCount: 2,
      guilds: 1,
    });
    // The guild's command went to shard 1 only, the DM's to shard 0 only; both were answered.
    expect(await ask(discord, false)).toEqual([1]);
    expect(await ask(discord, true)).toEqual([0]);
    expect(discord.problems).toEqual([]);
  });

  it("two bot processes on one Redis split the shards (DISCORD_SHARDS) and take turns to IDENTIFY", async () => {
    // One IDENTIFY bucket, as for most bots: the two processes must identify five seconds apart.
    const { discord, environment } = await standIns({ maxConcurrency: 1 });
    const prefix = `teammate-shards-${randomUUID().slice(0, 8)}`;
    const shared = { ...environment, REDIS_URL, QUEUE_PREFIX: prefix, DISCORD_SHARD_COUNT: "2" };
    cleanups.push(async () => {
      await obliterateQueue({ queueName: "teammate", prefix });
      const redis = new Redis(REDIS_URL);
      const [, keys] = await redis.scan("0", "MATCH", `${prefix}:*`, "COUNT", 1000);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    });
    const [first, second] = await Promise.all([
      bot({ ...shared, DISCORD_SHARDS: "0" }),
      bot({ ...shared, DISCORD_SHARDS: "1" }),
    ]);
    const identifies = [...discord.identifies].sort((left, right) => left.at - right.at);
    expect(identifies.map((identify) => identify.shard).sort()).toEqual([
      [0, 2],
      [1, 2],
    ]);
    expect((identifies[1]?.at ?? 0) - (identifies[0]?.at ?? 0)).toBeGreaterThanOrEqual(5_000);
    expect(first.find((entry) => entry.message === "discord adapter started")).toMatchObject({
      shards: [0],
      shardCount: 2,
      guilds: 0,
    });
    expect(second.find((entry) => entry.message === "discord adapter started")).toMatchObject({
      shards: [1],
      shardCount: 2,
      guilds: 1,
    });
    expect(await ask(discord, false)).toEqual([1]);
    expect(await ask(discord, true)).toEqual([0]);
    // Neither the identify limit nor any request broke a rule.
    expect(discord.problems).toEqual([]);
  }, 60_000);
});
