import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BotProcess, startBotProcess } from "../support/bot-process.js";
import { waitFor } from "../support/e2e-helpers.js";
import { type LocalHttpServer, startLocalHttpServer } from "../support/local-http-server.js";
import { type OpenAiStandIn, startOpenAiStandIn } from "../support/openai-stand-in.js";
import { postSignedToSlackReceiver } from "../support/slack-signing.js";
import { type SlackStandIn, startSlackStandIn } from "../support/slack-stand-in.js";

const BOT_TOKEN = "xoxb-unfinished-6666-token";
const SIGNING_SECRET = "unfinished-signing-secret";
const CHANNEL = "C800";
const QUESTION_TS = "1700000800.000100";

/**
 * `npm start` killed (SIGKILL) in the middle of an answer and of an inline (embedded) indexing, then
 * started again on the same DATA_DIR: the new process ends both with an apology naming a reference
 * id, takes down the 👀 and the progress line, marks the open stream as cut, and pings the askers.
 */
describe("unfinished replies from before a crash are ended at start-up (npm start, SIGKILL, embedded)", () => {
  let slack: SlackStandIn;
  let openai: OpenAiStandIn;
  let documents: LocalHttpServer;
  let dataDirectory: string;
  let environment: Record<string, string>;
  let first: BotProcess | undefined;
  let second: BotProcess | undefined;

  beforeAll(async () => {
    slack = await startSlackStandIn({
      botToken: BOT_TOKEN,
      users: [
        { id: "W222", name: "ada", displayName: "Ada" },
        { id: "WADMIN", name: "grace", displayName: "Grace", isAdmin: true },
      ],
    });
    openai = await startOpenAiStandIn({ apiKey: "sk-e2e" });
    // The model sends its first words and then nothing more, so the first process is mid-answer
    // (its stream open) whenever it is killed.
    const chunk = (content: string) =>
      JSON.stringify({
        id: "chatcmpl-unfinished",
        object: "chat.completion.chunk",
        created: 1_700_000_800,
        model: "gpt-4.1-mini",
        choices: [{ index: 0, delta: { role: "assistant", content }, finish_reason: null }],
      });
    openai.setResponder(() => ({
      kind: "raw",
      events: [chunk("Rivers start in the hills "), chunk("and then they wander down to the sea."), "[DONE]"],
      chunkDelayMs: 110_000,
    }));
    // Every document download hangs, so the indexing is mid-way too.
    documents = await startLocalHttpServer(() => {});
    dataDirectory = mkdtempSync(join(tmpdir(), "teammate-unfinished-"));
    environment = {
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      OPENAI_BASE_URL: openai.baseUrl,
      OPENAI_API_KEY: "sk-e2e",
      LLM_TIMEOUT_MS: "120000",
      FETCH_ALLOWED_HOSTS: `127.0.0.1:${documents.port}`,
      ENABLE_TOOLS: "false",
      DATA_DIR: dataDirectory,
      LOG_LEVEL: "info",
    };
  });

  afterAll(async () => {
    await first?.stop("SIGKILL");
    await second?.stop("SIGTERM");
    await slack?.close();
    await openai?.close();
    await documents?.close();
    rmSync(dataDirectory, { recursive: true, force: true });
  });

  it("ends the killed process's answer and indexing with an apology and a reference id; 👀 and status lines go", async () => {
    first = await startBotProcess(environment);
    const mention = await postSignedToSlackReceiver({
      url: first.eventsUrl,
      signingSecret: SIGNING_SECRET,
      body: JSON.stringify({
        team_id: "T111",
        api_app_id: "A111",
        type: "event_callback",
        event_id: "EvUnfinished1",
        event_time: 1_700_000_800,
        event: {
          type: "app_mention",
          user: "W222",
          text: "<@UBOT> where do rivers go?",
          ts: QUESTION_TS,
          channel: CHANNEL,
          event_ts: QUESTION_TS,
        },
        authorizations: [{ team_id: "T111", user_id: "UBOT", is_bot: true, is_enterprise_install: false }],
      }),
    });
    expect(mention.status).toBe(200);
    const indexing = await postSignedToSlackReceiver({
      url: first.eventsUrl,
      signingSecret: SIGNING_SECRET,
      contentType: "application/x-www-form-urlencoded",
      body: new URLSearchParams({
        team_id: "T111",
        channel_id: CHANNEL,
        user_id: "WADMIN",
        user_name: "grace",
        command: "/teammate",
        text: `index ${documents.origin}/never-arrives.md`,
        response_url: slack.responseUrl("index-unfinished"),
        trigger_id: "trigger.unfinished",
      }).toString(),
    });
    expect(indexing.status).toBe(200);

    // The answer shows its 👀 and starts streaming; the indexing shows its progress line.
    await waitFor(
      () => slack.callsTo("reactions.add").some((call) => call.args.timestamp === QUESTION_TS),
      "the 👀",
    );
    const stream = () =>
      slack.messages.find((message) => message.kind === "stream" && message.threadTs === QUESTION_TS);
    await waitFor(() => stream()?.streaming === true, "the answer's stream");
    await waitFor(() => documents.requests.length > 0, "the download to begin");
    const progress = () =>
      slack.visibleMessages(CHANNEL).find((message) => /never-arrives/.test(message.text));
    await waitFor(() => progress() !== undefined, "the indexing's progress line");
    // Killed once both replies' open records hold what they show (the bot writes them as it shows it).
    const database = new Database(join(dataDirectory, "teammate.sqlite"), { readonly: true });
    try {
      await waitFor(() => {
        const shown = database
          .prepare<[], { record: string }>("SELECT record FROM memory_open_work")
          .all()
          .map((row) => JSON.stringify((JSON.parse(row.record) as { messages: unknown }).messages));
        return (
          shown.some((messages) => messages.includes(stream()?.ts ?? "-")) &&
          shown.some((messages) => messages.includes(progress()?.ts ?? "-"))
        );
      }, "the open replies' records");
    } finally {
      database.close();
    }
    const streamTs = stream()?.ts;
    const progressTs = progress()?.ts;
    await first.stop("SIGKILL");

    second = await startBotProcess(environment);

    const apologies = () =>
      slack
        .callsTo("chat.postMessage")
        .filter((call) => /restarted while answering this/.test(String(call.args.text)));
    await waitFor(() => apologies().length === 2, "the two apologies", 20_000);
    const toAsker = apologies().find((call) => call.args.thread_ts === QUESTION_TS);
    expect(String(toAsker?.args.text)).toMatch(/^<@W222> /);
    expect(String(toAsker?.args.text)).toMatch(/\(ref [0-9a-f]{8}\)/);
    const toAdmin = apologies().find((call) => String(call.args.text).startsWith("<@WADMIN> "));
    expect(toAdmin?.args.channel).toBe(CHANNEL);

    // What the dead process showed is gone or marked: the 👀, the stream (cut), the progress line.
    expect(slack.callsTo("reactions.remove").some((call) => call.args.timestamp === QUESTION_TS)).toBe(true);
    expect(slack.callsTo("chat.stopStream").some((call) => call.args.ts === streamTs)).toBe(true);
    expect(stream()?.streaming).toBe(false);
    expect(stream()?.text).toMatch(/interrupted: this answer is unfinished/);
    expect(slack.visibleMessages(CHANNEL).some((message) => message.ts === progressTs)).toBe(false);
    expect(slack.violations).toEqual([]);

    // Once: a later sweep (and the second process's own start) ends nothing more.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(apologies()).toHaveLength(2);
  }, 90_000);
});
