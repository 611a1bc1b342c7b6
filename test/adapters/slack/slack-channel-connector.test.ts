import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SlackChannelConnector } from "../../../src/adapters/slack/slack-channel-connector.js";
import type {
  FetchedItem,
  SourceDescriptor,
  SourceListing,
  SourceRequest,
} from "../../../src/core/ports/source-connector.js";
import { type SlackStandIn, startSlackStandIn } from "../../support/slack-stand-in.js";

const BOT_TOKEN = "xoxb-history-test-token";

let standIn: SlackStandIn;
let connector: SlackChannelConnector;

beforeEach(async () => {
  standIn = await startSlackStandIn({
    botToken: BOT_TOKEN,
    users: [
      { id: "UALICE", name: "alice", displayName: "Alice" },
      { id: "UBOB", name: "bob", displayName: "Bob" },
    ],
  });
  standIn.addChannel({ id: "CDEPLOY", name: "deploys" });
  connector = new SlackChannelConnector({ botToken: BOT_TOKEN, apiUrl: standIn.apiUrl });
});

afterEach(async () => {
  expect(standIn.violations).toEqual([]);
  await standIn.close();
});

const request = (target: string, workspaceWide = false): SourceRequest => ({
  target,
  platform: "slack",
  workspaceId: standIn.teamId,
  channelId: "CASKED",
  userId: "UALICE",
  workspaceWide,
  crawl: false,
});

async function descriptorFor(target: string): Promise<SourceDescriptor> {
  const resolved = await connector.resolve(request(target));
  return {
    id: "s0000000001",
    kind: resolved.kind,
    target: resolved.target,
    scope: resolved.scope,
    settings: resolved.settings,
  };
}

/** What core does with a listing: fetch the items whose version moved since the last one. */
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

describe("SlackChannelConnector", () => {
  it("recognizes Slack channel mentions only", () => {
    expect(connector.recognizes("<#CDEPLOY|deploys>", { platform: "slack", crawl: false })).toBe(true);
    expect(connector.recognizes("<#CDEPLOY>", { platform: "slack", crawl: false })).toBe(true);
    expect(connector.recognizes("<#CDEPLOY>", { platform: "discord", crawl: false })).toBe(false);
    expect(connector.recognizes("#deploys", { platform: "slack", crawl: false })).toBe(true);
    expect(connector.recognizes("https://example.com", { platform: "slack", crawl: false })).toBe(false);
  });

  it("resolves a plain #name (what a slash command carries) among the channels it can see", async () => {
    const resolved = await connector.resolve(request("#deploys"));
    expect(resolved).toMatchObject({ target: "CDEPLOY", name: "#deploys", scope: { channelId: "CDEPLOY" } });
    expect(standIn.callsTo("conversations.list")[0]?.args).toMatchObject({
      types: "public_channel,private_channel",
    });
    // A private channel the bot is not in is not listed to it: the sentence says to invite it.
    standIn.addChannel({ id: "GSECRET", name: "secret", isPrivate: true, isMember: false });
    await expect(connector.resolve(request("#secret"))).rejects.toMatchObject({
      category: "user",
      userMessage: expect.stringMatching(/can't see a channel #secret.*\/invite @teammate/),
    });
  });

  it("resolves <#C…|name> to the channel, named and scoped to it", async () => {
    const resolved = await connector.resolve(request("<#CDEPLOY|deploys>"));
    expect(resolved).toMatchObject({
      kind: "slack-channel",
      target: "CDEPLOY",
      name: "#deploys",
      scope: { platform: "slack", workspaceId: standIn.teamId, channelId: "CDEPLOY" },
    });
    expect(standIn.callsTo("conversations.info")[0]?.args).toMatchObject({ channel: "CDEPLOY" });
  });

  it("lists each thread as one item cited by its permalink, and reads it with names, leaving the bot's own posts out", async () => {
    const rollback = standIn.postAsUser("CDEPLOY", "UALICE", "How do we roll back a deploy?");
    standIn.postAsUser("CDEPLOY", "UBOB", "Run `deploy rollback <sha>` and tell <@UALICE> in #ops", rollback);
    const freeze = standIn.postAsUser("CDEPLOY", "UBOB", "Deploy freeze starts Friday at noon");
    // The bot answering in the channel: model-written text must not come back as a source.
    await fetch(`${standIn.apiUrl}chat.postMessage`, {
      method: "POST",
      headers: { authorization: `Bearer ${BOT_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ channel: "CDEPLOY", text: "I think you should deploy on Fridays" }),
    });

    const source = await descriptorFor("<#CDEPLOY|deploys>");
    const listing = await connector.list(source, undefined);
    expect(listing.complete).toBe(true);
    expect(listing.items.map((item) => item.key).sort()).toEqual([rollback, freeze].sort());
    const rollbackItem = listing.items.find((item) => item.key === rollback);
    expect(rollbackItem).toMatchObject({
      title: "How do we roll back a deploy?",
      url: standIn.permalink("CDEPLOY", rollback),
    });
    expect(listing.cursor).toBeDefined();

    const fetched = await fetchChanged(source, listing, new Map());
    const thread = textOf(fetched.get(rollback));
    expect(thread).toContain("**Alice**");
    expect(thread).toContain("**Bob**");
    expect(thread).toContain("tell @Alice in #ops");
    expect(textOf(fetched.get(freeze))).toContain("Deploy freeze starts Friday at noon");
    for (const item of fetched.values()) expect(textOf(item)).not.toContain("deploy on Fridays");
    // The thread with a reply was read with conversations.replies; the lone message needed no call.
    expect(standIn.callsTo("conversations.replies").map((call) => call.args.ts)).toEqual([rollback]);
  });

  it("on a re-sync reads only threads with new activity, drops deleted ones and moves the cursor", async () => {
    const first = standIn.postAsUser("CDEPLOY", "UALICE", "Where are the staging credentials?");
    standIn.postAsUser("CDEPLOY", "UBOB", "In the vault under staging/", first);
    const second = standIn.postAsUser("CDEPLOY", "UBOB", "Release notes live in the wiki");
    const third = standIn.postAsUser("CDEPLOY", "UALICE", "Lunch order thread");
    const source = await descriptorFor("<#CDEPLOY>");
    const initial = await connector.list(source, undefined);
    await fetchChanged(source, initial, new Map());
    const repliesBefore = standIn.callsTo("conversations.replies").length;

    standIn.postAsUser("CDEPLOY", "UALICE", "Update: moved to vault path staging/v2", first);
    standIn.deleteAsUser("CDEPLOY", third);
    const fresh = standIn.postAsUser("CDEPLOY", "UBOB", "New on-call rota is pinned");

    const next = await connector.list(source, initial.cursor);
    expect(next.items.map((item) => item.key).sort()).toEqual([first, second, fresh].sort());
    expect(Number(next.cursor)).toBeGreaterThan(Number(initial.cursor));
    const fetched = await fetchChanged(source, next, versions(initial));
    expect([...fetched.keys()].sort()).toEqual([first, fresh].sort());
    expect(textOf(fetched.get(first))).toContain("staging/v2");
    // Only the changed thread with replies was read again.
    expect(
      standIn
        .callsTo("conversations.replies")
        .slice(repliesBefore)
        .map((call) => call.args.ts),
    ).toEqual([first]);

    // An edited parent is a new version too.
    standIn.editAsUser("CDEPLOY", second, "Release notes moved to the handbook");
    const afterEdit = await connector.list(source, next.cursor);
    const edited = await fetchChanged(source, afterEdit, versions(next));
    expect([...edited.keys()]).toEqual([second]);
    expect(textOf(edited.get(second))).toContain("handbook");
  });

  it("pages through a long history with Slack's cursors and keeps the newest threads up to the cap", async () => {
    const posted: string[] = [];
    for (let index = 0; index < 450; index++)
      posted.push(standIn.postAsUser("CDEPLOY", "UBOB", `note ${index}`));
    const source = await descriptorFor("<#CDEPLOY>");
    const listing = await connector.list(source, undefined);
    expect(listing.items).toHaveLength(450);
    expect(standIn.callsTo("conversations.history").length).toBe(3);
    expect(standIn.callsTo("conversations.history")[1]?.args.cursor).toEqual(expect.any(String));

    const capped = await connector.list(
      { ...source, settings: { ...source.settings, maxItems: 10 } },
      undefined,
    );
    expect(capped.items.map((item) => item.key)).toEqual(posted.slice(-10).reverse());
  });

  it("answers gone for a thread deleted between listing and fetch", async () => {
    const parent = standIn.postAsUser("CDEPLOY", "UALICE", "Short-lived question");
    standIn.postAsUser("CDEPLOY", "UBOB", "answer", parent);
    const source = await descriptorFor("<#CDEPLOY>");
    const listing = await connector.list(source, undefined);
    standIn.deleteAsUser("CDEPLOY", parent);
    const item = listing.items[0];
    if (!item) throw new Error("no item listed");
    await expect(connector.fetch(source, item, undefined)).resolves.toEqual({ status: "gone" });
  });
});
