/**
 * `npm run bench -- attachments [--megabytes 8] [--rounds 3]`: files attached to a question, read the
 * way the bot reads them (loopback download through the guarded fetcher, extraction in the pool's
 * worker thread, then cut to the prompt's budget in core). A CSV and a plain-text file of the given
 * size each go through `readQuestionAttachments`; the bench prints how long each took and the
 * longest the main thread stalled meanwhile (a 5 ms ticker's worst lateness), with the load average.
 * The stall is the figure that matters: it must not grow with the file.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { createAttachmentReader } from "../src/adapters/attachments/create-attachment-reader.js";
import { createDocumentLoader } from "../src/adapters/documents/create-document-loader.js";
import { sharedExtractionPool } from "../src/adapters/extract/extraction-pool.js";
import { readQuestionAttachments } from "../src/core/attachments/question-attachments.js";
import { splitPromptBudget } from "../src/core/memory/conversation-memory.js";
import { silentLogger } from "../src/core/ports/logger.js";

function csvOf(bytes: number): string {
  const rows = ["id,region,units,comment"];
  let size = rows[0]?.length ?? 0;
  for (let index = 0; size < bytes; index += 1) {
    const row = `${index},region-${index % 7},${(index * 37) % 1000},"note ${index}, with a comma"`;
    rows.push(row);
    size += row.length + 1;
  }
  return `${rows.join("\n")}\n`;
}

function textOf(bytes: number): string {
  const sentence = "The quarterly report says revenue grew in every region, led by the west. ";
  return sentence.repeat(Math.ceil(bytes / sentence.length)).slice(0, bytes);
}

/** Runs `work` while a 5 ms ticker records its worst lateness: the longest the main thread was blocked. */
async function withStallMeter<Result>(
  work: () => Promise<Result>,
): Promise<{ result: Result; stallMs: number }> {
  let worst = 0;
  let expected = performance.now() + 5;
  const ticker = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - expected);
    expected = now + 5;
  }, 5);
  try {
    return { result: await work(), stallMs: worst };
  } finally {
    clearInterval(ticker);
  }
}

export async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { megabytes: { type: "string", default: "8" }, rounds: { type: "string", default: "3" } },
  });
  const bytes = Math.round(Number(values.megabytes) * 1024 * 1024);
  const rounds = Math.max(1, Number(values.rounds));
  const files: Record<string, { body: string; type: string }> = {
    "/data.csv": { body: csvOf(bytes), type: "text/csv" },
    "/report.txt": { body: textOf(bytes), type: "text/plain" },
  };
  const server = createServer((request, response) => {
    const file = files[request.url ?? ""];
    if (!file) return void response.writeHead(404).end();
    response.writeHead(200, { "content-type": file.type }).end(file.body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const host = new URL(origin).host;
  const maxBytes = bytes + 1024 * 1024;
  const reader = createAttachmentReader({
    loader: createDocumentLoader({
      baseDirectory: process.cwd(),
      fetcher: { allowedHosts: [host], maxBytes },
    }),
    maxBytes,
    fetcher: { allowedHosts: [host] },
  });
  const budget = Math.floor(splitPromptBudget(6_000).passages * 0.6);
  try {
    for (const [path, label] of [
      ["/data.csv", "csv"],
      ["/report.txt", "text"],
    ] as const) {
      let best: { ms: number; stallMs: number; tokens: string } | undefined;
      for (let round = 0; round < rounds; round += 1) {
        const started = performance.now();
        const { result, stallMs } = await withStallMeter(() =>
          readQuestionAttachments({
            message: {
              platform: "slack",
              workspaceId: "T",
              channelId: "C",
              userId: "U",
              userName: "bench",
              isAdmin: false,
              text: "",
              eventId: `bench-${round}`,
              attachments: [{ name: path.slice(1), url: `${origin}${path}`, mimeType: files[path]?.type }],
            },
            reader,
            acceptsImages: false,
            tokenBudget: budget,
            logger: silentLogger,
          }),
        );
        const ms = performance.now() - started;
        if (result.passages.length !== 1) throw new Error(`${label}: ${result.notes.join(" ")}`);
        const kept = `${result.passages[0]?.text.length ?? 0} characters kept`;
        if (!best || ms < best.ms) best = { ms, stallMs, tokens: kept };
      }
      console.log(
        `attachments: ${label} ${values.megabytes} MB read in ${best?.ms.toFixed(0)} ms, longest main-thread stall ${best?.stallMs.toFixed(1)} ms, ${best?.tokens} (budget ${budget} tokens; best of ${rounds}; load average ${loadavg()[0]?.toFixed(2)})`,
      );
    }
  } finally {
    server.close();
    await sharedExtractionPool().close();
  }
}
