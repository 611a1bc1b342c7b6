import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Config, loadConfig } from "../../src/config.js";
import { startBot } from "../../src/main.js";
import { obliterateQueue, REDIS_URL, uniqueQueueNames, withTestQueue } from "../support/bullmq-test-queue.js";
import { recordingLogger } from "../support/e2e-helpers.js";
import { startSlackBot } from "../support/slack-e2e-driver.js";
import { type SlackStandIn, startSlackStandIn } from "../support/slack-stand-in.js";

const ADMIN_TOKEN = "dashboard-admin-token-0123456789";
const FAILURE = "the PDF is encrypted, so there is no text to index";

/** Puts one `ingest-documents` job into the bot's queue and fails it on a worker of the test's own. */
async function failOneJob(names: { queueName: string; prefix: string }): Promise<string> {
  const jobId = await withTestQueue(names, async (queue) => {
    const job = await queue.add(
      "ingest-documents",
      {
        scope: { platform: "slack", workspaceId: "T1", channelId: "C1" },
        references: [{ kind: "url", url: "https://docs.example/handbook.pdf" }],
      },
      { attempts: 1 },
    );
    return job.id ?? "";
  });
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const worker = new Worker(
    names.queueName,
    async () => {
      throw new Error(FAILURE);
    },
    { connection, prefix: names.prefix, autorun: false },
  );
  const failed = new Promise<void>((resolve) => worker.once("failed", () => resolve()));
  worker.run().catch(() => undefined);
  await failed;
  await worker.close();
  await connection.quit();
  return jobId;
}

/** The checks every mount of the board must pass: the token, the failed job and its error, a retry. */
function dashboardChecks(context: () => { origin: string; names: { queueName: string; prefix: string } }) {
  const bearer = { authorization: `Bearer ${ADMIN_TOKEN}` };

  it("answers 401 without the token or with a wrong one, for pages and API alike", async () => {
    const { origin } = context();
    for (const path of [
      "/admin/queues",
      "/admin/queues/",
      "/admin/queues/api/queues",
      "/admin/queues/queue/teammate",
    ]) {
      const response = await fetch(`${origin}${path}`);
      expect(response.status, path).toBe(401);
      expect(response.headers.get("www-authenticate")).toContain("Basic");
    }
    const wrong = await fetch(`${origin}/admin/queues/api/queues`, {
      headers: { authorization: "Bearer nope" },
    });
    expect(wrong.status).toBe(401);
    expect((await fetch(`${origin}/admin/queues-elsewhere`)).status).not.toBe(200);
  });

  it("lists the failed job with its error, serves the page to a browser's Basic login, and retries the job", async () => {
    const { origin, names } = context();
    const jobId = await failOneJob(names);

    const listed = await fetch(
      `${origin}/admin/queues/api/queues?activeQueue=teammate&status=failed&page=1`,
      {
        headers: bearer,
      },
    );
    expect(listed.status).toBe(200);
    const body = (await listed.json()) as {
      queues: Array<{ name: string; counts: Record<string, number>; jobs: Array<Record<string, unknown>> }>;
    };
    const queue = body.queues.find((each) => each.name === "teammate");
    expect(queue?.counts.failed).toBe(1);
    expect(queue?.jobs).toHaveLength(1);
    expect(queue?.jobs[0]).toMatchObject({ id: jobId, name: "ingest-documents", failedReason: FAILURE });

    const basic = Buffer.from(`admin:${ADMIN_TOKEN}`).toString("base64");
    const page = await fetch(`${origin}/admin/queues`, { headers: { authorization: `Basic ${basic}` } });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    const html = await page.text();
    expect(html).toContain('<base href="/admin/queues/" />');
    expect(html).toContain("<title>teammate jobs</title>");
    // The UI's own script, served from below the mount point, behind the same login.
    const script = /src="(static\/js\/main\.[^"]+\.js)"/.exec(html)?.[1] ?? "missing";
    expect((await fetch(`${origin}/admin/queues/${script}`)).status).toBe(401);
    const asset = await fetch(`${origin}/admin/queues/${script}`, {
      headers: { authorization: `Basic ${basic}` },
    });
    expect(asset.status).toBe(200);
    expect(asset.headers.get("content-type")).toContain("javascript");

    const edit = await fetch(`${origin}/admin/queues/api/queues/teammate/${jobId}/update-data`, {
      method: "PUT",
      headers: { ...bearer, "content-type": "application/json" },
      body: JSON.stringify({ jobData: { scope: { platform: "slack", workspaceId: "T-OTHER" } } }),
    });
    expect(edit.status).toBe(403);
    const add = await fetch(`${origin}/admin/queues/api/queues/teammate/ADD`, {
      method: "POST",
      headers: { ...bearer, "content-type": "application/json" },
      body: JSON.stringify({ name: "ingest-documents", data: {} }),
    });
    expect(add.status).toBe(403);

    const retried = await fetch(`${origin}/admin/queues/api/queues/teammate/${jobId}/retry`, {
      method: "PUT",
      headers: bearer,
    });
    expect(retried.status).toBeLessThan(300);
    const state = await withTestQueue(names, async (bull) => (await bull.getJob(jobId))?.getState());
    expect(state).toBe("waiting");
    const data = await withTestQueue(names, async (bull) => (await bull.getJob(jobId))?.data);
    expect(data.scope.workspaceId).toBe("T1");
  });
}

describe("Bull Board at /admin/queues on the health server (REDIS_URL, no chat platform)", () => {
  const names = { ...uniqueQueueNames(), queueName: "teammate" };
  let dataDirectory: string;
  let bot: { stop(): Promise<void> };
  let origin = "";

  beforeAll(async () => {
    dataDirectory = mkdtempSync(join(tmpdir(), "teammate-dashboard-"));
    const logs: Array<Record<string, unknown>> = [];
    bot = await startBot(
      loadConfig({
        REDIS_URL,
        QUEUE_PREFIX: names.prefix,
        ADMIN_TOKEN,
        PORT: "0",
        DATA_DIR: dataDirectory,
      }),
      recordingLogger(logs),
    );
    origin = `http://127.0.0.1:${String(logs.find((entry) => entry.message === "health server listening")?.port)}`;
  });

  afterAll(async () => {
    await bot?.stop();
    await obliterateQueue(names);
    rmSync(dataDirectory, { recursive: true, force: true });
  });

  dashboardChecks(() => ({ origin, names }));
});

describe("Bull Board at /admin/queues on Bolt's receiver (Slack over HTTP, REDIS_URL)", () => {
  const names = { ...uniqueQueueNames(), queueName: "teammate" };
  let slack: SlackStandIn;
  let dataDirectory: string;
  let bot: { stop(): Promise<void> };
  let origin = "";

  beforeAll(async () => {
    slack = await startSlackStandIn({ botToken: "xoxb-dashboard-1111-token" });
    dataDirectory = mkdtempSync(join(tmpdir(), "teammate-dashboard-slack-"));
    const config: Config = loadConfig({
      SLACK_BOT_TOKEN: "xoxb-dashboard-1111-token",
      SLACK_SIGNING_SECRET: "dashboard-signing-secret",
      SLACK_API_URL: slack.apiUrl,
      REDIS_URL,
      QUEUE_PREFIX: names.prefix,
      ADMIN_TOKEN,
      PORT: "0",
      DATA_DIR: dataDirectory,
    });
    const started = await startSlackBot(config);
    bot = started;
    origin = started.origin;
  });

  afterAll(async () => {
    await bot?.stop();
    await slack?.close();
    await obliterateQueue(names);
    rmSync(dataDirectory, { recursive: true, force: true });
  });

  dashboardChecks(() => ({ origin, names }));
});
