import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { startBot } from "../../src/main.js";
import { recordingLogger, waitFor as waitForCondition } from "../support/e2e-helpers.js";
import { type LocalHttpServer, startLocalHttpServer } from "../support/local-http-server.js";
import { type OpenAiStandIn, startOpenAiStandIn } from "../support/openai-stand-in.js";
import { postSignedToSlackReceiver } from "../support/slack-signing.js";
import { type SlackStandIn, startSlackStandIn } from "../support/slack-stand-in.js";

const BOT_TOKEN = "xoxb-knowledge-2222-token";
const SIGNING_SECRET = "knowledge-signing-secret";

const HANDBOOK = `# Team handbook

## Parental leave

Every employee gets sixteen weeks of paid parental leave, to be taken within the first year.

## Expenses

Submit expense reports within thirty days through the finance portal.
`;

const waitFor = (check: () => boolean, what: string, timeoutMilliseconds = 20_000) =>
  waitForCondition(check, what, timeoutMilliseconds);

describe("Slack: /teammate index from chat, then a cited answer (real core, Slack and OpenAI stand-ins)", () => {
  let slack: SlackStandIn;
  let openai: OpenAiStandIn;
  let documents: LocalHttpServer;
  let dataDirectory: string;
  let bot: { stop(): Promise<void> };
  let eventsUrl: string;
  let handbookUrl: string;

  beforeAll(async () => {
    slack = await startSlackStandIn({
      botToken: BOT_TOKEN,
      users: [
        { id: "W222", name: "ada", displayName: "Ada" },
        { id: "WADMIN", name: "grace", displayName: "Grace", isAdmin: true },
      ],
    });
    openai = await startOpenAiStandIn({ apiKey: "sk-knowledge" });
    // A model that cites passage 1 when it was given passages.
    openai.setResponder((body) => {
      const prompt = JSON.stringify(body.messages);
      return {
        kind: "text",
        text: prompt.includes('<passage number=\\"1\\"')
          ? "Employees get sixteen weeks of paid parental leave [1]."
          : "I don't know.",
      };
    });
    documents = await startLocalHttpServer((_request, response) => {
      response.writeHead(200, { "content-type": "text/markdown; charset=utf-8" }).end(HANDBOOK);
    });
    handbookUrl = `${documents.origin}/handbook.md`;
    dataDirectory = mkdtempSync(join(tmpdir(), "teammate-slack-knowledge-"));
    const config = loadConfig({
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      OPENAI_BASE_URL: openai.baseUrl,
      OPENAI_API_KEY: "sk-knowledge",
      PORT: "0",
      DATA_DIR: dataDirectory,
      // The test's document server is on loopback, which URL indexing refuses unless allowed.
      FETCH_ALLOWED_HOSTS: `127.0.0.1:${documents.port}`,
      ENABLE_TOOLS: "false",
    });
    const entries: Array<Record<string, unknown>> = [];
    bot = await startBot(config, recordingLogger(entries));
    const port = entries.find((entry) => entry.message === "slack listening")?.port;
    eventsUrl = `http://127.0.0.1:${String(port)}/slack/events`;
  });

  afterAll(async () => {
    await bot?.stop();
    await slack?.close();
    await openai?.close();
    await documents?.close();
    rmSync(dataDirectory, { recursive: true, force: true });
  });

  const slashCommand = (userId: string, text: string, responseId: string) =>
    postSignedToSlackReceiver({
      url: eventsUrl,
      signingSecret: SIGNING_SECRET,
      contentType: "application/x-www-form-urlencoded",
      body: new URLSearchParams({
        token: "verification_token",
        team_id: "T111",
        team_domain: "stand-in",
        channel_id: "C222",
        channel_name: "general",
        user_id: userId,
        user_name: userId.toLowerCase(),
        command: "/teammate",
        text,
        response_url: slack.responseUrl(responseId),
        trigger_id: `trigger.${responseId}`,
      }).toString(),
    });

  const everythingSaid = () =>
    [
      ...slack.messages.map((message) => `${message.text}\n${JSON.stringify(message.blocks)}`),
      ...slack.responseUrlPosts.map((post) => JSON.stringify(post.body)),
    ].join("\n");

  it("refuses `index` to a non-admin with a sentence, and fetches nothing", async () => {
    const response = await slashCommand("W222", `index ${handbookUrl}`, "index-refused");
    expect(response.status).toBe(200);
    await waitFor(() => slack.responseUrlPosts.some((post) => post.id === "index-refused"), "the refusal");
    const refusal = slack.responseUrlPosts.find((post) => post.id === "index-refused");
    expect(String(refusal?.body.text)).toMatch(/Only workspace admins can use `index`/);
    expect(refusal?.body.response_type).toBe("ephemeral");
    expect(documents.requests).toHaveLength(0);
  });

  it("indexes the URL for an admin, with progress, then answers a mention citing the URL", async () => {
    const response = await slashCommand("WADMIN", `index ${handbookUrl}`, "index-admin");
    expect(response.status).toBe(200);
    await waitFor(
      () => /Indexed \u200b?\*Team handbook\*/.test(everythingSaid()),
      "the indexing result (bold in mrkdwn)",
    );
    expect(documents.requests).toHaveLength(1);
    // Progress lines went to Slack while the document was read and indexed.
    expect(slack.calls.some((call) => JSON.stringify(call.args).includes("Indexed "))).toBe(true);
    expect(everythingSaid()).toMatch(/(Downloading|Chunking|Indexed) .*handbook\.md/);

    const mention = JSON.stringify({
      token: "verification_token",
      team_id: "T111",
      api_app_id: "A111",
      event: {
        type: "app_mention",
        user: "W222",
        text: "<@UBOT> how long is parental leave?",
        ts: "1700000300.000100",
        channel: "C222",
        event_ts: "1700000300.000100",
      },
      type: "event_callback",
      event_id: "EvKnowledge1",
      event_time: 1700000300,
      authorizations: [{ team_id: "T111", user_id: "UBOT", is_bot: true, is_enterprise_install: false }],
    });
    expect(
      (await postSignedToSlackReceiver({ url: eventsUrl, signingSecret: SIGNING_SECRET, body: mention }))
        .status,
    ).toBe(200);
    await waitFor(
      () =>
        slack
          .visibleMessages("C222", "1700000300.000100")
          .some((message) => message.text.includes("sixteen weeks") && !message.streaming),
      "the cited answer",
    );
    const answer = slack
      .visibleMessages("C222", "1700000300.000100")
      .map((message) => `${message.text}\n${JSON.stringify(message.blocks)}`)
      .join("\n");
    const stop = slack.callsTo("chat.stopStream").at(-1);
    const rendered = `${answer}\n${JSON.stringify(stop?.args ?? {})}`;
    expect(rendered).toContain("[1]");
    expect(rendered).toContain(handbookUrl);
    expect(rendered).toContain("Team handbook");
    const answerRequest = openai.chatRequests().at(-1);
    expect(JSON.stringify(answerRequest?.messages)).toContain("sixteen weeks of paid parental leave");
    expect(slack.violations).toEqual([]);
    openai.assertNoViolations();
  });
});
