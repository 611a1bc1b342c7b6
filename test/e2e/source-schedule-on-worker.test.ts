import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONFIG_KEYS, loadConfig } from "../../src/config.js";
import { obliterateQueue, REDIS_URL, withTestQueue } from "../support/bullmq-test-queue.js";
import { waitFor } from "../support/e2e-helpers.js";
import { type OpenAiStandIn, startOpenAiStandIn } from "../support/openai-stand-in.js";
import { type SlackBot, SlackDriver, startSlackBot } from "../support/slack-e2e-driver.js";
import { type SlackStandIn, startSlackStandIn } from "../support/slack-stand-in.js";
import { page, startWebsiteStandIn, type WebsiteStandIn } from "../support/website-stand-in.js";

const BOT_TOKEN = "xoxb-schedule-6161-token";
const SIGNING_SECRET = "schedule-signing-secret";
const REPOSITORY = join(import.meta.dirname, "../..");
const CHANNEL = "C616";

interface WorkerProcess {
  child: ChildProcess;
  exited: Promise<number | null>;
  output: () => string;
}

/**
 * `--every` with REDIS_URL: the bot only sets a BullMQ job scheduler; `npm run worker` (a real child
 * process) started afterwards runs it; after both are stopped and started again, it keeps firing,
 * and there is still exactly one scheduler for the source.
 */
describe("npm start + npm run worker: a source's sync schedule lives in Redis", () => {
  const runId = randomUUID().slice(0, 8);
  const teamId = `TS${runId}`;
  const queueNames = { queueName: "teammate", prefix: `teammate-e2e-schedule-${runId}` };
  let slack: SlackStandIn;
  let openai: OpenAiStandIn;
  let site: WebsiteStandIn;
  let dataDirectory: string;
  let environment: Record<string, string>;
  let bot: SlackBot | undefined;
  let worker: WorkerProcess | undefined;

  function startWorker(): WorkerProcess {
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(([key]) => !(CONFIG_KEYS as string[]).includes(key)),
    );
    const child = spawn(process.execPath, ["--import", "tsx", "workers/main.ts"], {
      cwd: REPOSITORY,
      env: { ...inherited, ...environment, LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    return { child, exited, output: () => output };
  }

  async function stopWorker(): Promise<void> {
    if (!worker) return;
    worker.child.kill("SIGTERM");
    await worker.exited;
    worker = undefined;
  }

  let starts = 0;
  const startTheBot = async () => {
    starts += 1;
    bot = await startSlackBot(
      loadConfig({ ...environment, SLACK_SIGNING_SECRET: SIGNING_SECRET, PORT: "0" }),
    );
    return new SlackDriver(
      slack,
      `${bot.origin}/slack/events`,
      SIGNING_SECRET,
      `schedule${runId}start${starts}`,
    );
  };

  /** Sync lines in the channel: one message per run, each edited to its final line. */
  const syncedRuns = () =>
    slack.messages.filter((message) => message.channel === CHANNEL && /^✅ Synced /.test(message.text))
      .length;

  beforeAll(async () => {
    slack = await startSlackStandIn({
      botToken: BOT_TOKEN,
      teamId,
      users: [{ id: "WADMIN", name: "grace", displayName: "Grace", isAdmin: true }],
    });
    openai = await startOpenAiStandIn({ apiKey: "sk-schedule" });
    site = await startWebsiteStandIn({});
    site.pages.set("/docs/a", { html: page("A", "Alpha page."), lastModified: "2026-01-01" });
    dataDirectory = mkdtempSync(join(tmpdir(), "teammate-schedule-e2e-"));
    environment = {
      REDIS_URL,
      QUEUE_PREFIX: queueNames.prefix,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_API_URL: slack.apiUrl,
      OPENAI_BASE_URL: openai.baseUrl,
      OPENAI_API_KEY: "sk-schedule",
      DATA_DIR: dataDirectory,
      FETCH_ALLOWED_HOSTS: `127.0.0.1:${site.port}`,
      ENABLE_TOOLS: "false",
      // Seconds, so the schedule fires within the test; production refuses anything under 15 minutes.
      SYNC_MIN_INTERVAL_MS: "1000",
    };
  });

  afterAll(async () => {
    if (worker && worker.child.exitCode === null) worker.child.kill("SIGKILL");
    await bot?.stop();
    await obliterateQueue(queueNames);
    const client = new Redis(REDIS_URL);
    const keys = await client.keys(`${queueNames.prefix}:store:*`);
    if (keys.length > 0) await client.del(...keys);
    await client.quit();
    await slack?.close();
    await openai?.close();
    await site?.close();
    rmSync(dataDirectory, { recursive: true, force: true });
  });

  it("fires on a worker started after the bot, and again after both restart", async () => {
    let driver = await startTheBot();
    const said = await driver.command({
      text: `index ${site.origin}/docs/ --crawl --every 2s`,
      user: "WADMIN",
      channel: CHANNEL,
      team: teamId,
      until: /Added source/,
    });
    const sourceId = /`(s[0-9a-f]{10})`/.exec(said)?.[1] ?? "";
    expect(said).toContain("synced every 2s");
    // No worker yet: the bot only checked the address (robots.txt), queued the first sync and set the scheduler.
    expect(site.requestsFor("/sitemap.xml")).toBe(0);
    expect(site.requestsFor("/docs/a")).toBe(0);
    const schedulers = await withTestQueue(queueNames, (queue) => queue.getJobSchedulers());
    expect(schedulers).toHaveLength(1);
    expect(schedulers[0]?.every).toBe(2_000);

    worker = startWorker();
    // The sync asked for with the command, then at least one run of the schedule.
    await waitFor(() => syncedRuns() >= 2, "the first sync and a scheduled one on the worker", 40_000);
    const scheduledPosts = slack.messages.filter(
      (message) =>
        message.channel === CHANNEL && message.text.includes("Synced") && message.threadTs === undefined,
    );
    expect(scheduledPosts.length).toBeGreaterThanOrEqual(2);

    await stopWorker();
    await bot?.stop();
    bot = undefined;
    const before = syncedRuns();
    const requestsBefore = site.requestsFor("/sitemap.xml");

    driver = await startTheBot();
    worker = startWorker();
    await waitFor(() => syncedRuns() >= before + 1, "a scheduled sync after both restarted", 40_000);
    expect(site.requestsFor("/sitemap.xml")).toBeGreaterThan(requestsBefore);
    // Restarting re-created nothing: still one scheduler for the source.
    expect(await withTestQueue(queueNames, (queue) => queue.getJobSchedulers())).toHaveLength(1);

    const stopped = await driver.command({
      text: `sync stop ${sourceId}`,
      user: "WADMIN",
      channel: CHANNEL,
      team: teamId,
      until: /no longer synced/,
    });
    expect(stopped).toContain("its documents stay");
    expect(await withTestQueue(queueNames, (queue) => queue.getJobSchedulers())).toHaveLength(0);
    await stopWorker();
    expect(worker).toBeUndefined();
  }, 120_000);
});
