import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { waitFor } from "../support/e2e-helpers.js";
import { type OpenAiStandIn, startOpenAiStandIn } from "../support/openai-stand-in.js";
import { type SlackBot, SlackDriver, startSlackBot } from "../support/slack-e2e-driver.js";
import { type SlackStandIn, startSlackStandIn } from "../support/slack-stand-in.js";
import { page, startWebsiteStandIn, type WebsiteStandIn } from "../support/website-stand-in.js";

const BOT_TOKEN = "xoxb-website-source-5151-token";
const SIGNING_SECRET = "website-source-signing-secret";
const CHANNEL = "C515";

/**
 * The whole path through the real app: `/teammate index <site> --crawl --every 1d` from Slack, the
 * sync job in-process (no REDIS_URL), the website stand-in with sitemap and robots.txt, the OpenAI
 * stand-in for embeddings and answers; then a page changes and one vanishes, `sync <id>`, and the
 * next answer uses the new text and never cites the removed page.
 */
describe("Slack: a website indexed as a synced source, changed, re-synced and answered from", () => {
  let slack: SlackStandIn;
  let openai: OpenAiStandIn;
  let site: WebsiteStandIn;
  let dataDirectory: string;
  let bot: SlackBot;
  let driver: SlackDriver;
  let sourceId = "";

  beforeAll(async () => {
    slack = await startSlackStandIn({
      botToken: BOT_TOKEN,
      users: [
        { id: "W515", name: "ada", displayName: "Ada" },
        { id: "WADMIN", name: "grace", displayName: "Grace", isAdmin: true },
      ],
    });
    openai = await startOpenAiStandIn({ apiKey: "sk-website-source" });
    // A model that answers from whatever passage it was given, citing it.
    openai.setResponder((body) => {
      const prompt = JSON.stringify(body.messages);
      if (!prompt.includes('<passage number=\\"1\\"')) return { kind: "text", text: "I don't know." };
      if (prompt.includes("Friday at dawn"))
        return { kind: "text", text: "Upgrades run every Friday at dawn [1]." };
      if (prompt.includes("Tuesday at noon"))
        return { kind: "text", text: "Upgrades run every Tuesday at noon [1]." };
      if (prompt.includes("walrus"))
        return { kind: "text", text: "Metrics live on the walrus dashboard [1]." };
      return { kind: "text", text: "The documents say something else [1]." };
    });
    site = await startWebsiteStandIn({ robots: "User-agent: *\nDisallow: /docs/drafts/\n" });
    site.pages.set("/docs/upgrade", {
      html: page("Upgrade policy", "Upgrades run every Tuesday at noon."),
      lastModified: "2026-03-01",
    });
    site.pages.set("/docs/metrics", {
      html: page("Metrics", "Metrics live on the walrus dashboard."),
      lastModified: "2026-03-01",
    });
    site.pages.set("/docs/install", { html: page("Install", "Install with the zebra package manager.") });
    site.pages.set("/docs/drafts/leak", { html: page("Draft", "Upgrades run every Sunday (draft).") });
    dataDirectory = mkdtempSync(join(tmpdir(), "teammate-website-source-"));
    const config = loadConfig({
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      OPENAI_BASE_URL: openai.baseUrl,
      OPENAI_API_KEY: "sk-website-source",
      EMBEDDING_MODEL: "text-embedding-3-small",
      PORT: "0",
      DATA_DIR: dataDirectory,
      FETCH_ALLOWED_HOSTS: `127.0.0.1:${site.port}`,
      ENABLE_TOOLS: "false",
    });
    bot = await startSlackBot(config);
    driver = new SlackDriver(slack, `${bot.origin}/slack/events`, SIGNING_SECRET, "website");
  });

  afterAll(async () => {
    await bot?.stop();
    await slack?.close();
    await openai?.close();
    await site?.close();
    rmSync(dataDirectory, { recursive: true, force: true });
  });

  const statusLines = () =>
    slack.messages.filter((message) => message.channel === CHANNEL).map((message) => message.text);

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

  it("refuses `index … --crawl` and `sync` to a member who is not an admin, and reads nothing", async () => {
    const said = await driver.command({
      text: `index ${site.origin}/docs/ --crawl`,
      user: "W515",
      channel: CHANNEL,
    });
    expect(said).toMatch(/Only workspace admins can use `index`/);
    expect(site.requests).toHaveLength(0);
  });

  it("creates the source, syncs each allowed page as its own document, and answers citing the page", async () => {
    const said = await driver.command({
      text: `index ${site.origin}/docs/ --crawl --every 1d`,
      user: "WADMIN",
      channel: CHANNEL,
      until: /Added source/,
    });
    sourceId = /`(s[0-9a-f]{10})`/.exec(said)?.[1] ?? "";
    expect(sourceId).not.toBe("");
    expect(said).toContain("synced every 1d");
    await waitFor(
      () =>
        statusLines().some((text) =>
          /Synced 127\.0\.0\.1:\d+\/docs: 0 changed, 3 new, 0 removed, 0 unchanged/.test(text),
        ),
      "the first sync's line",
      20_000,
    );
    expect(site.requestsFor("/docs/drafts/leak")).toBe(0);
    const docs = await driver.command({
      text: "docs",
      user: "W515",
      channel: CHANNEL,
      until: /Sources I keep/,
    });
    expect(docs).toContain(sourceId);
    expect(docs).toMatch(/3 documents/);
    expect(docs).toMatch(/every 1d, next \d{4}-\d\d-\d\d/);
    const answer = await ask("when do upgrades run?");
    expect(answer).toContain("Tuesday at noon");
    expect(answer).toContain(`${site.origin}/docs/upgrade`);
    expect(answer).not.toContain("Upgrade policy 2026");
    const metrics = await ask("where do metrics live?");
    expect(metrics).toContain("walrus dashboard");
    expect(metrics).toContain(`${site.origin}/docs/metrics`);
  });

  it("after a page changes and another vanishes, `sync` replaces and removes; answers use the new text and never cite the removed page", async () => {
    site.pages.set("/docs/upgrade", {
      html: page("Upgrade policy 2026", "Upgrades run every Friday at dawn."),
      lastModified: "2026-04-01",
    });
    site.pages.delete("/docs/metrics");
    const requestsBefore = openai.chatRequests().length;
    const said = await driver.command({
      text: `sync ${sourceId}`,
      user: "WADMIN",
      channel: CHANNEL,
      until: /Syncing/,
    });
    expect(said).toContain("Syncing");
    await waitFor(
      () =>
        statusLines().some((text) =>
          /Synced 127\.0\.0\.1:\d+\/docs: 1 changed, 0 new, 1 removed, 1 unchanged/.test(text),
        ),
      "the re-sync's line",
      20_000,
    );
    const answer = await ask("when do upgrades run?");
    expect(answer).toContain("Friday at dawn");
    expect(answer).not.toContain("Tuesday at noon");
    // The citation is the page's own URL under its new title.
    expect(answer).toContain(`${site.origin}/docs/upgrade`);
    expect(answer).toContain("Upgrade policy 2026");
    const metrics = await ask("where do metrics live?");
    expect(metrics).not.toContain(`${site.origin}/docs/metrics`);
    expect(metrics).not.toContain("walrus");
    const afterSync = JSON.stringify(
      openai
        .chatRequests()
        .slice(requestsBefore)
        .map((request) => request.messages),
    );
    expect(afterSync).not.toContain("walrus dashboard");
    expect(afterSync).not.toContain(`${site.origin}/docs/metrics`);
  });

  it("a channel's source is out of reach from another channel: not listed, not synced, not forgotten", async () => {
    const docs = await driver.command({
      text: "docs",
      user: "WADMIN",
      channel: "C999",
      until: /No documents|Sources/,
    });
    expect(docs).not.toContain(sourceId);
    const sync = await driver.command({
      text: `sync ${sourceId}`,
      user: "WADMIN",
      channel: "C999",
      until: /no source/,
    });
    expect(sync).toContain(`There is no source \`${sourceId}\` here`);
    const forget = await driver.command({
      text: `forget-doc ${sourceId}`,
      user: "WADMIN",
      channel: "C999",
      until: /no source/,
    });
    expect(forget).toContain("There is no source");
    const refused = await driver.command({
      text: `sync ${sourceId}`,
      user: "W515",
      channel: CHANNEL,
      until: /Only workspace admins/,
    });
    expect(refused).toContain("`sync`");
  });

  it("`sync stop` drops the schedule and `forget-doc <source>` removes every chunk it produced", async () => {
    const stopped = await driver.command({
      text: `sync stop ${sourceId}`,
      user: "WADMIN",
      channel: CHANNEL,
      until: /no longer synced/,
    });
    expect(stopped).toContain("its documents stay");
    const docs = await driver.command({
      text: "docs",
      user: "W515",
      channel: CHANNEL,
      until: /Sources I keep/,
    });
    expect(docs).toContain("no schedule");
    const forgotten = await driver.command({
      text: `forget-doc ${sourceId}`,
      user: "WADMIN",
      channel: CHANNEL,
      until: /Removed source/,
    });
    expect(forgotten).toMatch(/2 documents \(\d+ chunks\)/);
    const empty = await driver.command({
      text: "docs",
      user: "W515",
      channel: CHANNEL,
      until: /No documents/,
    });
    expect(empty).not.toContain(sourceId);
    expect(slack.violations).toEqual([]);
    openai.assertNoViolations();
  });
});
