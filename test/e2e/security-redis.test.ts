import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { startBot } from "../../src/main.js";
import { obliterateQueue, REDIS_URL, uniqueQueueNames } from "../support/bullmq-test-queue.js";
import { capturedPinoLogger, waitFor } from "../support/e2e-helpers.js";
import { type OpenAiStandIn, startOpenAiStandIn } from "../support/openai-stand-in.js";
import { ProbeTable } from "../support/probe-table.js";
import { SlackDriver } from "../support/slack-e2e-driver.js";
import { type SlackStandIn, startSlackStandIn } from "../support/slack-stand-in.js";

const BOT_TOKEN = "xoxb-security-redis-4242-9a8b";
const SIGNING_SECRET = "security-redis-signing";
const table = new ProbeTable("Redis (two deployments on one Redis, startBot with REDIS_URL)");

async function keysMatching(client: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await client.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== "0");
  return keys;
}

describe("finding 10: every Redis key of a deployment carries its QUEUE_PREFIX (two bots, one Redis)", () => {
  // A workspace id no other test uses, so a SCAN finds exactly this test's keys.
  const team = `TR${randomUUID().slice(0, 8).toUpperCase()}`;
  const deployments = [uniqueQueueNames(), uniqueQueueNames()];
  const directories: string[] = [];
  const bots: Array<{ stop(): Promise<void> }> = [];
  const drivers: SlackDriver[] = [];
  const logs: Array<ReturnType<typeof capturedPinoLogger>> = [];
  let slack: SlackStandIn;
  let openai: OpenAiStandIn;
  let redis: Redis;

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    slack = await startSlackStandIn({
      botToken: BOT_TOKEN,
      teamId: team,
      users: [{ id: "W222", name: "ada", displayName: "Ada" }],
    });
    openai = await startOpenAiStandIn({ apiKey: "sk-security-redis" });
    openai.setResponder(() => ({ kind: "text", text: "Hello from a deployment.", deltas: 2 }));
    for (const deployment of deployments) {
      const dataDirectory = mkdtempSync(join(tmpdir(), "teammate-security-redis-"));
      directories.push(dataDirectory);
      const config = loadConfig({
        SLACK_BOT_TOKEN: BOT_TOKEN,
        SLACK_SIGNING_SECRET: SIGNING_SECRET,
        SLACK_API_URL: slack.apiUrl,
        OPENAI_BASE_URL: openai.baseUrl,
        OPENAI_API_KEY: "sk-security-redis",
        PORT: "0",
        DATA_DIR: dataDirectory,
        REDIS_URL,
        QUEUE_PREFIX: deployment.prefix,
        ENABLE_TOOLS: "false",
      });
      const log = capturedPinoLogger("debug");
      logs.push(log);
      bots.push(await startBot(config, log.logger));
      const port = log.entries().find((entry) => entry.msg === "slack listening")?.port;
      drivers.push(
        new SlackDriver(
          slack,
          `http://127.0.0.1:${String(port)}/slack/events`,
          SIGNING_SECRET,
          `Redis${drivers.length}`,
        ),
      );
    }
  }, 60_000);

  afterAll(async () => {
    table.print();
    for (const bot of bots) await bot.stop();
    for (const deployment of deployments) {
      await obliterateQueue({ queueName: "teammate", prefix: deployment.prefix });
      const keys = await keysMatching(redis, `${deployment.prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
    }
    const strays = await keysMatching(redis, `*${team}*`);
    if (strays.length > 0) await redis.del(...strays);
    await redis.quit();
    await slack?.close();
    await openai?.close();
    for (const directory of directories) rmSync(directory, { recursive: true, force: true });
  });

  it("a note saved by one deployment is not seen by the other, and every key of this workspace is under a prefix", async () => {
    const [first, second] = drivers as [SlackDriver, SlackDriver];
    expect(
      await first.command({
        text: "remember the staging password is tulip",
        user: "W222",
        channel: "C1",
        team,
      }),
    ).toMatch(/Noted/);
    const shown = await second.command({ text: "memory show", user: "W222", channel: "C1", team });
    table.record("deployment reads another deployment's notes", {
      refused: !shown.includes("tulip"),
      leaked: shown.includes("tulip"),
    });
    // Nor do the notes reach the other deployment's prompts.
    const asked = await second.mention({
      text: "what is the staging password? [notes]",
      user: "W222",
      channel: "C1",
      team,
    });
    await waitFor(
      () => second.answered("C1", asked, "Hello from a deployment"),
      "the other deployment's answer",
    );
    const prompt = JSON.stringify(
      openai.chatRequests().filter((body) => JSON.stringify(body).includes("[notes]")),
    );
    table.record("deployment reads another deployment's notes", {
      refused: !prompt.includes("tulip"),
      leaked: prompt.includes("tulip"),
    });

    // The same delivery reaching both deployments is answered by each: de-duplication keys are theirs.
    const same = { event_id: `EvSame${team}` };
    const threadOne = await first.mention({
      text: "hello [dedupe]",
      user: "W222",
      channel: "C2",
      team,
      envelope: same,
    });
    await waitFor(
      () => first.answered("C2", threadOne, "Hello from a deployment"),
      "the first deployment's answer",
    );
    const threadTwo = await second.mention({
      text: "hello [dedupe]",
      user: "W222",
      channel: "C3",
      team,
      envelope: same,
    });
    // Whichever happens: the second deployment answers, or logs that it dropped the delivery as a duplicate.
    const droppedAsDuplicate = () =>
      logs[1]?.entries().some((entry) => entry.msg === "duplicate delivery dropped") ?? false;
    await waitFor(
      () => second.answered("C3", threadTwo, "Hello from a deployment") || droppedAsDuplicate(),
      "the second deployment's answer or its duplicate drop",
    );
    const dropped = droppedAsDuplicate();
    table.record("deployment drops a delivery another deployment claimed", {
      refused: !dropped,
      leaked: dropped,
    });

    const keys = await keysMatching(redis, `*${team}*`);
    expect(keys.length).toBeGreaterThan(0);
    const outside = keys.filter(
      (key) => !deployments.some((deployment) => key.startsWith(`${deployment.prefix}:`)),
    );
    table.record("key written outside the deployment's prefix", {
      refused: outside.length === 0,
      leaked: outside.length > 0,
    });
    expect(outside).toEqual([]);
    expect(table.row("deployment reads another deployment's notes")).toMatchObject({ leaked: 0 });
    expect(table.row("deployment drops a delivery another deployment claimed")).toMatchObject({ leaked: 0 });
  }, 60_000);
});
