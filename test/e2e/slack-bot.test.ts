import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import type { Logger } from "../../src/core/ports/logger.js";
import { startBot } from "../../src/main.js";
import { type OpenAiStandIn, startOpenAiStandIn } from "../support/openai-stand-in.js";
import { postSignedToSlackReceiver } from "../support/slack-signing.js";
import { type SlackStandIn, startSlackStandIn } from "../support/slack-stand-in.js";

const BOT_TOKEN = "xoxb-e2e-1111-token";
const SIGNING_SECRET = "e2e-signing-secret";

/** Records log lines so the test learns the port the bot chose (PORT=0) from the bot itself. */
function recordingLogger(entries: Array<Record<string, unknown>>): Logger {
  const log = (object: Record<string, unknown> | string, message?: string) => {
    entries.push(typeof object === "string" ? { message: object } : { ...object, message });
  };
  const logger: Logger = { debug: log, info: log, warn: log, error: log, child: () => logger };
  return logger;
}

const waitFor = async (check: () => boolean, what: string, timeoutMilliseconds = 15_000) => {
  const deadline = Date.now() + timeoutMilliseconds;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
};

describe("npm start with Slack over HTTP (in-process startBot, real core, stand-ins for Slack and OpenAI)", () => {
  let slack: SlackStandIn;
  let openai: OpenAiStandIn;
  let dataDirectory: string;
  let bot: { stop(): Promise<void> };
  let eventsUrl: string;
  let origin: string;

  beforeAll(async () => {
    slack = await startSlackStandIn({
      botToken: BOT_TOKEN,
      users: [{ id: "W222", name: "ada", displayName: "Ada" }],
    });
    openai = await startOpenAiStandIn({ apiKey: "sk-e2e" });
    openai.setResponder(() => ({ kind: "text", text: "Rivers carry water to the sea.", deltas: 4 }));
    dataDirectory = mkdtempSync(join(tmpdir(), "teammate-slack-e2e-"));
    const config = loadConfig({
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      OPENAI_BASE_URL: openai.baseUrl,
      OPENAI_API_KEY: "sk-e2e",
      PORT: "0",
      DATA_DIR: dataDirectory,
    });
    const entries: Array<Record<string, unknown>> = [];
    bot = await startBot(config, recordingLogger(entries));
    const port = entries.find((entry) => entry.message === "slack listening")?.port;
    expect(typeof port).toBe("number");
    origin = `http://127.0.0.1:${String(port)}`;
    eventsUrl = `${origin}/slack/events`;
  });

  afterAll(async () => {
    await bot?.stop();
    await slack?.close();
    await openai?.close();
    rmSync(dataDirectory, { recursive: true, force: true });
  });

  const mention = JSON.stringify({
    token: "verification_token",
    team_id: "T111",
    api_app_id: "A111",
    event: {
      type: "app_mention",
      user: "W222",
      text: "<@UBOT> where do rivers go?",
      ts: "1700000100.000100",
      channel: "C111",
      event_ts: "1700000100.000100",
    },
    type: "event_callback",
    event_id: "EvE2E1",
    event_time: 1700000100,
    authorizations: [{ team_id: "T111", user_id: "UBOT", is_bot: true, is_enterprise_install: false }],
  });

  it("answers a signed app_mention in its thread with the LLM's text", async () => {
    const response = await postSignedToSlackReceiver({
      url: eventsUrl,
      signingSecret: SIGNING_SECRET,
      body: mention,
    });
    expect(response.status).toBe(200);
    await waitFor(
      () =>
        slack
          .visibleMessages("C111", "1700000100.000100")
          .some((message) => message.text.includes("Rivers carry water")),
      "the answer in the thread",
    );
    await waitFor(() => !slack.messages.some((message) => message.streaming), "the stream to stop");
    expect(openai.chatRequests()).toHaveLength(1);
    expect(JSON.stringify(openai.chatRequests()[0]?.messages)).toContain("where do rivers go?");
    expect(slack.violations).toEqual([]);
  });

  it("does not answer the same event again when Slack re-delivers it (X-Slack-Retry-Num: 1)", async () => {
    const response = await postSignedToSlackReceiver({
      url: eventsUrl,
      signingSecret: SIGNING_SECRET,
      body: mention,
      retryNum: 1,
      retryReason: "http_timeout",
    });
    expect(response.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(openai.chatRequests()).toHaveLength(1);
    expect(slack.visibleMessages("C111", "1700000100.000100")).toHaveLength(1);
  });

  it("answers a bad signature and a stale timestamp with 401 and makes no LLM call", async () => {
    const fresh = mention.replace("EvE2E1", "EvE2E2").replaceAll("1700000100.000100", "1700000200.000100");
    const badSignature = await postSignedToSlackReceiver({
      url: eventsUrl,
      signingSecret: "not-the-secret",
      body: fresh,
    });
    const stale = await postSignedToSlackReceiver({
      url: eventsUrl,
      signingSecret: SIGNING_SECRET,
      body: fresh,
      timestamp: Math.floor(Date.now() / 1000) - 301,
    });
    expect(badSignature.status).toBe(401);
    expect(stale.status).toBe(401);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(openai.chatRequests()).toHaveLength(1);
    expect(slack.visibleMessages("C111", "1700000200.000100")).toEqual([]);
  });

  it("serves /healthz on the same port as /slack/events", async () => {
    const response = await fetch(`${origin}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: "ok" });
  });
});
