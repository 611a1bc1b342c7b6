/**
 * Hostile inputs through the whole bot (startBot with the Slack and OpenAI stand-ins): each one once froze
 * the bot for everyone or bloated it by gigabytes. Every test has a second member ask a question alongside
 * the hostile input and requires both to get their sentence. (How long the event loop is held is measured
 * by `npm run bench -- hostile`, not here.)
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { startBot } from "../../src/main.js";
import { recordingLogger, waitFor as waitForCondition } from "../support/e2e-helpers.js";
import { buildPdfBomb, nestedHtml, redosMarkdown } from "../support/hostile-documents.js";
import { type LocalHttpServer, startLocalHttpServer } from "../support/local-http-server.js";
import { type OpenAiStandIn, startOpenAiStandIn } from "../support/openai-stand-in.js";
import { postSignedToSlackReceiver } from "../support/slack-signing.js";
import { type SlackStandIn, startSlackStandIn } from "../support/slack-stand-in.js";

const BOT_TOKEN = "xoxb-hostile-3333-token";
const SIGNING_SECRET = "hostile-signing-secret";
const ANSWER = "Standup is at ten every morning.";

const waitFor = (check: () => boolean, what: string) => waitForCondition(check, what, 30_000);

describe("hostile inputs: the bot stays responsive and says what happened", () => {
  let slack: SlackStandIn;
  let openai: OpenAiStandIn;
  let documents: LocalHttpServer;
  let dataDirectory: string;
  let bot: { stop(): Promise<void> };
  let eventsUrl: string;
  let pdfBomb: Uint8Array;
  let sequence = 0;

  beforeAll(async () => {
    // 270 MB of blanks in 276 KB: the size the issue measured growing the process by 966 MB.
    pdfBomb = await buildPdfBomb(270);
    slack = await startSlackStandIn({
      botToken: BOT_TOKEN,
      users: [
        { id: "WHOSTILE", name: "mallory", displayName: "Mallory" },
        { id: "WOTHER", name: "ada", displayName: "Ada" },
        { id: "WADMIN", name: "grace", displayName: "Grace", isAdmin: true },
      ],
    });
    openai = await startOpenAiStandIn({ apiKey: "sk-hostile" });
    openai.setResponder((body) => {
      const prompt = JSON.stringify(body.messages);
      if (prompt.includes("forty-two")) return { kind: "text", text: "The deep fact is forty-two [1]." };
      if (prompt.includes("onboarding checklist")) return { kind: "text", text: "It lives in the wiki [1]." };
      return { kind: "text", text: ANSWER };
    });
    const pages: Record<string, { type: string; body: string | Uint8Array }> = {
      "/redos.md": { type: "text/markdown", body: redosMarkdown(8_000) },
      "/bomb.pdf": { type: "application/pdf", body: pdfBomb },
      "/deep.html": { type: "text/html; charset=utf-8", body: nestedHtml(1_000_000) },
    };
    documents = await startLocalHttpServer((request, response) => {
      const page = pages[request.url ?? ""];
      if (!page) return response.writeHead(404).end();
      response.writeHead(200, { "content-type": page.type }).end(page.body);
    });
    dataDirectory = mkdtempSync(join(tmpdir(), "teammate-hostile-"));
    const config = loadConfig({
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      OPENAI_BASE_URL: openai.baseUrl,
      OPENAI_API_KEY: "sk-hostile",
      PORT: "0",
      DATA_DIR: dataDirectory,
      FETCH_ALLOWED_HOSTS: `127.0.0.1:${documents.port}`,
      ENABLE_TOOLS: "false",
      ALLOW_GENERAL_KNOWLEDGE: "true",
    });
    const entries: Array<Record<string, unknown>> = [];
    bot = await startBot(config, recordingLogger(entries));
    const port = entries.find((entry) => entry.message === "slack listening")?.port;
    eventsUrl = `http://127.0.0.1:${String(port)}/slack/events`;
  }, 60_000);

  afterAll(async () => {
    await bot?.stop();
    await slack?.close();
    await openai?.close();
    await documents?.close();
    rmSync(dataDirectory, { recursive: true, force: true });
  });

  /** Posts an app_mention from `user` in `channel`; returns the message's ts (the reply's thread). */
  async function mention(user: string, channel: string, text: string): Promise<string> {
    sequence += 1;
    const ts = `17000004${String(sequence).padStart(2, "0")}.000100`;
    const body = JSON.stringify({
      token: "verification_token",
      team_id: "T111",
      api_app_id: "A111",
      event: { type: "app_mention", user, text: `<@UBOT> ${text}`, ts, channel, event_ts: ts },
      type: "event_callback",
      event_id: `EvHostile${sequence}`,
      event_time: 1700000400 + sequence,
      authorizations: [{ team_id: "T111", user_id: "UBOT", is_bot: true, is_enterprise_install: false }],
    });
    const response = await postSignedToSlackReceiver({ url: eventsUrl, signingSecret: SIGNING_SECRET, body });
    expect(response.status).toBe(200);
    return ts;
  }

  async function slashIndex(url: string, responseId: string): Promise<void> {
    const response = await postSignedToSlackReceiver({
      url: eventsUrl,
      signingSecret: SIGNING_SECRET,
      contentType: "application/x-www-form-urlencoded",
      body: new URLSearchParams({
        token: "verification_token",
        team_id: "T111",
        team_domain: "stand-in",
        channel_id: "CDOCS",
        channel_name: "docs",
        user_id: "WADMIN",
        user_name: "grace",
        command: "/teammate",
        text: `index ${url}`,
        response_url: slack.responseUrl(responseId),
        trigger_id: `trigger.${responseId}`,
      }).toString(),
    });
    expect(response.status).toBe(200);
  }

  const finishedReply = (channel: string, ts: string) =>
    slack
      .visibleMessages(channel, ts)
      .filter((message) => !message.streaming)
      .map((message) => `${message.text}\n${JSON.stringify(message.blocks ?? [])}`)
      .join("\n");

  const everythingSaid = () =>
    [
      ...slack.messages.map((message) => `${message.text}\n${JSON.stringify(message.blocks)}`),
      ...slack.responseUrlPosts.map((post) => JSON.stringify(post.body)),
    ].join("\n");

  /** The other member's question, asked while the hostile input is being handled, gets its answer. */
  async function otherMemberIsAnswered(channel: string): Promise<void> {
    const ts = await mention("WOTHER", channel, "when is standup?");
    await waitFor(() => finishedReply(channel, ts).includes(ANSWER), "the other member's answer");
  }

  it("answers a message of 12,000 `!` (the tokenizer took 30-40 s) and the other member", async () => {
    const hostile = await mention("WHOSTILE", "CBANG", `${"!".repeat(12_000)}`);
    await otherMemberIsAnswered("CQUIET1");
    await waitFor(() => finishedReply("CBANG", hostile).includes(ANSWER), "the answer to the `!` message");
  });

  it("answers a question that mentions <|endoftext|> instead of failing, and the other member", async () => {
    const hostile = await mention(
      "WHOSTILE",
      "CSPECIAL",
      "why does my model print <|endoftext|> at the end?",
    );
    await otherMemberIsAnswered("CQUIET2");
    await waitFor(
      () => finishedReply("CSPECIAL", hostile).includes(ANSWER),
      "the answer about <|endoftext|>",
    );
    expect(finishedReply("CSPECIAL", hostile)).not.toMatch(/something went wrong/i);
    const asked = openai
      .chatRequests()
      .some((request) => JSON.stringify(request.messages).includes("<|endoftext|>"));
    expect(asked).toBe(true);
  });

  it("indexes Markdown whose heading is a ReDoS line (105 s on the old title regex), and answers the other member", async () => {
    await slashIndex(`${documents.origin}/redos.md`, "index-redos");
    await otherMemberIsAnswered("CQUIET3");
    await waitFor(() => /Indexed \u200b?\*a b c\*/.test(everythingSaid()), "the ReDoS document indexed");
  });

  it("refuses a PDF decompression bomb with a sentence naming it, and answers the other member", async () => {
    await slashIndex(`${documents.origin}/bomb.pdf`, "index-bomb");
    await otherMemberIsAnswered("CQUIET4");
    await waitFor(
      () => /bomb\.pdf unpacks to more than 128 MB/.test(everythingSaid()),
      "the refusal naming bomb.pdf",
    );
    expect(everythingSaid()).not.toMatch(/Indexed .*bomb\.pdf/);
  });

  it("indexes a page of 1,000,000 nested <div>s (over 250 s before) and answers from it, and the other member", async () => {
    await slashIndex(`${documents.origin}/deep.html`, "index-deep");
    await otherMemberIsAnswered("CQUIET5");
    await waitFor(() => /Indexed \u200b?\*Deep page\*/.test(everythingSaid()), "the deep page indexed");
    const ts = await mention("WOTHER", "CDOCS", "what is the deep fact?");
    await waitFor(() => finishedReply("CDOCS", ts).includes("forty-two"), "the answer from the deep page");
    expect(slack.violations).toEqual([]);
    openai.assertNoViolations();
  });
});
