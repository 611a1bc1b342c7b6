import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { silentLogger } from "../../src/core/ports/logger.js";
import { startBot } from "../../src/main.js";
import { runSlashCommand } from "../support/discord-e2e-driver.js";
import { type DiscordStandIn, startDiscordStandIn } from "../support/discord-stand-in.js";
import { waitFor } from "../support/e2e-helpers.js";
import { type OpenAiStandIn, startOpenAiStandIn } from "../support/openai-stand-in.js";
import { type SlackBot, SlackDriver, startSlackBot } from "../support/slack-e2e-driver.js";
import { type SlackStandIn, startSlackStandIn } from "../support/slack-stand-in.js";

/** The token counts the OpenAI stand-in reported in the usage chunks of its streams, summed. */
function reportedUsage(openai: OpenAiStandIn): { prompt: number; completion: number } {
  let prompt = 0;
  let completion = 0;
  for (const event of openai.servedChunks) {
    if (event === "[DONE]") continue;
    const usage = (JSON.parse(event) as { usage?: { prompt_tokens: number; completion_tokens: number } })
      .usage;
    if (!usage) continue;
    prompt += usage.prompt_tokens;
    completion += usage.completion_tokens;
  }
  return { prompt, completion };
}

function usageLine(usage: { prompt: number; completion: number }, calls: number): string {
  const format = (value: number) => value.toLocaleString("en-US");
  return (
    `${format(usage.prompt + usage.completion)} tokens (${format(usage.prompt)} prompt + ` +
    `${format(usage.completion)} completion) in ${calls} LLM call${calls === 1 ? "" : "s"}`
  );
}

describe("usage and limits on Slack (startBot, real core, Slack and OpenAI stand-ins)", () => {
  const SIGNING_SECRET = "usage-signing-secret";
  let slack: SlackStandIn;
  let openai: OpenAiStandIn;
  let dataDirectory: string;
  let bot: SlackBot;
  let driver: SlackDriver;

  beforeAll(async () => {
    slack = await startSlackStandIn({
      botToken: "xoxb-usage-1111-token",
      users: [
        { id: "W222", name: "ada", displayName: "Ada" },
        { id: "WADMIN", name: "grace", displayName: "Grace", isAdmin: true },
      ],
    });
    openai = await startOpenAiStandIn({ apiKey: "sk-usage" });
    openai.setResponder(() => ({
      kind: "text",
      text: "Deploys happen on Tuesdays and Thursdays.",
      deltas: 3,
    }));
    dataDirectory = mkdtempSync(join(tmpdir(), "teammate-usage-slack-"));
    bot = await startSlackBot(
      loadConfig({
        SLACK_BOT_TOKEN: "xoxb-usage-1111-token",
        SLACK_SIGNING_SECRET: SIGNING_SECRET,
        SLACK_API_URL: slack.apiUrl,
        OPENAI_BASE_URL: openai.baseUrl,
        OPENAI_API_KEY: "sk-usage",
        PORT: "0",
        DATA_DIR: dataDirectory,
      }),
    );
    driver = new SlackDriver(slack, `${bot.origin}/slack/events`, SIGNING_SECRET, "usage");
  });

  afterAll(async () => {
    await bot?.stop();
    await slack?.close();
    await openai?.close();
    rmSync(dataDirectory, { recursive: true, force: true });
  });

  it("shows the tokens the endpoint reported, then refuses past the channel's limit before any LLM call", async () => {
    const thread = await driver.mention({ text: "when do we deploy?", user: "W222", channel: "C111" });
    await waitFor(() => driver.answered("C111", thread, "Tuesdays and Thursdays"), "the answer");
    expect(openai.chatRequests()).toHaveLength(1);
    const reported = reportedUsage(openai);
    expect(reported.prompt).toBeGreaterThan(0);

    expect(await driver.command({ text: "usage", user: "W222", channel: "C111" })).toContain(
      `Usage for you today (UTC): ${usageLine(reported, 1)}`,
    );
    expect(await driver.command({ text: "usage channel week", user: "W222", channel: "C111" })).toContain(
      `Usage for this channel in the last 7 days: ${usageLine(reported, 1)}`,
    );

    expect(
      await driver.command({ text: "config quota channel 10/day", user: "W222", channel: "C111" }),
    ).toMatch(/Only workspace admins/);
    expect(
      await driver.command({ text: "config quota channel 10/day", user: "WADMIN", channel: "C111" }),
    ).toContain("Limit set: <#C111> may use 10 tokens/day");
    const requestsBefore = openai.requests.length;

    await driver.mention({ text: "and what about hotfixes?", user: "W222", channel: "C111" });
    await waitFor(
      () => driver.ephemeralTexts("C111", "W222").some((text) => text.includes("This channel has used")),
      "the refusal, privately",
    );
    const shown = driver.ephemeralTexts("C111", "W222");
    expect(shown.at(-1)).toMatch(
      new RegExp(
        `^This channel has used ${(reported.prompt + reported.completion).toLocaleString("en-US")} tokens of its limit of 10 tokens for today, ` +
          "so I won't ask the language model until it resets at 00:00 UTC \\(in \\d+ (h|min)",
      ),
    );
    expect(await driver.command({ text: "ask what about hotfixes?", user: "W222", channel: "C111" })).toMatch(
      /^This channel has used/,
    );
    expect(await driver.command({ text: "summarize", user: "W222", channel: "C111" })).toMatch(
      /^This channel has used/,
    );

    // The stand-in's request log: nothing reached the endpoint for the three refused requests.
    expect(openai.requests.length).toBe(requestsBefore);
    expect(slack.violations).toEqual([]);
    openai.assertNoViolations();
  });
});

describe("usage and limits on Discord (startBot, real core, Discord and OpenAI stand-ins)", () => {
  const ADMIN_ID = "800000000000000001";
  const MEMBER_ID = "800000000000000002";
  let discord: DiscordStandIn;
  let openai: OpenAiStandIn;
  let dataDirectory: string;
  let bot: { stop(): Promise<void> } | undefined;

  beforeAll(async () => {
    discord = await startDiscordStandIn();
    openai = await startOpenAiStandIn({ apiKey: "sk-usage" });
    openai.setResponder(() => ({ kind: "text", text: "Rivers carry water to the sea.", deltas: 3 }));
    dataDirectory = mkdtempSync(join(tmpdir(), "teammate-usage-discord-"));
    bot = await startBot(
      loadConfig({
        DISCORD_TOKEN: discord.token,
        DISCORD_APPLICATION_ID: discord.applicationId,
        DISCORD_API_URL: discord.apiUrl,
        DISCORD_GUILD_ID: discord.guildId,
        OPENAI_BASE_URL: openai.baseUrl,
        OPENAI_API_KEY: "sk-usage",
        PORT: "0",
        DATA_DIR: dataDirectory,
        ADMIN_USER_IDS: `discord:${ADMIN_ID}`,
      }),
      silentLogger,
    );
  });

  afterAll(async () => {
    await bot?.stop();
    await discord?.close();
    await openai?.close();
    rmSync(dataDirectory, { recursive: true, force: true });
  });

  const slash = (name: string, options: unknown[], expectText: RegExp) =>
    runSlashCommand(discord, { name, options, userId: MEMBER_ID, expect: expectText });

  it("shows the tokens the endpoint reported, then refuses /ask past the limit before any LLM call", async () => {
    await slash("ask", [{ type: 3, name: "question", value: "where do rivers go?" }], /Rivers carry water/);
    expect(openai.chatRequests()).toHaveLength(1);
    const reported = reportedUsage(openai);

    const usage = await slash("usage", [{ type: 3, name: "for", value: "me" }], /Usage for you/);
    expect(usage.content).toContain(`Usage for you today (UTC): ${usageLine(reported, 1)}`);
    expect(usage.ephemeral).toBe(true);

    // The admin sets the limit by mentioning the bot; the reply goes to the channel.
    discord.dispatch(
      "MESSAGE_CREATE",
      discord.userMessage({ content: "config quota workspace 10/month", mentionBot: true, userId: ADMIN_ID }),
    );
    await discord.waitForRequest(
      (request) =>
        request.method !== "GET" &&
        request.path.startsWith(`/channels/${discord.channelId}/messages`) &&
        JSON.stringify(request.body).includes("Limit set: the workspace may use 10 tokens/month"),
      20_000,
    );
    const requestsBefore = openai.requests.length;

    const refused = await slash(
      "ask",
      [{ type: 3, name: "question", value: "and lakes?" }],
      /This workspace has used/,
    );
    expect(refused.content).toMatch(
      new RegExp(
        `^This workspace has used ${(reported.prompt + reported.completion).toLocaleString("en-US")} tokens of its limit of 10 tokens for this month, ` +
          "so I won't ask the language model until it resets on 1 \\w+ at 00:00 UTC",
      ),
    );
    expect(refused.ephemeral).toBe(true);
    expect(openai.requests.length).toBe(requestsBefore);
    expect(discord.problems).toEqual([]);
    openai.assertNoViolations();
  });
});
