/**
 * `npm run bench -- burst [--events 200] [--concurrency 32] [--unbounded]`: 200 signed Slack events arrive at once at
 * `startBot` (Slack over HTTP, embedded SQLite, OpenAI stand-in). Slack wants every event acknowledged
 * within 3 s and re-delivers it otherwise, so the figures are: acks within 3 s, p50/p99 ack time, and
 * answers delivered (each event answered once, no duplicates). The stand-ins and the event sender run
 * in a child process (`_burst-driver.ts`), so only the bot's own work runs on the bot's event loop
 * and acks are timed from outside, as Slack would. `--unbounded` also runs the same burst with no
 * answer line (MAX_CONCURRENT_ANSWERS=1000), side by side, to show what the line is for.
 */
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../src/config.js";
import type { Logger } from "../src/core/ports/logger.js";
import { startBot } from "../src/main.js";
import type { BurstResult, GoMessage } from "./_burst-driver.js";

interface Ready {
  type: "ready";
  slackApiUrl: string;
  openaiBaseUrl: string;
}

function option(args: string[], name: string, fallback: number): number {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? Number(args[index + 1]) : fallback;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

async function round(events: number, maxConcurrentAnswers: string): Promise<BurstResult> {
  const botToken = `xoxb-burst-${randomBytes(6).toString("hex")}`;
  const signingSecret = randomBytes(16).toString("hex");
  const driver = fork(join(import.meta.dirname, "_burst-driver.ts"), [], {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, BURST_BOT_TOKEN: botToken, BURST_SIGNING_SECRET: signingSecret },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const nextMessage = <T>() =>
    new Promise<T>((resolve, reject) => {
      driver.once("message", (message) => resolve(message as T));
      driver.once("exit", (code) => reject(new Error(`driver exited with ${code}`)));
    });
  const ready = await nextMessage<Ready>();
  const dataDirectory = mkdtempSync(join(tmpdir(), "teammate-bench-burst-"));
  // Quiet, except for the one line that tells which port PORT=0 became.
  let port: unknown;
  const logger: Logger = {
    debug() {},
    info(object: unknown, message?: string) {
      if (message === "slack listening") port = (object as { port?: number }).port;
    },
    warn() {},
    error() {},
    child: () => logger,
  };
  const bot = await startBot(
    loadConfig({
      SLACK_BOT_TOKEN: botToken,
      SLACK_SIGNING_SECRET: signingSecret,
      SLACK_API_URL: ready.slackApiUrl,
      OPENAI_BASE_URL: ready.openaiBaseUrl,
      OPENAI_API_KEY: "sk-burst",
      MAX_CONCURRENT_ANSWERS: maxConcurrentAnswers,
      LLM_TIMEOUT_MS: "120000",
      PORT: "0",
      DATA_DIR: dataDirectory,
    }),
    logger,
  );
  try {
    const go: GoMessage = {
      type: "go",
      eventsUrl: `http://127.0.0.1:${String(port)}/slack/events`,
      count: events,
      answerTimeoutMs: 120_000,
    };
    const result = nextMessage<BurstResult>();
    driver.send(go);
    return await result;
  } finally {
    await bot.stop();
    driver.send({ type: "stop" });
    rmSync(dataDirectory, { recursive: true, force: true });
  }
}

function report(label: string, events: number, result: BurstResult): void {
  const sorted = [...result.ackMilliseconds].sort((left, right) => left - right);
  const within = sorted.filter((milliseconds) => milliseconds < 3_000).length;
  const [one, five, fifteen] = loadavg().map((value) => value.toFixed(2));
  console.log(
    [
      `${label}:`,
      `  acks within 3 s: ${within}/${events}${within === events ? "" : "  (Slack re-delivers the rest)"}`,
      `  ack time: p50 ${percentile(sorted, 50).toFixed(0)} ms, p99 ${percentile(sorted, 99).toFixed(0)} ms, max ${(sorted.at(-1) ?? 0).toFixed(0)} ms`,
      `  re-deliveries sent: ${result.retriesSent}`,
      `  answers delivered: ${result.answered}/${events}, duplicates: ${result.duplicates}, LLM requests: ${result.llmRequests}`,
      `  all answered ${(result.drainMilliseconds / 1000).toFixed(1)} s after the last ack`,
      `  spec violations: ${result.violations.length}`,
      `  load average: ${one} ${five} ${fifteen} (${availableParallelism()} cores)`,
    ].join("\n"),
  );
  for (const violation of result.violations.slice(0, 5)) console.log(`    ${violation}`);
}

export async function main(args: string[]): Promise<void> {
  const events = option(args, "events", 200);
  const concurrency = String(option(args, "concurrency", 32));
  const bounded = await round(events, concurrency);
  report(`${events} concurrent app_mention events, MAX_CONCURRENT_ANSWERS=${concurrency}`, events, bounded);
  if (args.includes("--unbounded")) {
    const unbounded = await round(events, "1000");
    report(`the same burst with no answer line (MAX_CONCURRENT_ANSWERS=1000)`, events, unbounded);
  }
}
