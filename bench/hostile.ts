/**
 * `npm run bench -- hostile [--only <case>]`: the whole bot (startBot, embedded SQLite, Slack and OpenAI
 * stand-ins in this process; the hostile documents served by a child process, `_hostile-site.ts`, so
 * building and writing them is not counted as the bot's block) receives each hostile input while a
 * second member asks a question. For each input it prints the second member's time to first sign (the
 * first Slack call about their message) and to the finished answer, the event loop's longest block and
 * p99 (`perf_hooks.monitorEventLoopDelay`, 10 ms resolution) while the input was handled, and the
 * process's peak resident memory (`VmHWM`, reset before each input through `/proc/self/clear_refs`).
 * Goals: longest block ≤ 100 ms, peak RSS ≤ 1.5 GB.
 */
import { fork } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { loadConfig } from "../src/config.js";
import { startBot } from "../src/main.js";
import { recordingLogger, waitFor } from "../test/support/e2e-helpers.js";
import { startOpenAiStandIn } from "../test/support/openai-stand-in.js";
import { postSignedToSlackReceiver } from "../test/support/slack-signing.js";
import { startSlackStandIn } from "../test/support/slack-stand-in.js";

const BOT_TOKEN = "xoxb-bench-hostile-token";
const SIGNING_SECRET = "bench-hostile-secret";
const ANSWER = "Standup is at ten every morning.";
const MEBIBYTE = 1024 * 1024;

interface HostileCase {
  name: string;
  /** Sends the hostile input; resolves to a check that holds once the bot has said its last word on it. */
  send(): Promise<() => boolean>;
}

/** Peak resident memory since the last reset, from the kernel (Linux); the sampled peak elsewhere. */
function createPeakMemory(): { reset(): void; peakBytes(): number; stop(): void } {
  let sampled = 0;
  const sampler = setInterval(() => {
    sampled = Math.max(sampled, process.memoryUsage.rss());
  }, 5);
  const kernelPeak = (): number | undefined => {
    try {
      const kilobytes = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
      return kilobytes ? Number(kilobytes) * 1024 : undefined;
    } catch {
      return undefined;
    }
  };
  return {
    reset() {
      sampled = process.memoryUsage.rss();
      try {
        writeFileSync("/proc/self/clear_refs", "5");
      } catch {
        // Not Linux, or not allowed: the sampled peak stands alone.
      }
    },
    peakBytes: () => Math.max(sampled, kernelPeak() ?? 0),
    stop: () => clearInterval(sampler),
  };
}

function randomSyllables(count: number): string {
  let text = "";
  let state = 12_345;
  for (let index = 0; index < count; index += 1) {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    text += String.fromCharCode(0xac00 + (state % 11_172));
  }
  return text;
}

export async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { only: { type: "string" } } });
  console.log(
    `load average at start: ${loadavg()
      .map((value) => value.toFixed(2))
      .join(" ")}`,
  );
  const site = fork(join(import.meta.dirname, "_hostile-site.ts"), [], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const documents = await new Promise<{ port: number; origin: string }>((resolve, reject) => {
    site.once("message", (message) => resolve(message as { port: number; origin: string }));
    site.once("exit", (code) => reject(new Error(`the hostile document server exited with ${code}`)));
  });
  const slack = await startSlackStandIn({
    botToken: BOT_TOKEN,
    users: [
      { id: "WHOSTILE", name: "mallory", displayName: "Mallory" },
      { id: "WOTHER", name: "ada", displayName: "Ada" },
      { id: "WADMIN", name: "grace", displayName: "Grace", isAdmin: true },
    ],
  });
  const openai = await startOpenAiStandIn({ apiKey: "sk-bench" });
  openai.setResponder(() => ({ kind: "text", text: ANSWER }));
  const dataDirectory = mkdtempSync(join(tmpdir(), "teammate-bench-hostile-"));
  const config = loadConfig({
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
    OPENAI_BASE_URL: openai.baseUrl,
    OPENAI_API_KEY: "sk-bench",
    PORT: "0",
    DATA_DIR: dataDirectory,
    FETCH_ALLOWED_HOSTS: `127.0.0.1:${documents.port}`,
    ENABLE_TOOLS: "false",
    ALLOW_GENERAL_KNOWLEDGE: "true",
    LOG_LEVEL: "warn",
  });
  const entries: Array<Record<string, unknown>> = [];
  const bot = await startBot(config, recordingLogger(entries));
  const port = entries.find((entry) => entry.message === "slack listening")?.port;
  const eventsUrl = `http://127.0.0.1:${String(port)}/slack/events`;

  let sequence = 0;
  const mention = async (user: string, channel: string, text: string): Promise<string> => {
    sequence += 1;
    const ts = `17000005${String(sequence).padStart(2, "0")}.000100`;
    await postSignedToSlackReceiver({
      url: eventsUrl,
      signingSecret: SIGNING_SECRET,
      body: JSON.stringify({
        token: "verification_token",
        team_id: "T111",
        api_app_id: "A111",
        event: { type: "app_mention", user, text: `<@UBOT> ${text}`, ts, channel, event_ts: ts },
        type: "event_callback",
        event_id: `EvBenchHostile${sequence}`,
        event_time: 1700000500 + sequence,
        authorizations: [{ team_id: "T111", user_id: "UBOT", is_bot: true, is_enterprise_install: false }],
      }),
    });
    return ts;
  };
  const finishedReply = (channel: string, ts: string) =>
    slack
      .visibleMessages(channel, ts)
      .filter((message) => !message.streaming)
      .map((message) => message.text)
      .join("\n");
  const everythingSaidSince = (start: number) =>
    [
      ...slack.responseUrlPosts.filter((post) => post.at >= start).map((post) => JSON.stringify(post.body)),
      ...slack.calls.filter((call) => call.at >= start).map((call) => JSON.stringify(call.args)),
    ].join("\n");
  const messageCase = (name: string, text: string): HostileCase => ({
    name,
    async send() {
      sequence += 1;
      const channel = `CHOSTILE${sequence}`;
      const ts = await mention("WHOSTILE", channel, text);
      return () => finishedReply(channel, ts).length > 0;
    },
  });
  const indexCase = (name: string, path: string, done: RegExp): HostileCase => ({
    name,
    async send() {
      const start = Date.now();
      sequence += 1;
      await postSignedToSlackReceiver({
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
          text: `index ${documents.origin}${path}`,
          response_url: slack.responseUrl(`bench-${sequence}`),
          trigger_id: `trigger.bench-${sequence}`,
        }).toString(),
      });
      return () => done.test(everythingSaidSince(start));
    },
  });
  const cases: HostileCase[] = [
    messageCase("message of 12,000 `!`", "!".repeat(12_000)),
    indexCase("Markdown with a ReDoS heading (8,000 blanks)", "/redos.md", /Indexed|couldn't|stopped/),
    indexCase("PDF bomb, 276 KB → 270 MB", "/bomb-262k.pdf", /unpacks|stopped reading|Indexed/),
    indexCase("PDF bomb, 2.4 MB → 2.4 GB", "/bomb-2m.pdf", /unpacks|stopped reading|Indexed/),
    indexCase("HTML of 1,000,000 nested <div>s", "/deep.html", /Indexed|couldn't|stopped/),
    messageCase("message with <|endoftext|>", "why does my model print <|endoftext|> at the end?"),
    messageCase("40,000-character message (random Hangul, no spaces)", randomSyllables(40_000)),
  ].filter((hostile) => !values.only || hostile.name.includes(values.only));

  // Warm-up: the first answer loads the answer path's code; the extraction thread starts on first use.
  await mention("WOTHER", "CWARM", "hello");
  await waitFor(
    () => slack.calls.some((call) => call.method === "chat.stopStream"),
    "the warm-up answer",
    30_000,
  );

  const memory = createPeakMemory();
  const rows: string[] = [];
  for (const hostile of cases) {
    const histogram = monitorEventLoopDelay({ resolution: 10 });
    memory.reset();
    histogram.enable();
    const started = performance.now();
    const hostileDone = await hostile.send();
    sequence += 1;
    const otherChannel = `COTHER${sequence}`;
    const asked = Date.now();
    const askedAt = performance.now();
    const otherTs = await mention("WOTHER", otherChannel, "when is standup?");
    let firstSign = Number.NaN;
    let answered = Number.NaN;
    let outcome = "done";
    try {
      await waitFor(
        () => {
          if (Number.isNaN(firstSign)) {
            const first = slack.calls.find(
              (call) =>
                call.at >= asked &&
                call.args.channel === otherChannel &&
                (call.args.thread_ts === otherTs || call.args.timestamp === otherTs),
            );
            if (first) firstSign = first.at - asked;
          }
          if (Number.isNaN(answered) && finishedReply(otherChannel, otherTs).includes(ANSWER))
            answered = performance.now() - askedAt;
          return !Number.isNaN(answered) && hostileDone();
        },
        hostile.name,
        120_000,
      );
    } catch {
      outcome = "TIMED OUT (120 s)";
    }
    const handledMs = performance.now() - started;
    histogram.disable();
    rows.push(
      `| ${hostile.name} | ${firstSign.toFixed(0)} | ${answered.toFixed(0)} | ${(histogram.max / 1e6).toFixed(0)} | ` +
        `${(histogram.percentile(99) / 1e6).toFixed(0)} | ${(memory.peakBytes() / MEBIBYTE).toFixed(0)} | ${(handledMs / 1000).toFixed(1)} s, ${outcome} |`,
    );
    console.log(rows.at(-1));
  }
  memory.stop();
  console.log("");
  console.log(
    "| hostile input | other member: first sign ms | other member: answer ms | longest block ms | p99 block ms | peak RSS MiB | hostile input handled in |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---|");
  for (const row of rows) console.log(row);
  console.log(`goals: longest block ≤ 100 ms, peak RSS ≤ 1536 MiB`);
  console.log(
    `load average at end: ${loadavg()
      .map((value) => value.toFixed(2))
      .join(" ")}`,
  );
  await bot.stop();
  await slack.close();
  await openai.close();
  site.disconnect();
  rmSync(dataDirectory, { recursive: true, force: true });
}
