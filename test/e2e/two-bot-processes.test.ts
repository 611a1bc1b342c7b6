import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scriptedModel } from "../support/approval-model-script.js";
import { type BotProcess, startBotProcess } from "../support/bot-process.js";
import { obliterateQueue, REDIS_URL } from "../support/bullmq-test-queue.js";
import { waitFor } from "../support/e2e-helpers.js";
import { lastUserText, type OpenAiStandIn, startOpenAiStandIn } from "../support/openai-stand-in.js";
import { SlackDriver } from "../support/slack-e2e-driver.js";
import { postSignedToSlackReceiver } from "../support/slack-signing.js";
import { type SlackStandIn, startSlackStandIn } from "../support/slack-stand-in.js";

const BOT_TOKEN = "xoxb-two-processes-7777-token";
const SIGNING_SECRET = "two-processes-signing-secret";
const CHANNEL = "C777";

/**
 * Two `npm start` processes on one Redis behind one Slack app, as behind a load balancer: whichever
 * process a click or a re-delivery reaches, the deployment behaves as one bot.
 */
describe("two bot processes on one Redis (npm start ×2, Slack HTTP, Slack and OpenAI stand-ins)", () => {
  const runId = randomUUID().slice(0, 8);
  const team = `T2P${runId}`;
  const prefix = `teammate-two-${runId}`;
  let slack: SlackStandIn;
  let openai: OpenAiStandIn;
  let dataDirectory: string;
  let first: BotProcess;
  let second: BotProcess;
  let viaFirst: SlackDriver;
  let viaSecond: SlackDriver;

  beforeAll(async () => {
    slack = await startSlackStandIn({
      botToken: BOT_TOKEN,
      teamId: team,
      users: [
        { id: "W222", name: "ada", displayName: "Ada" },
        { id: "W333", name: "eve", displayName: "Eve" },
      ],
    });
    openai = await startOpenAiStandIn({ apiKey: "sk-two-processes" });
    openai.setResponder((body) =>
      lastUserText(body).includes("[retry-case]")
        ? { kind: "text", text: "Rivers carry water to the sea.", deltas: 3 }
        : scriptedModel(body),
    );
    // One data directory, as the Compose file shares one volume between the bot replicas.
    dataDirectory = mkdtempSync(join(tmpdir(), "teammate-two-processes-"));
    const environment = {
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      OPENAI_BASE_URL: openai.baseUrl,
      OPENAI_API_KEY: "sk-two-processes",
      DATA_DIR: dataDirectory,
      // Long enough that no case here races the time limit.
      APPROVAL_TIMEOUT_MS: "120000",
      // Dropped duplicates are logged at debug: the test waits for that line instead of the clock.
      LOG_LEVEL: "debug",
    };
    [first, second] = await Promise.all([startBotProcess(environment), startBotProcess(environment)]);
    viaFirst = new SlackDriver(slack, first.eventsUrl, SIGNING_SECRET, `first${runId}`);
    viaSecond = new SlackDriver(slack, second.eventsUrl, SIGNING_SECRET, `second${runId}`);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([first?.stop(), second?.stop()]);
    await obliterateQueue({ queueName: "teammate", prefix });
    // Everything this deployment wrote lives under its prefix (approvals and claims expire anyway).
    const redis = new Redis(REDIS_URL);
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== "0");
    await redis.quit();
    await slack?.close();
    await openai?.close();
    rmSync(dataDirectory, { recursive: true, force: true });
  });

  it("an approval requested in one process is clicked in the other: the tool runs once, a second click finds nothing", async () => {
    const thread = await viaFirst.mention({
      text: "please remember that the release train leaves at four [two-process-case]",
      user: "W222",
      channel: CHANNEL,
      team,
    });
    let approval: ReturnType<SlackDriver["approvalIn"]>;
    await waitFor(() => {
      approval = viaFirst.approvalIn(CHANNEL, thread);
      return approval !== undefined;
    }, "the approval request in the thread");
    const { message, approvalId } = approval as NonNullable<typeof approval>;
    /** Approve, clicked by `user` on the buttons shown, delivered to the process behind `driver`. */
    const approve = (driver: SlackDriver, user: string) =>
      driver.click({
        user,
        actionId: "approve-tool",
        value: approvalId,
        channel: CHANNEL,
        team,
        threadTs: thread,
        messageTs: message.ts,
      });
    // The first process asked and waits; nothing is stored yet.
    expect(
      await viaSecond.command({ text: "memory show", user: "W222", channel: CHANNEL, team }),
    ).not.toContain("release train");

    // A bystander's click on the other process is refused there and decides nothing.
    expect(await approve(viaSecond, "W333")).toMatch(/Only the person who asked, or an admin/);

    expect(await approve(viaSecond, "W222")).toMatch(/^Approved/);
    await waitFor(
      () => viaSecond.threadText(CHANNEL, thread).includes("Approved: running remember."),
      "the approval said in the thread",
    );
    // The first process, whose agent was waiting, learns of the click and runs the tool.
    await waitFor(() => viaFirst.answered(CHANNEL, thread, "Saved note"), "the answer after the approval");

    // A late click (on either process) finds nothing waiting, and runs nothing again.
    expect(await approve(viaFirst, "W222")).toMatch(/no longer waiting/);
    const shown = await viaFirst.command({ text: "memory show", user: "W222", channel: CHANNEL, team });
    expect(shown.match(/the release train leaves at four/g)).toHaveLength(1);
    const toolResults = openai
      .chatRequests()
      .filter((body) => JSON.stringify(body).includes("[two-process-case]"))
      .map((body) => body.messages.filter((entry) => entry.role === "tool").length);
    expect(Math.max(...toolResults)).toBe(1);
    expect(slack.violations).toEqual([]);
  });

  it("a Slack retry delivered to the other process is not answered twice (at the same moment, and after the answer)", async () => {
    const ts = viaFirst.nextTs();
    const body = JSON.stringify({
      token: "verification_token",
      team_id: team,
      api_app_id: "A111",
      event: {
        type: "app_mention",
        user: "W222",
        text: "<@UBOT> where do rivers go? [retry-case]",
        ts,
        channel: CHANNEL,
        event_ts: ts,
      },
      type: "event_callback",
      event_id: `EvRetry${runId}`,
      event_time: Math.floor(Date.now() / 1000),
      authorizations: [{ team_id: team, user_id: "UBOT", is_bot: true, is_enterprise_install: false }],
    });
    const deliver = (bot: BotProcess, retryNum?: number) =>
      postSignedToSlackReceiver({
        url: bot.eventsUrl,
        signingSecret: SIGNING_SECRET,
        body,
        ...(retryNum === undefined ? {} : { retryNum, retryReason: "http_timeout" }),
      });
    const dropped = (bot: BotProcess) =>
      bot
        .logLines()
        .filter((line) => line.msg === "duplicate delivery dropped" && line.eventId === `EvRetry${runId}`)
        .length;

    // The delivery and its retry arrive together, one at each process.
    const responses = await Promise.all([deliver(first), deliver(second, 1)]);
    expect(responses.map((response) => response.status)).toEqual([200, 200]);
    await waitFor(
      () => viaFirst.answered(CHANNEL, ts, "Rivers carry water to the sea."),
      "the answer to the delivered event",
    );
    await waitFor(() => dropped(first) + dropped(second) === 1, "one process to drop its copy");

    // A later retry, again at the process that did not answer, is dropped too.
    const answeredBy = dropped(first) === 1 ? second : first;
    const other = answeredBy === first ? second : first;
    const before = dropped(other);
    expect((await deliver(other, 2)).status).toBe(200);
    await waitFor(() => dropped(other) === before + 1, "the second retry to be dropped");

    const answers = slack
      .visibleMessages(CHANNEL, ts)
      .filter((message) => message.text.includes("Rivers carry water to the sea."));
    expect(answers).toHaveLength(1);
    const asked = openai.chatRequests().filter((request) => JSON.stringify(request).includes("[retry-case]"));
    expect(asked).toHaveLength(1);
    expect(slack.violations).toEqual([]);
  });
});
