import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { waitFor } from "../support/e2e-helpers.js";
import { type GitHubStandIn, startGitHubStandIn } from "../support/github-stand-in.js";
import { type OpenAiStandIn, startOpenAiStandIn } from "../support/openai-stand-in.js";
import { type SlackBot, SlackDriver, startSlackBot } from "../support/slack-e2e-driver.js";
import { type SlackStandIn, startSlackStandIn } from "../support/slack-stand-in.js";

const BOT_TOKEN = "xoxb-channel-sources-1515-token";
const SIGNING_SECRET = "channel-sources-signing-secret";
const GITHUB_TOKEN = "ghp_e2eSourcesToken00000000000000000000000";
const CHANNEL = "CHIST";

/**
 * The whole path through the real app for the team's own Slack channel and a GitHub repository as
 * synced sources: `/teammate index #history` / `index github:owner/repo/path` from Slack, the sync job
 * in-process (no REDIS_URL), the Slack, GitHub and OpenAI stand-ins; then one document changes and
 * one is removed at the source, `sync <id>`, and the next answer uses the new text with its citation
 * and never cites the removed one.
 */
describe("Slack: the team's own channel and a GitHub repository as synced sources", () => {
  let slack: SlackStandIn;
  let github: GitHubStandIn;
  let openai: OpenAiStandIn;
  let dataDirectory: string;
  let bot: SlackBot;
  let driver: SlackDriver;
  const threads: Record<string, string> = {};

  beforeAll(async () => {
    slack = await startSlackStandIn({
      botToken: BOT_TOKEN,
      users: [
        { id: "W515", name: "ada", displayName: "Ada" },
        { id: "WADMIN", name: "grace", displayName: "Grace", isAdmin: true },
      ],
    });
    slack.addChannel({ id: CHANNEL, name: "history" });
    threads.vpn = slack.postAsUser(CHANNEL, "W515", "How often do we rotate the VPN keys?");
    slack.postAsUser(CHANNEL, "WADMIN", "Every 90 days, with the keyring tool.", threads.vpn);
    threads.garage = slack.postAsUser(CHANNEL, "W515", "Where is the garage entrance?");
    slack.postAsUser(CHANNEL, "WADMIN", "The garage entrance is on Walrus Street.", threads.garage);
    threads.coffee = slack.postAsUser(CHANNEL, "WADMIN", "The coffee machine is descaled on Mondays.");
    slack.addChannel({ id: "CANNOUNCE", name: "announcements" });
    threads.offsite = slack.postAsUser("CANNOUNCE", "WADMIN", "The offsite is at the narwhal lodge in May.");

    github = await startGitHubStandIn({ token: GITHUB_TOKEN });
    github.addRepository("acme", "handbook", {
      "README.md": "# Handbook",
      "docs/deploy.md": "# Deploying\n\nDeploys go out with the pelican pipeline.",
      "docs/holidays.md": "# Holidays\n\nThe office closes for the flamingo festival.",
    });

    openai = await startOpenAiStandIn({ apiKey: "sk-channel-sources" });
    // A model that answers from the passages it was given, citing passage 1.
    openai.setResponder((body) => {
      const prompt = JSON.stringify(body.messages);
      if (!prompt.includes('<passage number=\\"1\\"')) return { kind: "text", text: "I don't know." };
      if (prompt.includes("every 30 days now"))
        return { kind: "text", text: "VPN keys rotate every 30 days [1]." };
      if (prompt.includes("Every 90 days"))
        return { kind: "text", text: "VPN keys rotate every 90 days [1]." };
      if (prompt.includes("heron pipeline"))
        return { kind: "text", text: "Deploys use the heron pipeline [1]." };
      if (prompt.includes("pelican pipeline"))
        return { kind: "text", text: "Deploys use the pelican pipeline [1]." };
      if (prompt.includes("Walrus Street"))
        return { kind: "text", text: "The entrance is on Walrus Street [1]." };
      if (prompt.includes("flamingo festival"))
        return { kind: "text", text: "It closes for the flamingo festival [1]." };
      return { kind: "text", text: "I don't know." };
    });
    dataDirectory = mkdtempSync(join(tmpdir(), "teammate-channel-sources-"));
    const config = loadConfig({
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      GITHUB_TOKEN,
      GITHUB_API_URL: github.apiUrl,
      OPENAI_BASE_URL: openai.baseUrl,
      OPENAI_API_KEY: "sk-channel-sources",
      EMBEDDING_MODEL: "text-embedding-3-small",
      PORT: "0",
      DATA_DIR: dataDirectory,
      ENABLE_TOOLS: "false",
    });
    bot = await startSlackBot(config);
    driver = new SlackDriver(slack, `${bot.origin}/slack/events`, SIGNING_SECRET, "channels");
  });

  afterAll(async () => {
    await bot?.stop();
    await slack?.close();
    await github?.close();
    await openai?.close();
    rmSync(dataDirectory, { recursive: true, force: true });
  });

  const botLines = () =>
    slack.messages
      .filter((message) => message.channel === CHANNEL && !message.byPerson)
      .map((message) => message.text);

  async function ask(question: string): Promise<string> {
    const thread = await driver.mention({ text: question, user: "W515", channel: CHANNEL });
    await waitFor(
      () => driver.answered(CHANNEL, thread, /\[1\]|don't know|found nothing/),
      `the answer to "${question}"`,
      20_000,
    );
    const stop = slack.callsTo("chat.stopStream").at(-1);
    return `${driver.threadText(CHANNEL, thread)}\n${JSON.stringify(stop?.args ?? {})}`;
  }

  async function syncAndWait(sourceId: string, line: RegExp): Promise<void> {
    await driver.command({ text: `sync ${sourceId}`, user: "WADMIN", channel: CHANNEL, until: /Syncing/ });
    await waitFor(() => botLines().some((text) => line.test(text)), `the line ${line}`, 20_000);
  }

  it("indexes the channel's threads, each cited by its permalink, leaving the bot's own posts out", async () => {
    const said = await driver.command({
      text: "index #history",
      user: "WADMIN",
      channel: CHANNEL,
      until: /Added source/,
    });
    const sourceId = /`(s[0-9a-f]{10})`/.exec(said)?.[1] ?? "";
    expect(said).toContain("(slack-channel, for this channel)");
    threads.source = sourceId;
    await waitFor(
      () => botLines().some((text) => /Synced #history: 0 changed, 3 new, 0 removed, 0 unchanged/.test(text)),
      "the first sync's line",
      20_000,
    );
    const answer = await ask("how often are the VPN keys rotated?");
    expect(answer).toContain("every 90 days");
    expect(answer).toContain(slack.permalink(CHANNEL, threads.vpn ?? ""));
    expect(await ask("where is the garage entrance?")).toContain(
      slack.permalink(CHANNEL, threads.garage ?? ""),
    );
  });

  it("after a new reply and a deleted thread, `sync` reads only what changed; answers use the new reply and never cite the deleted thread", async () => {
    const sourceId = threads.source ?? "";
    slack.postAsUser(CHANNEL, "WADMIN", "Update: every 30 days now, the auditors asked.", threads.vpn);
    slack.deleteAsUser(CHANNEL, threads.garage ?? "");
    const repliesBefore = slack.callsTo("conversations.replies").length;
    // The bot's own answers and status lines are in the channel now too; they are not threads of it.
    await syncAndWait(sourceId, /Synced #history: 1 changed, 0 new, 1 removed, 1 unchanged/);
    expect(
      slack
        .callsTo("conversations.replies")
        .slice(repliesBefore)
        .map((call) => call.args.ts),
    ).toEqual([threads.vpn]);
    const answer = await ask("how often are the VPN keys rotated?");
    expect(answer).toContain("every 30 days");
    expect(answer).toContain(slack.permalink(CHANNEL, threads.vpn ?? ""));
    const garage = await ask("where is the garage entrance?");
    expect(garage).not.toContain(slack.permalink(CHANNEL, threads.garage ?? ""));
    expect(garage).not.toContain("Walrus Street [1]");
    expect(slack.violations).toEqual([]);
  });

  it("indexes a GitHub folder cited by blob URL; after a commit changes one file and deletes another, `sync` fetches only the changed blob", async () => {
    const said = await driver.command({
      text: "index github:acme/handbook/docs",
      user: "WADMIN",
      channel: CHANNEL,
      until: /Added source/,
    });
    const sourceId = /`(s[0-9a-f]{10})`/.exec(said)?.[1] ?? "";
    expect(said).toContain("acme/handbook/docs");
    await waitFor(
      () =>
        botLines().some((text) =>
          /Synced acme\/handbook\/docs: 0 changed, 2 new, 0 removed, 0 unchanged/.test(text),
        ),
      "the first GitHub sync's line",
      20_000,
    );
    const deployUrl = `${github.webUrl}/acme/handbook/blob/main/docs/deploy.md`;
    const holidaysUrl = `${github.webUrl}/acme/handbook/blob/main/docs/holidays.md`;
    const first = await ask("which pipeline do deploys use?");
    expect(first).toContain("pelican pipeline");
    expect(first).toContain(deployUrl);
    expect(await ask("when does the office close?")).toContain(holidaysUrl);

    github.commit("acme", "handbook", {
      "docs/deploy.md": "# Deploying\n\nDeploys go out with the heron pipeline since March.",
      "docs/holidays.md": null,
    });
    const blobsBefore = github.requestsTo("/repos/{owner}/{repo}/git/blobs/{file_sha}").length;
    await syncAndWait(sourceId, /Synced acme\/handbook\/docs: 1 changed, 0 new, 1 removed, 0 unchanged/);
    expect(github.requestsTo("/repos/{owner}/{repo}/git/blobs/{file_sha}").length - blobsBefore).toBe(1);

    const answer = await ask("which pipeline do deploys use?");
    expect(answer).toContain("heron pipeline");
    expect(answer).toContain(deployUrl);
    const holidays = await ask("when does the office close?");
    expect(holidays).not.toContain(holidaysUrl);

    // The token reached GitHub and nothing else: not Slack, not the model, not a stored message.
    expect(github.requests.every((request) => request.authorization === `token ${GITHUB_TOKEN}`)).toBe(true);
    expect(JSON.stringify(slack.calls)).not.toContain(GITHUB_TOKEN);
    expect(JSON.stringify(openai.requests ?? [])).not.toContain(GITHUB_TOKEN);
    expect(JSON.stringify(bot.logs)).not.toContain(GITHUB_TOKEN);
    expect(github.problems).toEqual([]);
  });
  it("shares a public channel workspace-wide with --workspace, and withdraws it at the next sync once the channel turns private", async () => {
    const refused = await driver.command({
      text: "index <#GSECRET|secret> --workspace",
      user: "WADMIN",
      channel: CHANNEL,
      until: /invite|private/i,
    });
    expect(refused).toMatch(/I'm not in|Invite me/);
    const said = await driver.command({
      text: "index #announcements --workspace",
      user: "WADMIN",
      channel: CHANNEL,
      until: /Added source/,
    });
    expect(said).toContain("for the whole workspace");
    const sourceId = /`(s[0-9a-f]{10})`/.exec(said)?.[1] ?? "";
    await waitFor(
      () => botLines().some((text) => /Synced #announcements: 0 changed, 1 new, 0 removed/.test(text)),
      "the announcements sync",
      20_000,
    );
    // Asked in another channel: workspace-wide, so it is seen here.
    const where = await ask("where is the offsite?");
    expect(where).toContain(slack.permalink("CANNOUNCE", threads.offsite ?? ""));

    slack.updateChannel("CANNOUNCE", { isPrivate: true });
    await syncAndWait(sourceId, /Synced #announcements: 0 changed, 0 new, 1 removed, 0 unchanged/);
    const after = await ask("where is the offsite?");
    expect(after).not.toContain(slack.permalink("CANNOUNCE", threads.offsite ?? ""));
    expect(after).not.toContain("narwhal lodge [1]");
  });
});
