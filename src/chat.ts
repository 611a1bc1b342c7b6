/**
 * `npm run chat`: the same core on platform "local", in the terminal. Interactive on a TTY (a
 * prompt, your words kept on screen, ↑/↓ history kept across sessions, answers rendered from
 * Markdown, a progress bar while indexing); with piped input it answers one message per line, prints
 * plain text and exits 0 at the end of input, so it can be scripted.
 */
import { randomUUID } from "node:crypto";
import { appendFileSync, mkdirSync, readFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { createLogger } from "./adapters/pino/create-logger.js";
import { parseFileFlags } from "./adapters/terminal/file-flags.js";
import { TerminalReplySink } from "./adapters/terminal/terminal-reply-sink.js";
import { createApplication } from "./application.js";
import { type Config, hasLlm, loadConfig } from "./config.js";
import type { InboundMessage } from "./core/ports/assistant-handler.js";
import type { Logger } from "./core/ports/logger.js";
import { exitOnStartupFailure, loadEnvironmentFile } from "./process-lifecycle.js";

const HISTORY_LINES = 500;

const NO_LLM_AT_START =
  "No language model is configured, so I can run commands and keep notes but not answer questions yet: set " +
  "OPENAI_API_KEY (OpenAI) or OPENAI_BASE_URL (any OpenAI-compatible server; Ollama: http://localhost:11434/v1) " +
  "and LLM_MODEL, in .env or the environment, then start me again.";

function readHistory(path: string): string[] {
  try {
    // readline wants the newest entry first.
    return readFileSync(path, "utf8").split("\n").filter(Boolean).slice(-HISTORY_LINES).reverse();
  } catch {
    return [];
  }
}

function describeModel(config: Config): string {
  const where = config.OPENAI_BASE_URL ?? "OpenAI";
  return `${config.LLM_MODEL} at ${where}`;
}

/** The application, or the process ends with one line saying why it could not start. */
async function startApplication(config: Config, logger: Logger) {
  try {
    return await createApplication(config, logger, { role: "chat" });
  } catch (error) {
    // As `npm start` says it: the cause and the fix in one line, the stack only at LOG_LEVEL=debug.
    logger.debug({ err: error }, "start-up failed");
    exitOnStartupFailure(error);
  }
}

function greet(config: Config, interactive: boolean): void {
  if (interactive) {
    process.stdout.write(
      [
        `teammate — local chat. Documents and memory live in ${resolve(config.DATA_DIR)}.`,
        hasLlm(config) ? `Answers come from ${describeModel(config)}.` : NO_LLM_AT_START,
        "Say `help` for every command, `index <file or folder>` to teach me your docs. ↑/↓ recall what you typed; Ctrl-D or `exit` leaves.",
        "",
      ].join("\n"),
    );
  } else if (!hasLlm(config)) {
    process.stderr.write(`${NO_LLM_AT_START}\n`);
  }
}

async function main(): Promise<number> {
  let config: Config;
  try {
    loadEnvironmentFile();
    // The terminal is noisy enough: below warn only when asked for.
    config = loadConfig({ LOG_LEVEL: "warn", ...process.env });
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  if (interactive) process.stdout.write("teammate is starting…\n");
  // A person reads these lines: one sentence each, the stack only at LOG_LEVEL=debug.
  // `info` is the bot's level (and what `.env.example` sets); on a terminal those lines would sit between
  // the questions and answers, so the chat shows warnings and up unless asked for debug or trace.
  const level = config.LOG_LEVEL === "info" ? "warn" : config.LOG_LEVEL;
  const logger = createLogger({ level, name: "teammate-chat", pretty: interactive });
  const application = await startApplication(config, logger);
  greet(config, interactive);

  const user = userInfo().username || "you";
  // A pseudo-terminal without a size reports 0 columns.
  const columns = process.stdout.columns || 80;
  const sink = new TerminalReplySink({
    output: process.stdout,
    statusOutput: process.stderr,
    colors: interactive,
    // marked-terminal brings a syntax highlighter: loaded only when there is a terminal to draw on.
    renderMarkdown: interactive
      ? (await import("./adapters/terminal/render-markdown.js")).createMarkdownRenderer(
          Math.min(columns, 100),
        )
      : undefined,
  });

  const historyPath = join(config.DATA_DIR, "chat_history");
  const lines = createInterface({
    input: process.stdin,
    // With the output stream, readline echoes what is typed, draws the prompt and keeps history.
    ...(interactive
      ? { output: process.stdout, history: readHistory(historyPath), historySize: HISTORY_LINES }
      : {}),
    terminal: interactive,
  });
  if (interactive) {
    mkdirSync(config.DATA_DIR, { recursive: true });
    lines.setPrompt("\x1b[1myou>\x1b[0m ");
    lines.prompt();
  }

  const handle = async (line: string) => {
    const { text, attachments } = parseFileFlags(line);
    const message: InboundMessage = {
      platform: "local",
      workspaceId: "local",
      channelId: process.env.CHAT_CHANNEL ?? "terminal",
      threadId: undefined,
      userId: user,
      userName: user,
      text,
      attachments,
      // Whoever runs the terminal owns this machine's data.
      isAdmin: true,
      eventId: randomUUID(),
      // Every line typed in the terminal is for teammate.
      addressedBy: "direct",
    };
    await application.assistant.handle(message, sink);
  };

  // One message at a time, in order; input typed meanwhile waits (paused) and is echoed afterwards.
  let queue = Promise.resolve();
  const done = new Promise<void>((resolveDone) => {
    lines.on("close", () => {
      void queue.then(resolveDone);
    });
  });
  lines.on("line", (line) => {
    const text = line.trim();
    if (interactive && (text === "exit" || text === "quit")) {
      lines.close();
      return;
    }
    if (interactive && text.length > 0) {
      try {
        appendFileSync(historyPath, `${text.replace(/\n/g, " ")}\n`);
      } catch {
        // History is a convenience; a read-only data folder must not stop the chat.
      }
    }
    lines.pause();
    queue = queue.then(async () => {
      if (text.length > 0) await handle(text);
      if (interactive) {
        lines.resume();
        lines.prompt();
      } else {
        lines.resume();
      }
    });
  });
  await done;
  if (interactive) process.stdout.write("\n");
  await application.close();
  return 0;
}

process.exitCode = await main();
