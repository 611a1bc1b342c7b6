import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { startBot } from "../../src/main.js";
import { recordingLogger, waitFor } from "../support/e2e-helpers.js";
import { type OpenAiStandIn, startOpenAiStandIn } from "../support/openai-stand-in.js";
import { postSignedToSlackReceiver } from "../support/slack-signing.js";
import { type SlackStandIn, startSlackStandIn } from "../support/slack-stand-in.js";

const BOT_TOKEN = "xoxb-e2e-1111-token";
const SIGNING_SECRET = "e2e-signing-secret";

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
      users: [
        { id: "W222", name: "ada", displayName: "Ada" },
        { id: "WADMIN", name: "grace", displayName: "Grace", isAdmin: true },
      ],
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

  const postForm = (fields: Record<string, string>) =>
    postSignedToSlackReceiver({
      url: eventsUrl,
      signingSecret: SIGNING_SECRET,
      body: new URLSearchParams(fields).toString(),
      contentType: "application/x-www-form-urlencoded",
    });

  const click = (actionId: string, value: string, responseId: string) =>
    postForm({
      payload: JSON.stringify({
        type: "block_actions",
        user: { id: "W222", username: "ada", name: "ada", team_id: "T111" },
        api_app_id: "A111",
        token: "verification_token",
        container: {
          type: "message",
          message_ts: "1700000100.000200",
          channel_id: "C111",
          is_ephemeral: false,
        },
        trigger_id: `trigger.${responseId}`,
        team: { id: "T111", domain: "stand-in" },
        channel: { id: "C111", name: "general" },
        message: { ts: "1700000100.000200", thread_ts: "1700000100.000100", text: "an answer" },
        response_url: slack.responseUrl(responseId),
        actions: [
          {
            action_id: actionId,
            block_id: "answer-actions",
            type: "button",
            value,
            action_ts: "1700000101.1",
          },
        ],
      }),
    });

  const feedbackCommand = (userId: string, responseId: string) =>
    postForm({
      token: "verification_token",
      team_id: "T111",
      team_domain: "stand-in",
      channel_id: "C111",
      channel_name: "general",
      user_id: userId,
      user_name: userId.toLowerCase(),
      command: "/teammate",
      text: "feedback",
      response_url: slack.responseUrl(responseId),
      trigger_id: `trigger.${responseId}`,
    });

  const responseText = async (responseId: string) => {
    await waitFor(
      () => slack.responseUrlPosts.some((post) => post.id === responseId),
      `response ${responseId}`,
    );
    return slack.responseUrlPosts
      .filter((post) => post.id === responseId)
      .map((post) => String(post.body.text))
      .join("\n")
      .replace(/\u200b/g, "");
  };

  it("stores a 👍 click, shows it in `feedback`, and a second click by the same user changes the vote", async () => {
    const stop = slack.callsTo("chat.stopStream").at(-1);
    const blocks = (stop?.args.blocks ?? []) as Array<{
      type: string;
      elements?: Array<{ action_id: string; value: string }>;
    }>;
    const actions = blocks.find((block) => block.type === "actions");
    const answerId = actions?.elements?.find((element) => element.action_id === "feedback-up")?.value ?? "";
    expect(answerId).not.toBe("");

    expect((await click("feedback-up", answerId, "vote-1")).status).toBe(200);
    expect(await responseText("vote-1")).toContain("👍");
    expect((await feedbackCommand("WADMIN", "feedback-1")).status).toBe(200);
    expect(await responseText("feedback-1")).toContain("👍 1 · 👎 0");

    await click("feedback-down", answerId, "vote-2");
    await responseText("vote-2");
    await feedbackCommand("WADMIN", "feedback-2");
    expect(await responseText("feedback-2")).toContain("👍 0 · 👎 1");
    expect(slack.responseUrlPosts.every((post) => post.body.response_type === "ephemeral")).toBe(true);
  });

  it("refuses `feedback` to a non-admin with a sentence", async () => {
    await feedbackCommand("W222", "feedback-denied");
    const text = await responseText("feedback-denied");
    expect(text.length).toBeGreaterThan(10);
    expect(text).not.toContain("👍");
    expect(text).toMatch(/admin/i);
  });

  it("serves /healthz on the same port as /slack/events", async () => {
    const response = await fetch(`${origin}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: "ok" });
  });
});
