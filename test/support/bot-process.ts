import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { waitFor } from "./e2e-helpers.js";

const ROOT = join(import.meta.dirname, "../..");

/** A bot started as `npm start` starts it, in a process of its own, with the log lines it printed. */
export interface BotProcess {
  child: ChildProcess;
  /** The port `PORT=0` became. */
  port: number;
  eventsUrl: string;
  /** Every JSON log line printed so far, parsed. */
  logLines(): Array<Record<string, unknown>>;
  /** Resolves once a log line matches (the process said it did something), or fails after `timeoutMs`. */
  waitForLog(
    matches: (line: Record<string, unknown>) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** SIGTERM (a clean stop) or SIGKILL; resolves when the process has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Runs `src/main.ts` with tsx's loader under node itself (not the tsx wrapper process), so a signal
 * reaches the bot. Only the given environment goes in, so no configuration leaks in from the test's
 * shell. Resolves once the bot says where it listens.
 */
export async function startBotProcess(environment: Record<string, string>): Promise<BotProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "src/main.ts")], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", PORT: "0", ...environment },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: Array<Record<string, unknown>> = [];
  let raw = "";
  let partial = "";
  const read = (chunk: Buffer) => {
    const text = partial + chunk.toString();
    raw += chunk.toString();
    const complete = text.split("\n");
    partial = complete.pop() ?? "";
    for (const line of complete) {
      if (!line.startsWith("{")) continue;
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // Not a log line.
      }
    }
  };
  child.stdout?.on("data", read);
  child.stderr?.on("data", read);
  const exited = once(child, "exit");

  const find = (matches: (line: Record<string, unknown>) => boolean) => lines.find(matches);
  const process_: Omit<BotProcess, "port" | "eventsUrl"> = {
    child,
    logLines: () => lines,
    async waitForLog(matches, what, timeoutMs = 20_000) {
      await waitFor(
        () => {
          if (child.exitCode !== null) throw new Error(`the bot exited while waiting for ${what}:\n${raw}`);
          return find(matches) !== undefined;
        },
        what,
        timeoutMs,
      );
      return find(matches) as Record<string, unknown>;
    },
    async stop(signal = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await exited;
    },
  };
  try {
    const listening = await process_.waitForLog(
      (line) => line.msg === "slack listening" || line.msg === "health server listening",
      "the bot to listen",
      60_000,
    );
    const port = Number(listening.port);
    return { ...process_, port, eventsUrl: `http://127.0.0.1:${port}/slack/events` };
  } catch (error) {
    await process_.stop("SIGKILL");
    throw error;
  }
}
