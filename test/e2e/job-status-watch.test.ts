import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { startBot } from "../../src/main.js";
import { obliterateQueue, REDIS_URL, withTestQueue } from "../support/bullmq-test-queue.js";
import { recordingLogger, waitFor } from "../support/e2e-helpers.js";
import { postSignedToSlackReceiver } from "../support/slack-signing.js";
import { type SlackStandIn, type StoredMessage, startSlackStandIn } from "../support/slack-stand-in.js";

const BOT_TOKEN = "xoxb-job-watch-5555-token";
const SIGNING_SECRET = "job-watch-signing-secret";
const CHANNEL = "C555";

/**
 * The bot queues indexing on a real BullMQ queue (REDIS_URL) and watches each job's status message.
 * No `npm run worker` runs: the test plays the workers (real BullMQ Workers that take the job and
 * die holding it) and the operator who loses a job, so what the bot does about it is all that is left.
 */
describe("a queued job that fails for good or disappears ends its status message and tells the asker (startBot, BullMQ on Redis)", () => {
  const runId = randomUUID().slice(0, 8);
  const teamId = `TJ${runId}`;
  const queueNames = { queueName: "teammate", prefix: `teammate-watch-${runId}` };
  let slack: SlackStandIn;
  let dataDirectory: string;
  let bot: { stop(): Promise<void> } | undefined;
  let eventsUrl: string;
  let sequence = 0;

  beforeAll(async () => {
    slack = await startSlackStandIn({
      botToken: BOT_TOKEN,
      teamId,
      users: [{ id: "WADMIN", name: "grace", displayName: "Grace", isAdmin: true }],
    });
    dataDirectory = mkdtempSync(join(tmpdir(), "teammate-job-watch-"));
    const entries: Array<Record<string, unknown>> = [];
    bot = await startBot(
      loadConfig({
        REDIS_URL,
        QUEUE_PREFIX: queueNames.prefix,
        SLACK_BOT_TOKEN: BOT_TOKEN,
        SLACK_SIGNING_SECRET: SIGNING_SECRET,
        SLACK_API_URL: slack.apiUrl,
        DATA_DIR: dataDirectory,
        FETCH_ALLOWED_HOSTS: "127.0.0.1:9",
        OPEN_WORK_CHECK_MS: "300",
        ENABLE_TOOLS: "false",
        PORT: "0",
      }),
      recordingLogger(entries),
    );
    eventsUrl = `http://127.0.0.1:${String(entries.find((entry) => entry.message === "slack listening")?.port)}/slack/events`;
  });

  afterAll(async () => {
    await bot?.stop();
    await obliterateQueue(queueNames);
    await slack?.close();
    rmSync(dataDirectory, { recursive: true, force: true });
  });

  /** `/teammate index …` by the admin; resolves with the id of the job it queued and its status message. */
  async function queueIndexing(): Promise<{ jobId: string; status: () => StoredMessage | undefined }> {
    sequence += 1;
    const before = new Set(slack.messages.map((message) => message.ts));
    const response = await postSignedToSlackReceiver({
      url: eventsUrl,
      signingSecret: SIGNING_SECRET,
      contentType: "application/x-www-form-urlencoded",
      body: new URLSearchParams({
        team_id: teamId,
        channel_id: CHANNEL,
        user_id: "WADMIN",
        user_name: "grace",
        command: "/teammate",
        text: `index http://127.0.0.1:9/page-${sequence}.md`,
        response_url: slack.responseUrl(`index-${sequence}`),
        trigger_id: `trigger.${sequence}.${runId}`,
      }).toString(),
    });
    expect(response.status).toBe(200);
    let ts: string | undefined;
    await waitFor(() => {
      ts = slack.messages.find(
        (message) => !before.has(message.ts) && /^Indexing 1 document: queued/.test(message.text),
      )?.ts;
      return ts !== undefined;
    }, "the queued status message");
    let jobId: string | undefined;
    for (let attempt = 0; attempt < 200 && jobId === undefined; attempt += 1) {
      const jobs = await withTestQueue(queueNames, (queue) => queue.getJobs(["waiting"]));
      jobId = jobs.find((job) => String(job.data?.references?.[0]?.url).endsWith(`page-${sequence}.md`))?.id;
      if (jobId === undefined) await new Promise((resolve) => setTimeout(resolve, 25));
    }
    if (jobId === undefined) throw new Error("the job was never queued");
    return { jobId, status: () => slack.messages.find((message) => message.ts === ts) };
  }

  const pingsFor = (pattern: RegExp) =>
    slack
      .callsTo("chat.postMessage")
      .filter((call) => call.args.channel === CHANNEL && /^<@WADMIN> /.test(String(call.args.text)))
      .filter((call) => pattern.test(String(call.args.text)));

  it("a job lost from the queue: its status message says so with a reference id, and the asker is pinged", async () => {
    const { jobId, status } = await queueIndexing();
    // Lost as a flushed Redis or an operator's cleanup would lose it.
    await withTestQueue(queueNames, (queue) => queue.remove(jobId));
    await waitFor(
      () => /lost from the job queue/.test(status()?.text ?? ""),
      "the status message's last line",
    );
    const reference = /\(ref ([0-9a-f]{8})\)/.exec(status()?.text ?? "")?.[1];
    expect(reference).toBeDefined();
    await waitFor(() => pingsFor(/indexing did not finish/).length === 1, "the ping to the asker");
    expect(String(pingsFor(/indexing did not finish/)[0]?.args.text)).toContain(`(ref ${reference})`);
    expect(slack.violations).toEqual([]);
  });

  it("a job whose workers die holding it, twice: BullMQ fails it for good, and its status message says why", async () => {
    const { jobId, status } = await queueIndexing();
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    /** A worker that takes the job and dies with it (no lock renewal, no failure written): a kill -9. */
    const takeAndDie = async () => {
      const worker = new Worker(queueNames.queueName, () => new Promise<never>(() => {}), {
        connection,
        prefix: queueNames.prefix,
        lockDuration: 400,
        stalledInterval: 200,
        maxStalledCount: 1,
      });
      const [job] = (await once(worker, "active")) as [{ id: string }];
      expect(job.id).toBe(jobId);
      await worker.close(true);
    };
    try {
      await takeAndDie();
      // The next worker's stall check hands the job back (first stall), and it takes it and dies too.
      await takeAndDie();
      // A third worker's check finds it stalled again: more than BullMQ allows, so it fails for good.
      const checker = new Worker(queueNames.queueName, async () => undefined, {
        connection,
        prefix: queueNames.prefix,
        lockDuration: 400,
        stalledInterval: 200,
        maxStalledCount: 1,
      });
      await waitFor(
        () => /stopped and will not finish/.test(status()?.text ?? ""),
        "the status message's last line",
      );
      await checker.close();
    } finally {
      await connection.quit();
    }
    const text = status()?.text ?? "";
    expect(text).toMatch(/stopped responding/);
    expect(text).toMatch(/\(ref [0-9a-f]{8}\)/);
    await waitFor(() => pingsFor(/indexing did not finish/).length === 2, "the ping to the asker");
    expect(slack.violations).toEqual([]);
  });
});
