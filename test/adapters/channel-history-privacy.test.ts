import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DiscordChannelConnector } from "../../src/adapters/discord/discord-channel-connector.js";
import { SlackChannelConnector } from "../../src/adapters/slack/slack-channel-connector.js";
import { type AppError, isAppError } from "../../src/core/errors.js";
import type {
  SourceConnector,
  SourceDescriptor,
  SourceRequest,
} from "../../src/core/ports/source-connector.js";
import { type DiscordStandIn, startDiscordStandIn } from "../support/discord-stand-in.js";
import { type SlackStandIn, startSlackStandIn } from "../support/slack-stand-in.js";

/**
 * The privacy rule for channel history, through the real clients against both platforms' stand-ins:
 * a channel's threads stay in that channel unless it is public and an admin adds `--workspace`;
 * private channels and DMs never leave their scope; a channel the bot is not in is refused with a
 * sentence saying how to invite it. Checked when the source is created and again at every sync.
 */

interface PlatformCase {
  name: "slack" | "discord";
  connector: () => SourceConnector;
  workspaceId: () => string;
  /** Channel mentions, as typed after `index`. */
  publicChannel: () => string;
  privateChannel: () => string;
  directMessage: () => string;
  notInvited: () => string;
  /** Makes the public channel private / takes the bot out of it. */
  makePublicPrivate: () => void;
  removeBotFromPublic: () => void;
  restorePublic: () => void;
  postInPublic: (text: string) => void;
}

const SLACK_TOKEN = "xoxb-privacy-test-token";
let slack: SlackStandIn;
let discord: DiscordStandIn;
const discordIds: Record<string, string> = {};

beforeAll(async () => {
  slack = await startSlackStandIn({ botToken: SLACK_TOKEN, users: [{ id: "UALICE", name: "alice" }] });
  slack.addChannel({ id: "CPUBLIC", name: "general" });
  slack.addChannel({ id: "GPRIVATE", name: "leadership", isPrivate: true });
  slack.addChannel({ id: "DALICE", name: "alice", isIm: true });
  slack.addChannel({ id: "COUTSIDE", name: "random", isMember: false });
  slack.addChannel({ id: "GHIDDEN", name: "hr", isPrivate: true, isMember: false });
  discord = await startDiscordStandIn();
  discordIds.public = discord.addChannel({ name: "general" });
  discordIds.private = discord.addChannel({ name: "leadership", isPrivate: true });
  discordIds.direct = discord.addChannel({ name: "alice", type: 1 });
  discordIds.outside = discord.addChannel({ name: "mods", isPrivate: true, botCanView: false });
  discordIds.noHistory = discord.addChannel({ name: "announcements", botCanReadHistory: false });
});

afterAll(async () => {
  expect(slack.violations).toEqual([]);
  expect(discord.problems.filter((problem) => !/Missing Access|Missing Permissions/.test(problem))).toEqual(
    [],
  );
  await slack.close();
  await discord.close();
});

// One client per bot token, as in the app: Discord's rate limits are per token, and a second REST
// client would not know what the first one spent.
let slackInstance: SlackChannelConnector | undefined;
let discordInstance: DiscordChannelConnector | undefined;
const slackConnector = () => {
  slackInstance ??= new SlackChannelConnector({ botToken: SLACK_TOKEN, apiUrl: slack.apiUrl });
  return slackInstance;
};
const discordConnector = () => {
  discordInstance ??= new DiscordChannelConnector({ botToken: discord.token, apiUrl: discord.apiUrl });
  return discordInstance;
};

const platforms: PlatformCase[] = [
  {
    name: "slack",
    connector: () => slackConnector(),
    workspaceId: () => slack.teamId,
    publicChannel: () => "<#CPUBLIC|general>",
    privateChannel: () => "<#GPRIVATE|leadership>",
    directMessage: () => "<#DALICE>",
    notInvited: () => "<#COUTSIDE|random>",
    makePublicPrivate: () => slack.updateChannel("CPUBLIC", { isPrivate: true }),
    removeBotFromPublic: () => slack.updateChannel("CPUBLIC", { isMember: false }),
    restorePublic: () => slack.updateChannel("CPUBLIC", { isPrivate: false, isMember: true }),
    postInPublic: (text) => {
      slack.postAsUser("CPUBLIC", "UALICE", text);
    },
  },
  {
    name: "discord",
    connector: () => discordConnector(),
    workspaceId: () => discord.guildId,
    publicChannel: () => `<#${discordIds.public}>`,
    privateChannel: () => `<#${discordIds.private}>`,
    directMessage: () => `<#${discordIds.direct}>`,
    notInvited: () => `<#${discordIds.outside}>`,
    makePublicPrivate: () => discord.updateChannel(discordIds.public ?? "", { isPrivate: true }),
    removeBotFromPublic: () => discord.updateChannel(discordIds.public ?? "", { botCanView: false }),
    restorePublic: () =>
      discord.updateChannel(discordIds.public ?? "", { isPrivate: false, botCanView: true }),
    postInPublic: (text) => {
      discord.postAsMember(discordIds.public ?? "", { id: "100000000000000009", username: "alice" }, text);
    },
  },
];

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    if (isAppError(error)) return error;
    throw error;
  }
  throw new Error("expected a refusal");
}

describe.each(platforms)("channel history privacy on $name", (platform) => {
  const request = (target: string, workspaceWide: boolean): SourceRequest => ({
    target,
    platform: platform.name,
    workspaceId: platform.workspaceId(),
    channelId: "C0ASKEDIN",
    userId: "UADMIN",
    workspaceWide,
    crawl: false,
  });

  it("keeps a public channel's history in that channel without --workspace", async () => {
    const resolved = await platform.connector().resolve(request(platform.publicChannel(), false));
    const channelId = /<#([^|>]+)/.exec(platform.publicChannel())?.[1];
    // Scoped to the indexed channel, not to the channel where the command was typed.
    expect(resolved.scope).toEqual({
      platform: platform.name,
      workspaceId: platform.workspaceId(),
      channelId,
    });
  });

  it("shares a public channel's history workspace-wide with --workspace", async () => {
    const resolved = await platform.connector().resolve(request(platform.publicChannel(), true));
    expect(resolved.scope).toEqual({ platform: platform.name, workspaceId: platform.workspaceId() });
  });

  it("indexes a private channel for itself only, and refuses --workspace with a sentence", async () => {
    const connector = platform.connector();
    const channelId = /<#([^|>]+)/.exec(platform.privateChannel())?.[1];
    const resolved = await connector.resolve(request(platform.privateChannel(), false));
    expect(resolved.scope.channelId).toBe(channelId);
    const refused = await refusal(connector.resolve(request(platform.privateChannel(), true)));
    expect(refused.category).toBe("user");
    expect(refused.userMessage).toMatch(/private channel.*stays in it.*without `--workspace`/);
  });

  it("never lets a DM's history out with --workspace", async () => {
    const refused = await refusal(platform.connector().resolve(request(platform.directMessage(), true)));
    expect(refused.userMessage).toMatch(/direct message.*stays in it/);
  });

  it("refuses a channel it is not in, saying how to invite it", async () => {
    const refused = await refusal(platform.connector().resolve(request(platform.notInvited(), false)));
    expect(refused.category).toBe("user");
    expect(refused.userMessage).toMatch(
      platform.name === "slack" ? /Invite me there/ : /View Channel and Read Message History/,
    );
  });

  it("checks again at every sync: a workspace-wide source of a channel turned private lists nothing, and a channel the bot left fails with the sentence", async () => {
    const connector = platform.connector();
    platform.postInPublic("The office wifi password rotates monthly");
    const resolved = await connector.resolve(request(platform.publicChannel(), true));
    const source: SourceDescriptor = {
      id: `s-privacy-${platform.name}`,
      kind: resolved.kind,
      target: resolved.target,
      scope: resolved.scope,
      settings: resolved.settings,
    };
    try {
      expect((await connector.list(source, undefined)).items.length).toBeGreaterThan(0);
      platform.makePublicPrivate();
      // Complete and empty: every thread already shared workspace-wide is removed by the sync.
      expect(await connector.list(source, undefined)).toEqual({
        items: [],
        complete: true,
        withdrawn: expect.stringMatching(/no longer public/),
      });
      platform.restorePublic();
      platform.removeBotFromPublic();
      const refused = await refusal(connector.list(source, undefined));
      expect(refused.category).toBe("user");
      expect(refused.userMessage).toMatch(platform.name === "slack" ? /Invite me there/ : /View Channel/);
    } finally {
      platform.restorePublic();
    }
  });
});

describe("channel history privacy, platform specifics", () => {
  it("Slack: a private channel the bot was never invited to (Slack says channel_not_found) is refused with the invite sentence", async () => {
    const connector = slackConnector();
    const refused = await refusal(
      connector.resolve({
        target: "<#GHIDDEN|hr>",
        platform: "slack",
        workspaceId: slack.teamId,
        channelId: "CPUBLIC",
        userId: "UADMIN",
        workspaceWide: false,
        crawl: false,
      }),
    );
    expect(refused.userMessage).toMatch(/I'm not in #hr.*\/invite @teammate/);
  });

  it("Slack: a channel of another workspace is refused", async () => {
    const connector = slackConnector();
    const refused = await refusal(
      connector.resolve({
        target: "<#CPUBLIC>",
        platform: "slack",
        workspaceId: "T0OTHER",
        channelId: "CPUBLIC",
        userId: "UADMIN",
        workspaceWide: false,
        crawl: false,
      }),
    );
    expect(refused.userMessage).toMatch(/only index channels of this workspace/);
  });

  it("Discord: a channel the bot sees but may not read the history of is refused", async () => {
    const connector = discordConnector();
    const refused = await refusal(
      connector.resolve({
        target: `<#${discordIds.noHistory}>`,
        platform: "discord",
        workspaceId: discord.guildId,
        channelId: discord.channelId,
        userId: "1",
        workspaceWide: false,
        crawl: false,
      }),
    );
    expect(refused.userMessage).toMatch(/Read Message History/);
  });

  it("Discord: a channel of another server is refused", async () => {
    const connector = discordConnector();
    const refused = await refusal(
      connector.resolve({
        target: `<#${discordIds.public}>`,
        platform: "discord",
        workspaceId: "999999999999999999",
        channelId: discord.channelId,
        userId: "1",
        workspaceWide: false,
        crawl: false,
      }),
    );
    expect(refused.userMessage).toMatch(/only index channels of this server/);
  });
});
