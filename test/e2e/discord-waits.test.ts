import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { startBot } from "../../src/main.js";
import { type DedicatedRedis, startDedicatedRedis } from "../support/dedicated-redis.js";
import { runSlashCommand } from "../support/discord-e2e-driver.js";
import {
  type DiscordStandIn,
  type StandInMessage,
  startDiscordStandIn,
} from "../support/discord-stand-in.js";
import { recordingLogger, waitFor } from "../support/e2e-helpers.js";
import {
  type ChatRequestBody,
  lastUserText,
  type OpenAiStandIn,
  type StandInReply,
  startOpenAiStandIn,
} from "../support/openai-stand-in.js";

/** Short, so the deadline case ends quickly; long enough for the still-working line (5 s) to show first. */
const LLM_TIMEOUT_MS = 8_000;
/** What the person may wait beyond LLM_TIMEOUT_MS for the final sentence. */
const MARGIN_MS = 2_500;

/** `[stall]` never answers; anything else answers at once. */
function model(body: ChatRequestBody): StandInReply {
  if (lastUserText(body).includes("[stall]")) return { kind: "text", text: "never seen", delayMs: 120_000 };
  return { kind: "text", text: "Rivers carry water to the sea.", deltas: 3 };
}

describe("Discord: the same waits as Slack (startBot, discord.js against the Discord stand-in, a Redis the test stops)", () => {
  let discord: DiscordStandIn;
  let openai: OpenAiStandIn;
  let redis: DedicatedRedis;
  let dataDirectory: string;
  let bot: { stop(): Promise<void> } | undefined;

  beforeAll(async () => {
    discord = await startDiscordStandIn();
    openai = await startOpenAiStandIn({ apiKey: "sk-e2e" });
    openai.setResponder(model);
    redis = await startDedicatedRedis();
    dataDirectory = mkdtempSync(join(tmpdir(), "teammate-discord-waits-"));
    const config = loadConfig({
      DISCORD_TOKEN: discord.token,
      DISCORD_APPLICATION_ID: discord.applicationId,
      DISCORD_API_URL: discord.apiUrl,
      DISCORD_GUILD_ID: discord.guildId,
      OPENAI_BASE_URL: openai.baseUrl,
      OPENAI_API_KEY: "sk-e2e",
      LLM_TIMEOUT_MS: String(LLM_TIMEOUT_MS),
      PORT: "0",
      DATA_DIR: dataDirectory,
      REDIS_URL: redis.url,
      QUEUE_PREFIX: `discord-waits-${randomUUID().slice(0, 8)}`,
    });
    bot = await startBot(config, recordingLogger([]));
  });

  afterAll(async () => {
    // Back up, so the bot's connections close cleanly.
    await redis?.start();
    await bot?.stop();
    await redis?.stop();
    await discord?.close();
    await openai?.close();
    rmSync(dataDirectory, { recursive: true, force: true });
  });

  const repliesTo = (messageId: string): StandInMessage[] =>
    [...discord.messages.values()].filter((message) => message.message_reference?.message_id === messageId);
  const replyMatching = (messageId: string, pattern: RegExp) =>
    repliesTo(messageId).find((message) => pattern.test(message.content));

  function mention(content: string, channelId?: string) {
    const message = discord.userMessage({
      content: `<@${discord.applicationId}> ${content}`,
      mentionBot: true,
      ...(channelId ? { channelId } : {}),
    });
    discord.dispatch("MESSAGE_CREATE", message);
    return message;
  }

  it("a model that never answers: typing at once, a still-working line, then the time-limit sentence by the deadline", async () => {
    const started = Date.now();
    const question = mention("how deep is the sea? [stall]");
    const typing = await discord.waitForRequest(
      (request) => request.method === "POST" && request.path === `/channels/${discord.channelId}/typing`,
    );
    expect(typing.at - started).toBeLessThan(3_000);
    await waitFor(
      () => replyMatching(question.id, /Still working on it/) !== undefined,
      "the still-working line",
    );
    const stillWorkingAt = Date.now();
    expect(stillWorkingAt - started).toBeGreaterThanOrEqual(4_500);
    await waitFor(
      () => replyMatching(question.id, /8-second limit/) !== undefined,
      "the time-limit sentence",
      LLM_TIMEOUT_MS + MARGIN_MS + 5_000,
    );
    expect(Date.now() - started).toBeLessThan(LLM_TIMEOUT_MS + MARGIN_MS);
    const sentence = replyMatching(question.id, /8-second limit/);
    expect(sentence?.content).toMatch(/\(ref [0-9a-f]{8}\)/);
    // The still-working line was the same message, now replaced by the sentence; no buttons.
    expect(sentence?.content).not.toMatch(/Still working/);
    expect(sentence?.components ?? []).toEqual([]);
    expect(discord.problems).toEqual([]);
  });

  it("with Redis gone: a follow-up and a mention in a thread teammate answered, a new mention and /help all get a sentence", async () => {
    const first = mention("where do rivers go?", discord.threadId);
    await waitFor(() => replyMatching(first.id, /Rivers carry water/) !== undefined, "the first answer");

    await redis.stop();

    // A follow-up in the thread, without a mention: the thread itself shows teammate is in it.
    const followUp = discord.userMessage({ content: "and after the sea?", channelId: discord.threadId });
    discord.dispatch("MESSAGE_CREATE", followUp);
    await waitFor(
      () => replyMatching(followUp.id, /Rivers carry water/) !== undefined,
      "the follow-up's answer",
    );
    expect(replyMatching(followUp.id, /Rivers carry water/)?.content).toMatch(
      /memory is unavailable right now/,
    );

    // A mention in the same thread.
    const inThread = mention("and lakes?", discord.threadId);
    await waitFor(
      () => replyMatching(inThread.id, /Rivers carry water/) !== undefined,
      "the thread mention's answer",
    );
    expect(replyMatching(inThread.id, /Rivers carry water/)?.content).toMatch(
      /memory is unavailable right now/,
    );

    // A new mention in the channel.
    const fresh = mention("and the rain?");
    await waitFor(
      () => replyMatching(fresh.id, /Rivers carry water/) !== undefined,
      "the new mention's answer",
    );
    expect(replyMatching(fresh.id, /memory is unavailable right now/)).toBeDefined();

    // `/help` needs no store at all.
    const help = await runSlashCommand(discord, { name: "help", expect: /summarize/ });
    expect(help.content).toMatch(/summarize/);
    expect(discord.problems).toEqual([]);
  });
});
