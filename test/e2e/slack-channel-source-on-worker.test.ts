import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Application, createApplication } from "../../src/application.js";
import { loadConfig } from "../../src/config.js";
import { obliterateQueue, REDIS_URL, withTestQueue } from "../support/bullmq-test-queue.js";
import { recordingLogger, waitFor } from "../support/e2e-helpers.js";
import { type GitHubStandIn, startGitHubStandIn } from "../support/github-stand-in.js";
import { type OpenAiStandIn, startOpenAiStandIn } from "../support/openai-stand-in.js";
import { type SlackBot, SlackDriver, startSlackBot } from "../support/slack-e2e-driver.js";
import { type SlackStandIn, startSlackStandIn } from "../support/slack-stand-in.js";

const BOT_TOKEN = "xoxb-worker-sources-7777-token";
const SIGNING_SECRET = "worker-sources-signing-secret";
const GITHUB_TOKEN = "ghp_workerSourcesToken000000000000000000000";
const CHANNEL = "CWORK";

/**
 * With REDIS_URL the bot only queues a source's sync; a worker (the same composition root as
 * `npm run worker`, here in the test's process) reads the Slack channel and the GitHub repository
 * with its own clients and reports in Slack. The job payloads in Redis carry no token.
 */
describe("REDIS_URL: channel and GitHub sources sync on the worker", () => {
  const runId = randomUUID().slice(0, 8);
  const queueNames = { queueName: "teammate", prefix: `teammate-sources-${runId}` };
  let slack: SlackStandIn;
  let github: GitHubStandIn;
  let openai: OpenAiStandIn;
  let dataDirectory: string;
  let bot: SlackBot;
  let worker: Application;
  let driver: SlackDriver;
  const workerLogs: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    slack = await startSlackStandIn({
      botToken: BOT_TOKEN,
      users: [
        { id: "W1", name: "ada", displayName: "Ada" },
        { id: "WADMIN", name: "grace", displayName: "Grace", isAdmin: true },
      ],
    });
    slack.addChannel({ id: CHANNEL, name: "work" });
    const parent = slack.postAsUser(CHANNEL, "W1", "Who approves expense reports?");
    slack.postAsUser(CHANNEL, "WADMIN", "The otter team approves expense reports.", parent);
    github = await startGitHubStandIn({ token: GITHUB_TOKEN });
    github.addRepository("acme", "policies", {
      "travel.md": "# Travel\n\nBook trains through the badger portal.",
    });
    openai = await startOpenAiStandIn({ apiKey: "sk-worker-sources" });
    openai.setResponder((body) => {
      const prompt = JSON.stringify(body.messages);
      if (prompt.includes("otter team")) return { kind: "text", text: "The otter team approves them [1]." };
      if (prompt.includes("badger portal")) return { kind: "text", text: "Through the badger portal [1]." };
      return { kind: "text", text: "I don't know." };
    });
    dataDirectory = mkdtempSync(join(tmpdir(), "teammate-worker-sources-"));
    const config = loadConfig({
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      GITHUB_TOKEN,
      GITHUB_API_URL: github.apiUrl,
      OPENAI_BASE_URL: openai.baseUrl,
      OPENAI_API_KEY: "sk-worker-sources",
      EMBEDDING_MODEL: "text-embedding-3-small",
      REDIS_URL,
      QUEUE_PREFIX: queueNames.prefix,
      PORT: "0",
      DATA_DIR: dataDirectory,
      ENABLE_TOOLS: "false",
    });
    bot = await startSlackBot(config);
    worker = await createApplication(config, recordingLogger(workerLogs), { role: "worker" });
    driver = new SlackDriver(slack, `${bot.origin}/slack/events`, SIGNING_SECRET, "worker");
  });

  afterAll(async () => {
    await worker?.close();
    await bot?.stop();
    await obliterateQueue(queueNames);
    // Memory, sources and answers of this run live under its own prefix and nowhere else.
    const client = new Redis(REDIS_URL);
    for (let cursor = "0"; ; ) {
      const [next, keys] = await client.scan(cursor, "MATCH", `${queueNames.prefix}:*`, "COUNT", 500);
      if (keys.length > 0) await client.del(...keys);
      cursor = next;
      if (cursor === "0") break;
    }
    await client.quit();
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
    const thread = await driver.mention({ text: question, user: "W1", channel: CHANNEL });
    await waitFor(() => driver.answered(CHANNEL, thread, /\[1\]|don't know|found nothing/), question, 20_000);
    return `${driver.threadText(CHANNEL, thread)}\n${JSON.stringify(slack.callsTo("chat.stopStream").at(-1)?.args ?? {})}`;
  }

  it("syncs a Slack channel and a GitHub folder on the worker, answers from both, and keeps tokens out of the job payloads", async () => {
    await driver.command({ text: "index #work", user: "WADMIN", channel: CHANNEL, until: /Added source/ });
    await driver.command({
      text: "index github:acme/policies",
      user: "WADMIN",
      channel: CHANNEL,
      until: /Added source .*acme\/policies/,
    });
    await waitFor(
      () =>
        botLines().some((text) => /Synced #work: 0 changed, 1 new/.test(text)) &&
        botLines().some((text) => /Synced acme\/policies: 0 changed, 1 new/.test(text)),
      "both first syncs",
      30_000,
    );
    // The worker's clients read the sources: its Slack client asked for the history.
    expect(slack.callsTo("conversations.history").length).toBeGreaterThan(0);
    const expenses = await ask("who approves expense reports?");
    expect(expenses).toContain("otter team");
    expect(expenses).toContain(
      slack.permalink(CHANNEL, slack.messages.find((message) => message.byPerson)?.ts ?? ""),
    );
    const travel = await ask("how do I book trains?");
    expect(travel).toContain(`${github.webUrl}/acme/policies/blob/main/travel.md`);

    const jobs = await withTestQueue(queueNames, async (queue) =>
      (await queue.getJobs()).map((job) => job.data),
    );
    // Two sync jobs, each naming its source by id only: the worker reads target and settings from the store.
    expect(jobs).toHaveLength(2);
    const payloads = JSON.stringify(jobs);
    expect(payloads).toContain('"sourceId"');
    expect(payloads).not.toContain(BOT_TOKEN);
    expect(payloads).not.toContain(GITHUB_TOKEN);
    expect(JSON.stringify(workerLogs)).not.toContain(GITHUB_TOKEN);
    expect(JSON.stringify(workerLogs)).not.toContain(BOT_TOKEN);
  });
});
