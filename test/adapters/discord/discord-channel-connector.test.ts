import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DiscordChannelConnector } from "../../../src/adapters/discord/discord-channel-connector.js";
import type {
  FetchedItem,
  SourceDescriptor,
  SourceListing,
  SourceRequest,
} from "../../../src/core/ports/source-connector.js";
import { type DiscordStandIn, startDiscordStandIn } from "../../support/discord-stand-in.js";

let discord: DiscordStandIn;
let connector: DiscordChannelConnector;
let channelId: string;

const alice = { id: "100000000000000001", username: "alice" };
const bob = { id: "100000000000000002", username: "bob" };

beforeEach(async () => {
  discord = await startDiscordStandIn();
  channelId = discord.addChannel({ name: "support" });
  connector = new DiscordChannelConnector({ botToken: discord.token, apiUrl: discord.apiUrl });
});

afterEach(async () => {
  expect(discord.problems).toEqual([]);
  await discord.close();
});

const request = (target: string, workspaceWide = false): SourceRequest => ({
  target,
  platform: "discord",
  workspaceId: discord.guildId,
  channelId: discord.channelId,
  userId: alice.id,
  workspaceWide,
  crawl: false,
});

async function descriptor(): Promise<SourceDescriptor> {
  const resolved = await connector.resolve(request(`<#${channelId}>`));
  return {
    id: "s0000000002",
    kind: resolved.kind,
    target: resolved.target,
    scope: resolved.scope,
    settings: resolved.settings,
  };
}

async function fetchChanged(
  source: SourceDescriptor,
  listing: SourceListing,
  before: Map<string, string | undefined>,
): Promise<Map<string, FetchedItem>> {
  const fetched = new Map<string, FetchedItem>();
  for (const item of listing.items) {
    if (before.has(item.key) && before.get(item.key) === item.version) continue;
    fetched.set(item.key, await connector.fetch(source, item, undefined));
  }
  return fetched;
}

const versions = (listing: SourceListing) => new Map(listing.items.map((item) => [item.key, item.version]));
const textOf = (item: FetchedItem | undefined) => (item?.status === "fetched" ? item.document.text : "");

describe("DiscordChannelConnector", () => {
  it("recognizes Discord channel mentions only", () => {
    expect(connector.recognizes(`<#${channelId}>`, { platform: "discord", crawl: false })).toBe(true);
    expect(connector.recognizes(`<#${channelId}>`, { platform: "slack", crawl: false })).toBe(false);
    expect(connector.recognizes("#support", { platform: "discord", crawl: false })).toBe(false);
  });

  it("resolves <#…> to the channel, named and scoped to it", async () => {
    const resolved = await connector.resolve(request(`<#${channelId}>`));
    expect(resolved).toMatchObject({
      kind: "discord-channel",
      target: channelId,
      name: "#support",
      scope: { platform: "discord", workspaceId: discord.guildId, channelId },
    });
  });

  it("groups reply chains and threads into conversations cited by the root's message link, without the bot's posts", async () => {
    const question = discord.postAsMember(channelId, alice, "How do I reset my API key?");
    const answer = discord.postAsMember(channelId, bob, "Settings → Keys → Rotate", question.id);
    discord.postAsMember(channelId, alice, "Does rotating break old clients?", answer.id);
    const outage = discord.postAsMember(channelId, bob, "Status page for the outage");
    const thread = discord.startThread(outage.id, "outage notes");
    discord.postAsMember(thread, alice, "Root cause: expired TLS certificate");
    // The bot's own answer in the channel never comes back as a source.
    await fetch(`${discord.apiUrl}/v10/channels/${channelId}/messages`, {
      method: "POST",
      headers: { authorization: `Bot ${discord.token}`, "content-type": "application/json" },
      body: JSON.stringify({ content: "I believe keys never expire" }),
    });

    const source = await descriptor();
    const listing = await connector.list(source, undefined);
    expect(listing.items.map((item) => item.key).sort()).toEqual([question.id, outage.id].sort());
    expect(listing.items.find((item) => item.key === question.id)).toMatchObject({
      title: "How do I reset my API key?",
      url: discord.messageLink(channelId, question.id),
    });
    expect(listing.cursor).toBeDefined();

    const fetched = await fetchChanged(source, listing, new Map());
    const chain = textOf(fetched.get(question.id));
    expect(chain).toContain("Settings → Keys → Rotate");
    expect(chain).toContain("Does rotating break old clients?");
    expect(chain).toContain("**bob**");
    expect(textOf(fetched.get(outage.id))).toContain("Root cause: expired TLS certificate");
    for (const item of fetched.values()) expect(textOf(item)).not.toContain("never expire");
  });

  it("on a re-sync fetches only conversations with a new reply, an edit or a new thread message, and drops deleted ones", async () => {
    const first = discord.postAsMember(channelId, alice, "Which port does staging use?");
    discord.postAsMember(channelId, bob, "8443", first.id);
    const second = discord.postAsMember(channelId, bob, "Deploys happen on Tuesdays");
    const third = discord.postAsMember(channelId, alice, "Pizza on Friday?");
    const source = await descriptor();
    const initial = await connector.list(source, undefined);
    await fetchChanged(source, initial, new Map());

    discord.postAsMember(channelId, alice, "Update: staging moved to 9443", first.id);
    discord.editAsMember(second.id, "Deploys happen on Wednesdays now");
    discord.deleteMessage(third.id);

    const next = await connector.list(source, initial.cursor);
    expect(next.items.map((item) => item.key).sort()).toEqual([first.id, second.id].sort());
    expect(BigInt(next.cursor ?? "0")).toBeGreaterThan(BigInt(initial.cursor ?? "0"));
    const fetched = await fetchChanged(source, next, versions(initial));
    expect([...fetched.keys()].sort()).toEqual([first.id, second.id].sort());
    expect(textOf(fetched.get(first.id))).toContain("9443");
    expect(textOf(fetched.get(second.id))).toContain("Wednesdays");

    const unchanged = await connector.list(source, next.cursor);
    expect(await fetchChanged(source, unchanged, versions(next))).toEqual(new Map());
  });

  it("pages backwards through a long channel, 100 messages a request, up to the cap", async () => {
    for (let index = 0; index < 230; index++) discord.postAsMember(channelId, bob, `note ${index}`);
    const source = await descriptor();
    const before = discord.requestsTo("GET", "/channels/{channel_id}/messages").length;
    const listing = await connector.list(source, undefined);
    expect(listing.items).toHaveLength(230);
    const pages = discord.requestsTo("GET", "/channels/{channel_id}/messages").slice(before + 1);
    expect(pages.map((page) => page.query.get("limit"))).toEqual(["100", "100", "100"]);
    expect(pages[1]?.query.get("before")).toEqual(expect.any(String));
    const capped = await connector.list(
      { ...source, settings: { ...source.settings, maxItems: 20 } },
      undefined,
    );
    expect(capped.items).toHaveLength(20);
  });
});
