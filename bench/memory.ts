/**
 * `npm run bench -- memory [--turns 200] [--budget 6000]`: a 200-turn conversation through the real
 * core on the embedded SQLite store with an instant scripted LLM. Prints the prompt tokens of each
 * answer request (they must flatten once the window fills) and the core's own time per message.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSqliteDatabase } from "../src/adapters/sqlite/open-sqlite-database.js";
import { SqliteMemoryStore } from "../src/adapters/sqlite/sqlite-memory-store.js";
import { createAssistant } from "../src/core/assistant.js";
import { messageTokens } from "../src/core/chains/answer-chain.js";
import type { ChatRequest } from "../src/core/ports/llm-provider.js";
import { silentLogger } from "../src/core/ports/logger.js";
import { RecordingSink } from "../test/support/recording-sink.js";
import { ScriptedLlm } from "../test/support/scripted-llm.js";

function option(args: string[], name: string, fallback: number): number {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? Number(args[index + 1]) : fallback;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const isSummary = (request: ChatRequest) =>
  String(request.messages[0]?.content).startsWith("You maintain the running memory");

export async function main(args: string[]): Promise<void> {
  const turns = option(args, "turns", 200);
  const budget = option(args, "budget", 6_000);
  const directory = mkdtempSync(join(tmpdir(), "teammate-bench-memory-"));
  const database = openSqliteDatabase(join(directory, "teammate.sqlite"));
  const store = new SqliteMemoryStore(database);
  // Instant LLM: answers are a realistic length, summaries keep the first lines of their input.
  const llm = new ScriptedLlm((request) =>
    isSummary(request)
      ? String(request.messages[1]?.content).slice(0, 1_500)
      : "Here is a helpful answer of moderate length that explains the point in two or three sentences, the way a teammate would reply in a busy channel without padding.",
  );
  const assistant = createAssistant({
    store,
    llm,
    logger: silentLogger,
    promptTokenBudget: budget,
    allowGeneralKnowledge: false,
  });

  const promptTokens: number[] = [];
  const coreMilliseconds: number[] = [];
  for (let turn = 1; turn <= turns; turn++) {
    const sink = new RecordingSink();
    const before = llm.requests.length;
    const started = process.hrtime.bigint();
    await assistant.handle(
      {
        platform: "local",
        workspaceId: "bench",
        channelId: "memory",
        userId: `U${turn % 3}`,
        userName: ["Alice", "Bob", "Carol"][turn % 3] ?? "Alice",
        text: `Message ${turn}: a question about the release plan, owners and the open risks we discussed earlier today?`,
        attachments: [],
        isAdmin: false,
        eventId: `bench-${turn}`,
      },
      sink,
    );
    coreMilliseconds.push(Number(process.hrtime.bigint() - started) / 1e6);
    const answerRequest = llm.requests.slice(before).find((request) => !isSummary(request));
    promptTokens.push(answerRequest ? messageTokens(answerRequest.messages) : Number.NaN);
  }

  console.log(
    `memory benchmark: ${turns} turns, prompt budget ${budget} tokens, SQLite file store, instant LLM`,
  );
  console.log("prompt tokens per turn:");
  for (let row = 0; row < turns; row += 20) {
    const values = promptTokens.slice(row, row + 20).map((value) => String(value).padStart(5));
    console.log(
      `  turns ${String(row + 1).padStart(3)}-${String(Math.min(row + 20, turns)).padStart(3)}: ${values.join("")}`,
    );
  }
  const tail = promptTokens.slice(Math.floor(turns / 2));
  console.log(
    `  max ${Math.max(...promptTokens)} (budget ${budget}); second half min ${Math.min(...tail)} max ${Math.max(...tail)}`,
  );
  const sorted = [...coreMilliseconds].sort((a, b) => a - b);
  console.log(
    `core time per message (instant LLM, includes folding): median ${percentile(sorted, 50).toFixed(2)} ms, p99 ${percentile(sorted, 99).toFixed(2)} ms`,
  );
  console.log(`summary folds: ${llm.requests.filter(isSummary).length}`);
  database.close();
  rmSync(directory, { recursive: true, force: true });
}
