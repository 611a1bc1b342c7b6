import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../support/e2e-helpers.js";
import { lastUserText, type OpenAiStandIn, startOpenAiStandIn } from "../support/openai-stand-in.js";
import { postSignedToSlackReceiver } from "../support/slack-signing.js";
import { type SlackStandIn, startSlackStandIn } from "../support/slack-stand-in.js";

const ROOT = join(import.meta.dirname, "../..");
const BOT_TOKEN = "xoxb-crash-5555-token";
const SIGNING_SECRET = "crash-signing-secret";
const CHANNEL = "C700";
const TS = "1700000700.000100";

interface BotProcess {
  child: ChildProcess;
  eventsUrl: string;
}

/** The bot as `npm start` runs it (`src/main.ts` under tsx), in a process of its own that a test can kill. */
async function startBotProcess(environment: Record<string, string>): Promise<BotProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "src/main.ts")], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...environment },
    // The bot logs to stderr (stdout is the terminal chat's); the port PORT=0 became is read there.
    stdio: ["ignore", "ignore", "pipe"],
  });
  let output = "";
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr?.on("data", (chunk: Buffer) => {
      const lines = (output + chunk.toString()).split("\n");
      output = lines.pop() ?? "";
      for (const line of lines) {
        if (!line.includes('"slack listening"')) continue;
        resolve((JSON.parse(line) as { port: number }).port);
      }
    });
    child.once("exit", (code) => reject(new Error(`bot exited with ${code} before listening`)));
  });
  return { child, eventsUrl: `http://127.0.0.1:${port}/slack/events` };
}

async function kill(bot: BotProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!bot || bot.child.exitCode !== null || bot.child.signalCode !== null) return;
  const exited = once(bot.child, "exit");
  bot.child.kill(signal);
  await exited;
}

describe("a bot killed mid-answer: Slack's later re-delivery is answered, a live duplicate is not (npm start, SIGKILL)", () => {
  let slack: SlackStandIn;
  let openai: OpenAiStandIn;
  let dataDirectory: string;
  let environment: Record<string, string>;
  let first: BotProcess | undefined;
  let second: BotProcess | undefined;
  let modelHangs = true;

  beforeAll(async () => {
    slack = await startSlackStandIn({
      botToken: BOT_TOKEN,
      users: [{ id: "W222", name: "ada", displayName: "Ada" }],
    });
    openai = await startOpenAiStandIn({ apiKey: "sk-e2e" });
    openai.setResponder((body) =>
      modelHangs && lastUserText(body).includes("rivers")
        ? { kind: "text", text: "never sent", delayMs: 120_000 }
        : { kind: "text", text: "Rivers carry water to the sea.", deltas: 3 },
    );
    dataDirectory = mkdtempSync(join(tmpdir(), "teammate-crash-"));
    environment = {
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      OPENAI_BASE_URL: openai.baseUrl,
      OPENAI_API_KEY: "sk-e2e",
      LLM_TIMEOUT_MS: "120000",
      DATA_DIR: dataDirectory,
      PORT: "0",
      LOG_LEVEL: "info",
    };
  });

  afterAll(async () => {
    await kill(first, "SIGKILL");
    await kill(second, "SIGTERM");
    await slack?.close();
    await openai?.close();
    rmSync(dataDirectory, { recursive: true, force: true });
  });

  const deliver = (eventsUrl: string, retryNum?: number) =>
    postSignedToSlackReceiver({
      url: eventsUrl,
      signingSecret: SIGNING_SECRET,
      ...(retryNum === undefined ? {} : { retryNum, retryReason: "http_timeout" }),
      body: JSON.stringify({
        team_id: "T111",
        api_app_id: "A111",
        type: "event_callback",
        event_id: "EvCrash1",
        event_time: 1_700_000_700,
        event: {
          type: "app_mention",
          user: "W222",
          text: "<@UBOT> where do rivers go?",
          ts: TS,
          channel: CHANNEL,
          event_ts: TS,
        },
        authorizations: [{ team_id: "T111", user_id: "UBOT", is_bot: true, is_enterprise_install: false }],
      }),
    });

  const answers = () =>
    slack.visibleMessages(CHANNEL, TS).filter((message) => message.text.includes("Rivers carry water"));

  it("drops the duplicate while the first handler lives, and answers the re-delivery once it is dead", async () => {
    first = await startBotProcess(environment);
    expect((await deliver(first.eventsUrl)).status).toBe(200);
    await waitFor(() => openai.chatRequests().length === 1, "the first handler to ask the model", 30_000);

    // A re-delivery while the handler is alive is a duplicate.
    expect((await deliver(first.eventsUrl, 1)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(openai.chatRequests()).toHaveLength(1);

    await kill(first, "SIGKILL");
    modelHangs = false;
    second = await startBotProcess(environment);

    // Slack keeps re-delivering an event whose handling it never saw finish; so does the test.
    const eventsUrl = second.eventsUrl;
    let retry = 2;
    const redeliver = setInterval(() => {
      retry += 1;
      deliver(eventsUrl, retry).catch(() => {});
    }, 5_000);
    try {
      await deliver(eventsUrl, 2);
      await waitFor(() => answers().length > 0, "the re-delivery's answer", 60_000);
    } finally {
      clearInterval(redeliver);
    }
    await waitFor(
      () => !slack.messages.some((message) => message.streaming && message.text.includes("Rivers")),
      "the answer to finish",
    );
    // Re-deliveries that came while the second process was answering were dropped: one answer only.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(answers()).toHaveLength(1);
  }, 180_000);
});
