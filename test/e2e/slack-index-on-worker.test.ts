import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisMemoryStore } from "../../src/adapters/redis/redis-memory-store.js";
import { CONFIG_KEYS, loadConfig } from "../../src/config.js";
import { startBot } from "../../src/main.js";
import { obliterateQueue, REDIS_URL, withTestQueue } from "../support/bullmq-test-queue.js";
import { recordingLogger } from "../support/e2e-helpers.js";
import { type LocalHttpServer, startLocalHttpServer } from "../support/local-http-server.js";
import { type OpenAiStandIn, startOpenAiStandIn } from "../support/openai-stand-in.js";
import { postSignedToSlackReceiver } from "../support/slack-signing.js";
import { type SlackStandIn, type StoredMessage, startSlackStandIn } from "../support/slack-stand-in.js";

const BOT_TOKEN = "xoxb-worker-e2e-3333-token";
const SIGNING_SECRET = "worker-e2e-signing-secret";
const REPOSITORY = join(import.meta.dirname, "../..");
const CHANNEL = "C333";

const HANDBOOK = `# Team handbook

## Parental leave

Every employee gets sixteen weeks of paid parental leave, to be taken within the first year.
`;
const RUNBOOK = `# Deploy runbook

Deploys happen on Tuesdays after the change review, never on Fridays.
`;
const SLOW_PAGE = `# Office plants

Water the ficus on Mondays; the cactus needs water once a month.
`;

async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe("npm start + npm run worker with REDIS_URL: indexing runs in the worker, progress in Slack", () => {
  // Unique per run, so parallel runs and other tests on the same Redis never meet.
  const runId = randomUUID().slice(0, 8);
  const teamId = `TW${runId}`;
  const queueNames = { queueName: "teammate", prefix: `teammate-e2e-${runId}` };
  let slack: SlackStandIn;
  let openai: OpenAiStandIn;
  let documents: LocalHttpServer;
  let dataDirectory: string;
  let bot: { stop(): Promise<void> } | undefined;
  let eventsUrl: string;
  let commonEnvironment: Record<string, string>;
  const botLog: Array<Record<string, unknown>> = [];
  let worker: { child: ChildProcess; exited: Promise<number | null>; output: () => string } | undefined;

  function startWorker() {
    // The same entry point as `npm run worker`, run by node with tsx's loader (not the tsx wrapper
    // process) so SIGTERM reaches the worker itself. No configuration leaks in from the test's shell.
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(([key]) => !(CONFIG_KEYS as string[]).includes(key)),
    );
    const child = spawn(process.execPath, ["--import", "tsx", "workers/main.ts"], {
      cwd: REPOSITORY,
      env: { ...inherited, ...commonEnvironment, LOG_LEVEL: "info" },
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

  beforeAll(async () => {
    slack = await startSlackStandIn({
      botToken: BOT_TOKEN,
      teamId,
      users: [{ id: "WADMIN", name: "grace", displayName: "Grace", isAdmin: true }],
    });
    openai = await startOpenAiStandIn({ apiKey: "sk-worker-e2e" });
    openai.setResponder((body) => {
      const prompt = JSON.stringify(body.messages);
      return {
        kind: "text",
        text: prompt.includes('<passage number=\\"1\\"')
          ? "Employees get sixteen weeks of paid parental leave [1]."
          : "I don't know.",
      };
    });
    documents = await startLocalHttpServer((request, response) => {
      const respond = (body: string) =>
        response.writeHead(200, { "content-type": "text/markdown; charset=utf-8" }).end(body);
      // The slow page keeps a job active long enough to send SIGTERM in the middle of it.
      if (request.url === "/slow.md") setTimeout(() => respond(SLOW_PAGE), 1_500);
      else respond(HANDBOOK);
    });
    dataDirectory = mkdtempSync(join(tmpdir(), "teammate-worker-e2e-"));
    commonEnvironment = {
      REDIS_URL,
      QUEUE_PREFIX: queueNames.prefix,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_API_URL: slack.apiUrl,
      OPENAI_BASE_URL: openai.baseUrl,
      OPENAI_API_KEY: "sk-worker-e2e",
      // Bot and worker share the embedded vector index (one SQLite file, WAL).
      DATA_DIR: dataDirectory,
      // The document server and the Slack stand-in's file host are on loopback.
      FETCH_ALLOWED_HOSTS: `127.0.0.1:${documents.port},${new URL(slack.origin).host}`,
      ENABLE_TOOLS: "false",
    };
    const config = loadConfig({ ...commonEnvironment, SLACK_SIGNING_SECRET: SIGNING_SECRET, PORT: "0" });
    bot = await startBot(config, recordingLogger(botLog));
    const port = botLog.find((entry) => entry.message === "slack listening")?.port;
    eventsUrl = `http://127.0.0.1:${String(port)}/slack/events`;
  });

  afterAll(async () => {
    if (worker && worker.child.exitCode === null && worker.child.signalCode === null)
      worker.child.kill("SIGKILL");
    await bot?.stop();
    // Conversation memory went to the shared Redis: clear this run's channel through the store's API.
    const client = new Redis(REDIS_URL);
    await new RedisMemoryStore({ client }).forgetChannel({
      platform: "slack",
      workspaceId: teamId,
      channelId: CHANNEL,
    });
    await client.quit();
    await obliterateQueue(queueNames);
    await slack?.close();
    await openai?.close();
    await documents?.close();
    rmSync(dataDirectory, { recursive: true, force: true });
  });

  const slashCommand = (text: string, responseId: string) =>
    postSignedToSlackReceiver({
      url: eventsUrl,
      signingSecret: SIGNING_SECRET,
      contentType: "application/x-www-form-urlencoded",
      body: new URLSearchParams({
        token: "verification_token",
        team_id: teamId,
        team_domain: "stand-in",
        channel_id: CHANNEL,
        channel_name: "general",
        user_id: "WADMIN",
        user_name: "grace",
        command: "/teammate",
        text,
        response_url: slack.responseUrl(responseId),
        trigger_id: `trigger.${responseId}.${runId}`,
      }).toString(),
    });

  const mention = (text: string, ts: string, eventId: string, files?: unknown[]) =>
    postSignedToSlackReceiver({
      url: eventsUrl,
      signingSecret: SIGNING_SECRET,
      body: JSON.stringify({
        token: "verification_token",
        team_id: teamId,
        api_app_id: "A333",
        event: {
          type: "app_mention",
          user: "WADMIN",
          text: `<@UBOT> ${text}`,
          ts,
          channel: CHANNEL,
          event_ts: ts,
          ...(files ? { files } : {}),
        },
        type: "event_callback",
        event_id: `${eventId}${runId}`,
        event_time: Math.floor(Number(ts)),
        authorizations: [{ team_id: teamId, user_id: "UBOT", is_bot: true, is_enterprise_install: false }],
      }),
    });

  const statusMessages = (): StoredMessage[] =>
    slack.messages.filter((message) => message.kind === "message" && /^(Indexing|✅|❌)/.test(message.text));
  const queueCounts = () =>
    withTestQueue(queueNames, (queue) => queue.getJobCounts("waiting", "active", "completed", "failed"));

  it("queues in the bot, indexes in the worker (URL and Slack file), answers citing the URL, and SIGTERM leaves nothing active", async () => {
    const handbookUrl = `${documents.origin}/handbook.md`;

    // 1. No worker yet: the bot posts a status message, replies, queues — and fetches nothing.
    expect((await slashCommand(`index ${handbookUrl}`, "index-url")).status).toBe(200);
    // Everyone in the channel sees the short reply; the status message is a separate one.
    await waitFor(
      () => slack.messages.some((message) => /^I'm indexing it in the background/.test(message.text)),
      "the reply",
    );
    const fileUrl = slack.addFile("runbook.md", RUNBOOK);
    const fileTs = "1700000400.000100";
    expect(
      (
        await mention("index this", fileTs, "EvIndexFile", [
          {
            id: "F333",
            name: "runbook.md",
            mimetype: "text/markdown",
            size: RUNBOOK.length,
            url_private: fileUrl,
          },
        ])
      ).status,
    ).toBe(200);
    await waitFor(() => statusMessages().length === 2, "two status messages");
    await waitFor(async () => (await queueCounts()).waiting === 2, "two waiting jobs");
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(documents.requests).toHaveLength(0);
    expect(slack.downloads).toHaveLength(0);
    const [urlStatus, fileStatus] = statusMessages();
    expect(urlStatus?.text).toBe("Indexing 1 document: queued, waiting for a worker…");
    expect(urlStatus?.threadTs).toBeUndefined();
    expect(fileStatus?.threadTs).toBe(fileTs);

    // 2. The worker starts and runs both jobs; the status messages end with the result.
    worker = startWorker();
    const final = (message: StoredMessage | undefined) =>
      slack.messages.find((stored) => stored.ts === message?.ts)?.text ?? "";
    await waitFor(
      () => final(urlStatus).startsWith("✅") && final(fileStatus).startsWith("✅"),
      "both status messages to end with ✅",
      25_000,
    );
    expect(final(urlStatus)).toMatch(/^✅ Indexed 1 of 1 documents \(\d+ chunks?\)\. Ask me about them\.$/);
    expect(final(fileStatus)).toMatch(/^✅ Indexed 1 of 1 documents/);
    expect(documents.requests.map((request) => request.url)).toEqual(["/handbook.md"]);
    // The worker downloaded the Slack file with the bot token, which the job data never held.
    expect(slack.downloads).toEqual(["/files/runbook.md"]);
    expect(worker.output().match(/"msg":"document indexed"/g)).toHaveLength(2);
    expect(botLog.some((entry) => entry.message === "document indexed")).toBe(false);
    const stored = await withTestQueue(queueNames, (queue) => queue.getJobs(["completed"]));
    expect(JSON.stringify(stored.map((job) => job.data))).not.toContain(BOT_TOKEN);

    // 3. The bot answers from what the worker indexed, citing the URL.
    const questionTs = "1700000500.000100";
    expect((await mention("how long is parental leave?", questionTs, "EvQuestion")).status).toBe(200);
    await waitFor(
      () =>
        slack
          .visibleMessages(CHANNEL, questionTs)
          .some((message) => message.text.includes("sixteen weeks") && !message.streaming),
      "the cited answer",
    );
    const answer = slack
      .visibleMessages(CHANNEL, questionTs)
      .map((message) => `${message.text}\n${JSON.stringify(message.blocks)}`)
      .join("\n");
    const rendered = `${answer}\n${JSON.stringify(slack.callsTo("chat.stopStream").at(-1)?.args ?? {})}`;
    expect(rendered).toContain("[1]");
    expect(rendered).toContain(handbookUrl);

    // 4. SIGTERM while a job is running: the worker finishes it, exits cleanly, nothing stays active.
    expect((await slashCommand(`index ${documents.origin}/slow.md`, "index-slow")).status).toBe(200);
    await waitFor(() => documents.requests.some((request) => request.url === "/slow.md"), "the slow fetch");
    expect((await queueCounts()).active).toBe(1);
    worker.child.kill("SIGTERM");
    expect(await worker.exited).toBe(0);
    expect(await queueCounts()).toEqual({ waiting: 0, active: 0, completed: 3, failed: 0 });
    const slowStatus = statusMessages().at(-1);
    expect(slowStatus?.text).toMatch(/^✅ Indexed 1 of 1 documents/);
    // Every edit of the slow job's status is a progress line until the final one. (Whether the
    // progress line gets its own edit depends on the one-edit-per-second throttle and the machine's
    // load, so its presence is not asserted; `test/core/jobs/status-message.test.ts` pins the throttle.)
    const slowEdits = slack.calls
      .filter((call) => call.method === "chat.update" && call.args.ts === slowStatus?.ts)
      .map((call) => String(call.args.text));
    for (const edit of slowEdits.slice(0, -1)) expect(edit).toMatch(/^Indexing \d+\/\d+ [▓░]{10} \d+%$/);
    expect(slowEdits.at(-1)).toBe(slowStatus?.text);
    expect(slack.violations).toEqual([]);
    openai.assertNoViolations();
  }, 60_000);
});
