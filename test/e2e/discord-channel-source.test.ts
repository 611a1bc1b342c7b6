import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { silentLogger } from "../../src/core/ports/logger.js";
import { startBot } from "../../src/main.js";
import { runSlashCommand } from "../support/discord-e2e-driver.js";
import {
  type DiscordStandIn,
  type StandInMessage,
  snowflake,
  startDiscordStandIn,
} from "../support/discord-stand-in.js";
import { type OpenAiStandIn, startOpenAiStandIn } from "../support/openai-stand-in.js";

const MANAGE_GUILD = 1n << 5n;

/**
 * A Discord channel's history as a synced source, through the real app (startBot, embedded mode):
 * `/index url:<#history> --workspace` from another channel, conversations (reply chains) cited by
 * message link; then a reply is added to one conversation and another is deleted, `/sync`, and the
 * next answer uses the new reply with its link and never cites the deleted conversation.
 */
describe("Discord: a channel's history as a synced source", () => {
  let discord: DiscordStandIn;
  let openai: OpenAiStandIn;
  let dataDirectory: string;
  let bot: { stop(): Promise<void> } | undefined;
  let history = "";
  let sourceId = "";
  const conversation: Record<string, StandInMessage> = {};
  const alice = { id: "100000000000000011", username: "alice" };
  const grace = { id: "100000000000000012", username: "grace" };

  beforeAll(async () => {
    discord = await startDiscordStandIn();
    history = discord.addChannel({ name: "history" });
    conversation.vpn = discord.postAsMember(history, alice, "How often do we rotate the VPN keys?");
    discord.postAsMember(history, grace, "Every 90 days, with the keyring tool.", conversation.vpn.id);
    conversation.garage = discord.postAsMember(history, alice, "Where is the garage entrance?");
    conversation.garageReply = discord.postAsMember(
      history,
      grace,
      "The garage entrance is on Walrus Street.",
      conversation.garage.id,
    );
    discord.postAsMember(history, grace, "The coffee machine is descaled on Mondays.");

    openai = await startOpenAiStandIn({ apiKey: "sk-discord-channel-source" });
    openai.setResponder((body) => {
      const prompt = JSON.stringify(body.messages);
      // Questions in one channel share its memory: a follow-up is first rewritten as a standalone
      // question, which this model leaves as asked.
      if (prompt.includes("standalone question")) {
        const last = body.messages.at(-1) as { content?: unknown } | undefined;
        const asked = /how often[^"\\]*|where is[^"\\]*/.exec(String(last?.content ?? ""))?.[0];
        return { kind: "text", text: asked ?? String(last?.content ?? "") };
      }
      if (!prompt.includes('<passage number=\\"1\\"')) return { kind: "text", text: "I don't know." };
      if (prompt.includes("every 30 days now"))
        return { kind: "text", text: "VPN keys rotate every 30 days [1]." };
      if (prompt.includes("Every 90 days"))
        return { kind: "text", text: "VPN keys rotate every 90 days [1]." };
      if (prompt.includes("Walrus Street"))
        return { kind: "text", text: "The entrance is on Walrus Street [1]." };
      return { kind: "text", text: "I don't know." };
    });
    dataDirectory = mkdtempSync(join(tmpdir(), "teammate-discord-channel-source-"));
    const config = loadConfig({
      DISCORD_TOKEN: discord.token,
      DISCORD_APPLICATION_ID: discord.applicationId,
      DISCORD_API_URL: discord.apiUrl,
      DISCORD_GUILD_ID: discord.guildId,
      OPENAI_BASE_URL: openai.baseUrl,
      OPENAI_API_KEY: "sk-discord-channel-source",
      EMBEDDING_MODEL: "text-embedding-3-small",
      PORT: "0",
      DATA_DIR: dataDirectory,
      ENABLE_TOOLS: "false",
    });
    bot = await startBot(config, silentLogger);
  });

  afterAll(async () => {
    await bot?.stop();
    await discord?.close();
    await openai?.close();
    rmSync(dataDirectory, { recursive: true, force: true });
  });

  const said = (pattern: RegExp) =>
    discord.waitForRequest(
      (request) =>
        (request.method === "POST" || request.method === "PATCH") &&
        pattern.test(JSON.stringify(request.body ?? "")),
      20_000,
    );

  /** Asks in the default channel with a mention; resolves with the final text of the reply. */
  async function ask(question: string, expected: RegExp): Promise<string> {
    const before = discord.requests.length;
    discord.dispatch("MESSAGE_CREATE", discord.userMessage({ content: question, mentionBot: true }));
    await discord.waitForRequest(
      (request) =>
        discord.requests.indexOf(request) >= before &&
        request.path.startsWith(`/channels/${discord.channelId}/messages`) &&
        expected.test(JSON.stringify(request.body ?? "")),
      20_000,
    );
    return discord.requests
      .slice(before)
      .filter((request) => request.path.startsWith(`/channels/${discord.channelId}/messages`))
      .map((request) => JSON.stringify(request.body ?? ""))
      .join("\n");
  }

  it("indexes the channel's conversations workspace-wide, each cited by its root's message link", async () => {
    const added = await runSlashCommand(discord, {
      name: "index",
      permissions: MANAGE_GUILD,
      options: [{ type: 3, name: "url", value: `<#${history}> --workspace` }],
      expect: /Added source/,
    });
    sourceId = /`(s[0-9a-f]{10})`/.exec(added.content)?.[1] ?? "";
    expect(added.content).toContain("(discord-channel, for the whole workspace)");
    await said(/Synced #history: 0 changed, 3 new, 0 removed, 0 unchanged/);
    const answer = await ask("how often are the VPN keys rotated?", /every 90 days \[1\]/);
    expect(answer).toContain(discord.messageLink(history, conversation.vpn?.id ?? ""));

    // `/sync now source:` offers the source's id to an admin of this server, and to no one else.
    const suggested = async (extra: Record<string, unknown>) => {
      const typing = discord.autocomplete({
        name: "sync",
        options: [
          { type: 1, name: "now", options: [{ type: 3, name: "source", value: "s", focused: true }] },
        ],
        ...extra,
      });
      discord.dispatchInteraction(typing);
      const callback = await discord.waitForRequest((request) =>
        request.path.startsWith(`/interactions/${typing.id}/`),
      );
      const body = callback.body as {
        type: number;
        data: { choices: Array<{ name: string; value: string }> };
      };
      expect(body.type).toBe(8);
      return body.data.choices;
    };
    expect(await suggested({ permissions: MANAGE_GUILD })).toEqual([
      { name: expect.stringContaining(sourceId), value: sourceId },
    ]);
    expect(
      await suggested({ permissions: MANAGE_GUILD, guildId: snowflake(), channelId: snowflake() }),
    ).toEqual([]);
    expect(await suggested({})).toEqual([]);
  });

  it("after a new reply and a deleted conversation, `/sync` replaces and removes; the answer cites the new reply and never the deleted one", async () => {
    discord.postAsMember(
      history,
      grace,
      "Update: every 30 days now, the auditors asked.",
      conversation.vpn?.id,
    );
    discord.deleteMessage(conversation.garage?.id ?? "");
    discord.deleteMessage(conversation.garageReply?.id ?? "");
    await runSlashCommand(discord, {
      name: "sync",
      permissions: MANAGE_GUILD,
      // Generated from core: `sync` and `sync stop` share a name, so syncing now is `/sync now`.
      options: [{ type: 1, name: "now", options: [{ type: 3, name: "source", value: sourceId }] }],
      expect: /Syncing/,
    });
    await said(/Synced #history: 1 changed, 0 new, 1 removed, 1 unchanged/);
    const answer = await ask("how often are the VPN keys rotated?", /every 30 days \[1\]/);
    expect(answer).toContain(discord.messageLink(history, conversation.vpn?.id ?? ""));
    const garage = await ask("where is the garage entrance?", /I don't know|found nothing|\[1\]/);
    expect(garage).not.toContain(discord.messageLink(history, conversation.garage?.id ?? ""));
    expect(discord.problems).toEqual([]);
  });
});
