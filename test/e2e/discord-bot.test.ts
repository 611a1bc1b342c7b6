import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { silentLogger } from "../../src/core/ports/logger.js";
import { startBot } from "../../src/main.js";
import { type DiscordStandIn, startDiscordStandIn } from "../support/discord-stand-in.js";
import { type OpenAiStandIn, startOpenAiStandIn } from "../support/openai-stand-in.js";

describe("npm start with Discord (in-process startBot, real core, stand-ins for Discord and OpenAI)", () => {
  let discord: DiscordStandIn;
  let openai: OpenAiStandIn;
  let dataDirectory: string;
  let bot: { stop(): Promise<void> } | undefined;

  beforeAll(async () => {
    discord = await startDiscordStandIn();
    openai = await startOpenAiStandIn({ apiKey: "sk-e2e" });
    openai.setResponder(() => ({ kind: "text", text: "Rivers carry water to the sea.", deltas: 4 }));
    dataDirectory = mkdtempSync(join(tmpdir(), "teammate-discord-e2e-"));
    const config = loadConfig({
      DISCORD_TOKEN: discord.token,
      DISCORD_APPLICATION_ID: discord.applicationId,
      DISCORD_API_URL: discord.apiUrl,
      DISCORD_GUILD_ID: discord.guildId,
      OPENAI_BASE_URL: openai.baseUrl,
      OPENAI_API_KEY: "sk-e2e",
      PORT: "0",
      DATA_DIR: dataDirectory,
    });
    bot = await startBot(config, silentLogger);
  });

  afterAll(async () => {
    await bot?.stop();
    await discord?.close();
    await openai?.close();
    rmSync(dataDirectory, { recursive: true, force: true });
  });

  it("answers /ask with the LLM's text by editing @original", async () => {
    const interaction = discord.slashCommand({
      name: "ask",
      options: [{ type: 3, name: "question", value: "where do rivers go?" }],
    });
    const dispatchedAt = Date.now();
    discord.dispatchInteraction(interaction);
    const callback = await discord.waitForRequest((request) =>
      request.path.startsWith(`/interactions/${interaction.id}/`),
    );
    expect(callback.at - dispatchedAt).toBeLessThan(3000);
    const original = `/webhooks/${discord.applicationId}/${interaction.token}/messages/@original`;
    const answered = await discord.waitForRequest(
      (request) =>
        request.method === "PATCH" &&
        request.path === original &&
        String((request.body as { content?: string }).content).includes("Rivers carry water to the sea."),
      20_000,
    );
    expect(answered.status).toBe(200);
    expect(openai.chatRequests()).toHaveLength(1);
    expect(JSON.stringify(openai.chatRequests()[0]?.messages)).toContain("where do rivers go?");
    expect(discord.problems).toEqual([]);
  });
});
