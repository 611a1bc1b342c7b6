import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { startBot } from "../../src/main.js";
import { type DedicatedRedis, startDedicatedRedis } from "../support/dedicated-redis.js";
import { recordingLogger, waitFor } from "../support/e2e-helpers.js";
import { type OpenAiStandIn, startOpenAiStandIn } from "../support/openai-stand-in.js";
import { postSignedToSlackReceiver } from "../support/slack-signing.js";
import { type SlackStandIn, type StoredMessage, startSlackStandIn } from "../support/slack-stand-in.js";

const BOT_TOKEN = "xoxb-memory-down-4444-token";
const SIGNING_SECRET = "memory-down-signing-secret";
const CHANNEL = "C600";

function hasButtons(message: StoredMessage): boolean {
  return (message.blocks as Array<{ type: string }>).some((block) => block.type === "actions");
}

interface Bot {
  origin: string;
  eventsUrl: string;
  stop(): Promise<void>;
}

async function start(environment: Record<string, string>): Promise<Bot> {
  const entries: Array<Record<string, unknown>> = [];
  const bot = await startBot(loadConfig({ PORT: "0", ...environment }), recordingLogger(entries));
  const port = entries.find((entry) => entry.message === "slack listening")?.port;
  const origin = `http://127.0.0.1:${String(port)}`;
  return { origin, eventsUrl: `${origin}/slack/events`, stop: () => bot.stop() };
}

describe("Slack with its memory store down (startBot on a dedicated Redis that the test stops)", () => {
  let slack: SlackStandIn;
  let openai: OpenAiStandIn;
  let redis: DedicatedRedis;
  let dataDirectory: string;
  let bot: Bot;
  let sequence = 0;

  beforeAll(async () => {
    slack = await startSlackStandIn({
      botToken: BOT_TOKEN,
      users: [{ id: "W222", name: "ada", displayName: "Ada" }],
    });
    openai = await startOpenAiStandIn({ apiKey: "sk-e2e" });
    openai.setResponder(() => ({ kind: "text", text: "Rivers carry water to the sea.", deltas: 3 }));
    redis = await startDedicatedRedis();
    dataDirectory = mkdtempSync(join(tmpdir(), "teammate-memory-down-"));
    bot = await start({
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      OPENAI_BASE_URL: openai.baseUrl,
      OPENAI_API_KEY: "sk-e2e",
      DATA_DIR: dataDirectory,
      REDIS_URL: redis.url,
      QUEUE_PREFIX: `memory-down-${randomUUID().slice(0, 8)}`,
    });
  });

  afterAll(async () => {
    // Back up, so the bot's connections close cleanly.
    await redis?.start();
    await bot?.stop();
    await redis?.stop();
    await slack?.close();
    await openai?.close();
    rmSync(dataDirectory, { recursive: true, force: true });
  });

  function event(payload: Record<string, unknown>): Promise<{ status: number }> {
    sequence += 1;
    return postSignedToSlackReceiver({
      url: bot.eventsUrl,
      signingSecret: SIGNING_SECRET,
      body: JSON.stringify({
        team_id: "T111",
        api_app_id: "A111",
        type: "event_callback",
        event_id: `EvDown${sequence}`,
        event_time: 1_700_000_600 + sequence,
        event: { user: "W222", channel: CHANNEL, ...payload },
        authorizations: [{ team_id: "T111", user_id: "UBOT", is_bot: true, is_enterprise_install: false }],
      }),
    });
  }

  const nextTs = () => `1700000${String(600 + sequence + 1).padStart(3, "0")}.000100`;
  const answersIn = (threadTs: string) =>
    slack.visibleMessages(CHANNEL, threadTs).filter((message) => /Rivers carry water/.test(message.text));

  it("answers, then keeps answering follow-ups, mentions and `help` once Redis is gone, saying memory is down", async () => {
    const root = nextTs();
    await event({ type: "app_mention", text: "<@UBOT> where do rivers go?", ts: root, event_ts: root });
    await waitFor(() => answersIn(root).length === 1, "the first answer");
    await waitFor(() => answersIn(root).some(hasButtons), "its feedback buttons");

    await redis.stop();

    // A follow-up in the thread teammate is in, without a mention.
    const followUp = nextTs();
    await event({
      type: "message",
      channel_type: "channel",
      text: "and after the sea?",
      ts: followUp,
      thread_ts: root,
    });
    await waitFor(() => answersIn(root).length === 2, "the follow-up's answer");
    const second = answersIn(root)[1];
    expect(second?.text).toMatch(/memory is unavailable right now/);
    expect(second && hasButtons(second)).toBe(false);

    // A mention in that thread (the thread shows teammate is in it: no earlier messages to read in).
    const threadMention = nextTs();
    await event({
      type: "app_mention",
      text: "<@UBOT> and the rain?",
      ts: threadMention,
      event_ts: threadMention,
      thread_ts: root,
    });
    await waitFor(() => answersIn(root).length === 3, "the thread mention's answer");
    expect(answersIn(root)[2]?.text).toMatch(/memory is unavailable right now/);

    // A new mention.
    const fresh = nextTs();
    await event({ type: "app_mention", text: "<@UBOT> and lakes?", ts: fresh, event_ts: fresh });
    await waitFor(() => answersIn(fresh).length === 1, "the new mention's answer");
    expect(answersIn(fresh)[0]?.text).toMatch(/memory is unavailable right now/);

    // `help`, which needs no memory at all.
    const help = await postSignedToSlackReceiver({
      url: bot.eventsUrl,
      signingSecret: SIGNING_SECRET,
      contentType: "application/x-www-form-urlencoded",
      body: new URLSearchParams({
        team_id: "T111",
        channel_id: CHANNEL,
        user_id: "W222",
        user_name: "ada",
        command: "/teammate",
        text: "help",
        response_url: slack.responseUrl("help-down"),
        trigger_id: "trigger.help-down",
      }).toString(),
    });
    expect(help.status).toBe(200);
    await waitFor(() => slack.responseUrlPosts.some((post) => post.id === "help-down"), "help");
    const helpText = slack.responseUrlPosts.find((post) => post.id === "help-down")?.body.text;
    expect(String(helpText)).toMatch(/summarize/);

    const health = await fetch(`${bot.origin}/healthz`);
    expect(health.status).toBe(503);
    expect(slack.violations).toEqual([]);
  });
});

describe("/healthz writes: a store that reads but cannot write is unhealthy (startBot on SQLite)", () => {
  it("turns 503 while another process holds the SQLite write lock, and 200 again after", async () => {
    const slack = await startSlackStandIn({ botToken: BOT_TOKEN });
    const dataDirectory = mkdtempSync(join(tmpdir(), "teammate-health-write-"));
    const bot = await start({
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      DATA_DIR: dataDirectory,
    });
    const other = new Database(join(dataDirectory, "teammate.sqlite"));
    try {
      expect((await fetch(`${bot.origin}/healthz`)).status).toBe(200);
      other.exec("BEGIN EXCLUSIVE");
      expect((await fetch(`${bot.origin}/healthz`)).status).toBe(503);
      other.exec("ROLLBACK");
      expect((await fetch(`${bot.origin}/healthz`)).status).toBe(200);
    } finally {
      other.close();
      await bot.stop();
      await slack.close();
      rmSync(dataDirectory, { recursive: true, force: true });
    }
  }, 30_000);
});
