import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { silentLogger } from "../../src/core/ports/logger.js";
import { startBot } from "../../src/main.js";
import {
  type DiscordStandIn,
  type StandInMessage,
  startDiscordStandIn,
} from "../support/discord-stand-in.js";
import { waitFor } from "../support/e2e-helpers.js";
import { lastUserText, type OpenAiStandIn, startOpenAiStandIn } from "../support/openai-stand-in.js";
import { type SlackBot, SlackDriver, startSlackBot } from "../support/slack-e2e-driver.js";
import { type SlackStandIn, startSlackStandIn } from "../support/slack-stand-in.js";

/**
 * Noise control per channel, end to end: `config reply-mode thread|channel` and
 * `config listen mention|thread`, admin-only, stored with the channel's settings and honoured by
 * the platform adapters (where to post, whether an unmentioned follow-up is for teammate).
 */

const BOT_TOKEN = "xoxb-noise-6161-token";
const SIGNING_SECRET = "noise-signing-secret";
const OPENAI_KEY = "sk-noise-test";

/** Echoes the question, so each answer says which message it answers. */
const echo = (body: Parameters<typeof lastUserText>[0]) => ({
  kind: "text" as const,
  text: `Answer to: ${lastUserText(body).replace(/^.*?\): /, "")}`,
});

describe("Slack: reply-mode and listen (startBot, Slack and OpenAI stand-ins)", () => {
  let slack: SlackStandIn;
  let openai: OpenAiStandIn;
  let dataDirectory: string;
  let bot: SlackBot;
  let driver: SlackDriver;

  beforeAll(async () => {
    slack = await startSlackStandIn({
      botToken: BOT_TOKEN,
      users: [
        { id: "W222", name: "ada", displayName: "Ada" },
        { id: "WADMIN", name: "grace", displayName: "Grace", isAdmin: true },
      ],
    });
    openai = await startOpenAiStandIn({ apiKey: OPENAI_KEY });
    openai.setResponder(echo);
    dataDirectory = mkdtempSync(join(tmpdir(), "teammate-noise-slack-"));
    const config = loadConfig({
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      OPENAI_BASE_URL: openai.baseUrl,
      OPENAI_API_KEY: OPENAI_KEY,
      PORT: "0",
      DATA_DIR: dataDirectory,
      ENABLE_TOOLS: "false",
    });
    bot = await startSlackBot(config);
    driver = new SlackDriver(slack, `${bot.origin}/slack/events`, SIGNING_SECRET, "Noise");
  }, 60_000);

  afterAll(async () => {
    await bot?.stop();
    await slack?.close();
    await openai?.close();
    rmSync(dataDirectory, { recursive: true, force: true });
  });

  /** A person's message in a thread, without a mention (Slack's `message` event). */
  const followUp = (channel: string, threadTs: string, text: string) =>
    driver.mention({
      text: "",
      user: "W222",
      channel,
      threadTs,
      event: { type: "message", channel_type: "channel", text },
    });

  it("only admins change the modes", async () => {
    expect(await driver.command({ text: "config listen mention", user: "W222", channel: "CLISTEN" })).toMatch(
      /Only workspace admins can use `config`/,
    );
  }, 60_000);

  it("answers in a thread by default, and in the channel itself with `reply-mode channel`", async () => {
    const threaded = await driver.mention({ text: "where is the wiki?", user: "W222", channel: "CMODE" });
    await waitFor(
      () => driver.answered("CMODE", threaded, "Answer to: where is the wiki?"),
      "the threaded answer",
    );
    expect(slack.visibleMessages("CMODE", threaded).some((message) => /Answer to/.test(message.text))).toBe(
      true,
    );

    expect(
      await driver.command({ text: "config reply-mode channel", user: "WADMIN", channel: "CMODE" }),
    ).toMatch(/right in the channel, not in a thread/);
    await driver.mention({ text: "where is the roadmap?", user: "W222", channel: "CMODE" });
    await waitFor(
      () =>
        slack.messages.some(
          (message) =>
            message.channel === "CMODE" &&
            message.threadTs === undefined &&
            message.text.includes("Answer to: where is the roadmap?") &&
            !message.streaming,
        ),
      "the answer posted in the channel",
    );
    expect(await driver.command({ text: "config", user: "WADMIN", channel: "CMODE" })).toMatch(
      /reply-mode: channel/,
    );
  }, 60_000);

  it("`listen mention` answers only mentions in an engaged thread; `listen thread` every message", async () => {
    const thread = await driver.mention({ text: "first question", user: "W222", channel: "CLISTEN" });
    await waitFor(() => driver.answered("CLISTEN", thread, "Answer to: first question"), "the first answer");

    expect(
      await driver.command({ text: "config listen mention", user: "WADMIN", channel: "CLISTEN" }),
    ).toMatch(/only messages that mention me/);
    await followUp("CLISTEN", thread, "an aside between people");
    await driver.mention({ text: "second question", user: "W222", channel: "CLISTEN", threadTs: thread });
    await waitFor(
      () => driver.answered("CLISTEN", thread, "Answer to: second question"),
      "the mention's answer",
    );
    expect(driver.threadText("CLISTEN", thread)).not.toContain("Answer to: an aside");
    expect(openai.chatRequests().some((request) => lastUserText(request).includes("an aside"))).toBe(false);

    expect(
      await driver.command({ text: "config listen thread", user: "WADMIN", channel: "CLISTEN" }),
    ).toMatch(/every message/);
    await followUp("CLISTEN", thread, "third, unmentioned");
    await waitFor(
      () => driver.answered("CLISTEN", thread, "Answer to: third, unmentioned"),
      "the follow-up's answer",
    );
  }, 60_000);
});

describe("Discord: listen (startBot, Discord and OpenAI stand-ins)", () => {
  const ADMIN = "7770001";
  let discord: DiscordStandIn;
  let openai: OpenAiStandIn;
  let dataDirectory: string;
  let bot: { stop(): Promise<void> } | undefined;

  beforeAll(async () => {
    discord = await startDiscordStandIn();
    openai = await startOpenAiStandIn({ apiKey: OPENAI_KEY });
    openai.setResponder(echo);
    dataDirectory = mkdtempSync(join(tmpdir(), "teammate-noise-discord-"));
    const config = loadConfig({
      DISCORD_TOKEN: discord.token,
      DISCORD_APPLICATION_ID: discord.applicationId,
      DISCORD_API_URL: discord.apiUrl,
      DISCORD_GUILD_ID: discord.guildId,
      OPENAI_BASE_URL: openai.baseUrl,
      OPENAI_API_KEY: OPENAI_KEY,
      PORT: "0",
      DATA_DIR: dataDirectory,
      ENABLE_TOOLS: "false",
      ADMIN_USER_IDS: `discord:${ADMIN}`,
    });
    bot = await startBot(config, silentLogger);
  });

  afterAll(async () => {
    await bot?.stop();
    await discord?.close();
    await openai?.close();
    rmSync(dataDirectory, { recursive: true, force: true });
  });

  const repliesTo = (messageId: string): StandInMessage[] =>
    [...discord.messages.values()].filter((message) => message.message_reference?.message_id === messageId);
  const answered = (messageId: string, pattern: RegExp) =>
    repliesTo(messageId).some((message) => pattern.test(message.content));

  function send(content: string, options: { channelId?: string; mention?: boolean; userId?: string } = {}) {
    const message = discord.userMessage({
      content: options.mention ? `<@${discord.applicationId}> ${content}` : content,
      mentionBot: options.mention ?? false,
      ...(options.channelId ? { channelId: options.channelId } : {}),
      ...(options.userId ? { userId: options.userId } : {}),
    });
    discord.dispatch("MESSAGE_CREATE", message);
    return message;
  }

  it("`listen mention` (set by an admin in the channel) answers only mentions in its threads", async () => {
    const first = send("first question", { channelId: discord.threadId, mention: true });
    await waitFor(() => answered(first.id, /Answer to: first question/), "the first answer");

    const refused = send("config listen mention", { mention: true });
    await waitFor(() => answered(refused.id, /Only workspace admins/), "the refusal");
    const set = send("config listen mention", { mention: true, userId: ADMIN });
    await waitFor(() => answered(set.id, /only messages that mention me/), "the setting saved");

    const aside = send("an aside between people", { channelId: discord.threadId });
    const second = send("second question", { channelId: discord.threadId, mention: true });
    await waitFor(() => answered(second.id, /Answer to: second question/), "the mention's answer");
    expect(repliesTo(aside.id)).toEqual([]);
    expect(openai.chatRequests().some((request) => lastUserText(request).includes("an aside"))).toBe(false);

    const back = send("config listen thread", { mention: true, userId: ADMIN });
    await waitFor(() => answered(back.id, /every message/), "the setting saved");
    const third = send("third, unmentioned", { channelId: discord.threadId });
    await waitFor(() => answered(third.id, /Answer to: third, unmentioned/), "the follow-up's answer");
    expect(discord.problems).toEqual([]);
  }, 60_000);

  it("answers a channel question as a reply by default, and in a thread on it with `reply-mode thread`", async () => {
    const said = (pattern: RegExp, channelId?: string) =>
      [...discord.messages.values()].some(
        (message) =>
          message.author.id === discord.applicationId &&
          (channelId === undefined || message.channel_id === channelId) &&
          pattern.test(message.content),
      );
    const plain = send("where is the wiki?", { mention: true });
    await waitFor(() => answered(plain.id, /Answer to: where is the wiki\?/), "the reply in the channel");
    expect(discord.threadsStarted()).toEqual([]);

    const refused = send("config reply-mode thread", { mention: true });
    await waitFor(() => answered(refused.id, /Only workspace admins/), "the refusal");
    send("config reply-mode thread", { mention: true, userId: ADMIN });
    await waitFor(() => said(/in a thread under them/), "the setting saved");

    const question = send("where is the roadmap?", { mention: true });
    await waitFor(
      () => said(/Answer to: where is the roadmap\?/, question.id),
      "the answer in a thread started on the question",
    );
    expect(discord.threadsStarted()).toContain(question.id);
    expect(repliesTo(question.id)).toEqual([]);
    expect(said(/Answer to: where is the roadmap\?/, discord.channelId)).toBe(false);
    expect(discord.problems).toEqual([]);
  }, 60_000);
});
