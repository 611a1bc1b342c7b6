import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DiscordNotifier } from "../../../src/adapters/notifiers/discord-notifier.js";
import { DiscordStandIn } from "../../support/discord-stand-in.js";

describe("DiscordNotifier.verifyChannel: one bot token reaches every guild, so a named channel is checked", () => {
  let discord: DiscordStandIn;
  let notifier: DiscordNotifier;

  beforeAll(async () => {
    discord = await new DiscordStandIn().listen();
    notifier = new DiscordNotifier({ botToken: discord.token, apiUrl: discord.apiUrl });
  });
  afterAll(() => discord.close());

  it("accepts the guild's own channel and refuses it to another guild, and refuses a channel it cannot see", async () => {
    const own = { platform: "discord" as const, workspaceId: discord.guildId, channelId: discord.channelId };
    expect(await notifier.verifyChannel(own)).toBe(true);
    expect(await notifier.verifyChannel({ ...own, workspaceId: "900000000000000009" })).toBe(false);
    expect(await notifier.verifyChannel({ ...own, channelId: "900000000000000008" })).toBe(false);
    // The stand-in notes every refusal it served; the unknown channel's 404 is the only one.
    expect(discord.problems).toEqual(["GET /channels/900000000000000008: Unknown Channel"]);
  });
});
