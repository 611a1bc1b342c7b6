/**
 * `npm run chat`: the same core on platform "local", in the terminal. Interactive on a TTY; with
 * piped input it answers one message per line and exits 0 at the end of input, so it can be scripted.
 */
import { randomUUID } from "node:crypto";
import { userInfo } from "node:os";
import { createInterface } from "node:readline";
import { createLogger } from "./adapters/pino/create-logger.js";
import { TerminalReplySink } from "./adapters/terminal/terminal-reply-sink.js";
import { createApplication } from "./application.js";
import { hasLlm, loadConfig } from "./config.js";
import { isAppError } from "./core/errors.js";
import type { InboundMessage } from "./core/types.js";

async function main(): Promise<number> {
  let config: ReturnType<typeof loadConfig>;
  try {
    // The terminal is noisy enough: below warn only when asked for.
    config = loadConfig({ LOG_LEVEL: "warn", ...process.env });
  } catch (error) {
    process.stderr.write(`${isAppError(error) ? error.message : String(error)}\n`);
    return 1;
  }
  const logger = createLogger({ level: config.LOG_LEVEL, name: "teammate-chat" });
  const application = await createApplication(config, logger);
  const interactive = Boolean(process.stdin.isTTY);

  if (!hasLlm(config)) {
    process.stderr.write(
      "No language model configured. Set OPENAI_API_KEY (OpenAI) or OPENAI_BASE_URL (any OpenAI-compatible server; " +
        "Ollama: OPENAI_BASE_URL=http://localhost:11434/v1) and LLM_MODEL. Commands and memory work meanwhile.\n",
    );
  }
  if (interactive) {
    process.stdout.write("teammate — local chat. Say `help` for commands; Ctrl-D or `exit` to leave.\n");
  }

  const user = userInfo().username || "you";
  const sink = new TerminalReplySink({
    output: process.stdout,
    statusOutput: process.stderr,
    colors: interactive,
  });
  const lines = createInterface({ input: process.stdin, terminal: interactive });
  if (interactive) {
    lines.setPrompt("you> ");
    lines.prompt();
  }
  for await (const line of lines) {
    const text = line.trim();
    if (interactive && (text === "exit" || text === "quit")) break;
    if (text.length > 0) {
      const message: InboundMessage = {
        platform: "local",
        workspaceId: "local",
        channelId: process.env.CHAT_CHANNEL ?? "terminal",
        threadId: undefined,
        userId: user,
        userName: user,
        text,
        attachments: [],
        // Whoever runs the terminal owns this machine's data.
        isAdmin: true,
        eventId: randomUUID(),
      };
      await application.assistant.handle(message, sink);
    }
    if (interactive) lines.prompt();
  }
  lines.close();
  await application.close();
  return 0;
}

process.exitCode = await main();
