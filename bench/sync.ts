/**
 * `npm run bench -- sync [pages, default 1000] [--lastmod]`: a local site of N pages (sitemap.xml,
 * robots.txt, ETags), synced the way `index <url> --crawl` syncs it: the website connector through the
 * URL-guarded fetcher, extraction in the worker-thread pool, embeddings through the OpenAI client against
 * the local stand-in, chunks into the embedded SQLite index. First sync, then an unchanged re-sync.
 *
 * Without `--lastmod` the sitemap carries no dates, so the re-sync asks every page conditionally and gets
 * 304s (the harder case); with it, an unchanged `lastmod` skips the request altogether. Prints both times,
 * the re-sync's embedding calls and chunk writes (both must be 0) and the ratio (goal ≤ 10 %), with the
 * load average beside them.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { sharedExtractionPool } from "../src/adapters/extract/extraction-pool.js";
import { createSafeHttpFetcher } from "../src/adapters/http/safe-http-fetcher.js";
import { openSqliteDatabase } from "../src/adapters/sqlite/open-sqlite-database.js";
import { SqliteSourceStore } from "../src/adapters/sqlite/sqlite-source-store.js";
import { WebsiteSourceConnector } from "../src/adapters/website/website-source-connector.js";
import { silentLogger } from "../src/core/ports/logger.js";
import type { SourceRecord } from "../src/core/ports/source-store.js";
import { sourceIdFor } from "../src/core/sources/source-ids.js";
import { runSync, type SyncJobDependencies } from "../src/core/sources/sync-source-job.js";
import { startOpenAiStandIn } from "../test/support/openai-stand-in.js";
import { page, startWebsiteStandIn } from "../test/support/website-stand-in.js";
import { countingKnowledge } from "./_counting-knowledge.js";

const WORDS = (
  "deploy rollback canary incident pager runbook latency budget quota shard replica cache " +
  "token ledger invoice payroll onboarding laptop vpn badge office parking lunch holiday " +
  "review release branch merge pipeline artifact registry secret rotation audit backup"
).split(" ");

/** A page of about 2 KB: a few paragraphs of words picked by the page number, different on every page. */
function pageText(index: number): string {
  const paragraphs: string[] = [];
  for (let paragraph = 0; paragraph < 4; paragraph += 1) {
    const words: string[] = [];
    for (let word = 0; word < 70; word += 1) {
      words.push(WORDS[(index * 31 + paragraph * 7 + word * 13) % WORDS.length] ?? "note");
    }
    paragraphs.push(`Section ${paragraph + 1} of page ${index}: ${words.join(" ")}.`);
  }
  return paragraphs.join("</p><p>");
}

export async function main(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { lastmod: { type: "boolean", default: false }, rounds: { type: "string", default: "3" } },
  });
  const pages = Number(positionals[0] ?? 1000);
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new Error(`--rounds must be a positive whole number, not ${values.rounds}`);
  if (!Number.isInteger(pages) || pages < 1)
    throw new Error(`pages must be a positive whole number, not ${positionals[0]}`);

  const site = await startWebsiteStandIn({ robots: "User-agent: *\nDisallow: /docs/private/\n" });
  for (let index = 0; index < pages; index += 1) {
    site.pages.set(`/docs/page-${index}`, {
      html: page(`Page ${index}`, pageText(index)),
      lastModified: values.lastmod ? "2026-01-01" : undefined,
    });
  }
  const openai = await startOpenAiStandIn({ apiKey: "sk-bench" });
  const results: RoundResult[] = [];
  try {
    for (let round = 1; round <= rounds; round += 1) {
      const result = await runRound(site, openai.baseUrl, pages);
      results.push(result);
      console.log(
        `round ${round}: first ${(result.firstMs / 1000).toFixed(2)} s (load ${result.firstLoad.toFixed(2)}), unchanged ${(result.againMs / 1000).toFixed(2)} s (load ${result.againLoad.toFixed(2)}): ${((result.againMs / result.firstMs) * 100).toFixed(1)} %`,
      );
    }
  } finally {
    await sharedExtractionPool().close();
    await openai.close();
    await site.close();
  }
  // On a shared machine a round only gets slower through interference, never faster: report the best.
  const first = results.reduce((best, result) => (result.firstMs < best.firstMs ? result : best));
  const again = results.reduce((best, result) => (result.againMs < best.againMs ? result : best));
  const ratio = again.againMs / first.firstMs;
  console.log(
    `sync bench: ${pages} pages, sitemap ${values.lastmod ? "with lastmod" : "without lastmod (conditional GETs, 304s)"}, best of ${rounds} rounds`,
  );
  console.log(
    `first sync:     ${(first.firstMs / 1000).toFixed(2)} s  (${first.added} new; ${first.firstEmbeddings} embedding calls, ${first.firstWrites} chunk writes; load ${first.firstLoad.toFixed(2)})`,
  );
  console.log(
    `unchanged sync: ${(again.againMs / 1000).toFixed(2)} s  (${again.unchanged} unchanged, ${again.changed} changed; ${again.againEmbeddings} embedding calls, ${again.againWrites} chunk writes; ${again.requests} HTTP requests, ${again.notModified} answered 304; load ${again.againLoad.toFixed(2)})`,
  );
  const embeddings = Math.max(...results.map((result) => result.againEmbeddings));
  const writes = Math.max(...results.map((result) => result.againWrites));
  console.log(
    `ratio:          ${(ratio * 100).toFixed(1)} % of the first sync (goal ≤ 10 %) ${ratio <= 0.1 ? "✓" : "✗"}; embeddings ${embeddings === 0 ? "0 ✓" : `${embeddings} ✗`}, chunk writes ${writes === 0 ? "0 ✓" : `${writes} ✗`} (every round)`,
  );
}

interface RoundResult {
  firstMs: number;
  firstLoad: number;
  firstEmbeddings: number;
  firstWrites: number;
  added: number;
  againMs: number;
  againLoad: number;
  againEmbeddings: number;
  againWrites: number;
  unchanged: number;
  changed: number;
  requests: number;
  notModified: number;
}

/** One round on a fresh index and source store: a first sync, then an unchanged re-sync. */
async function runRound(
  site: Awaited<ReturnType<typeof startWebsiteStandIn>>,
  openaiUrl: string,
  pages: number,
): Promise<RoundResult> {
  const directory = mkdtempSync(join(tmpdir(), "teammate-bench-sync-"));
  const database = openSqliteDatabase(join(directory, "teammate.sqlite"));
  try {
    const { knowledge, counters } = countingKnowledge(database, openaiUrl);
    const sources = new SqliteSourceStore(database);
    const connector = new WebsiteSourceConnector({
      fetcher: createSafeHttpFetcher({ allowedHosts: [`127.0.0.1:${site.port}`], keepAlive: true }),
      defaultMaxPages: pages,
    });
    const resolved = await connector.resolve({
      target: `${site.origin}/docs/`,
      platform: "local",
      workspaceId: "bench",
      channelId: "bench",
      userId: "bench",
      workspaceWide: true,
      crawl: true,
      maxItems: pages,
    });
    const source: SourceRecord = {
      id: sourceIdFor(resolved.scope, resolved.kind, resolved.target),
      ...resolved,
      createdBy: { platform: "local", userId: "bench" },
      reportTo: { platform: "local", workspaceId: "bench", channelId: "bench" },
      createdAt: Date.now(),
      consecutiveFailures: 0,
    };
    await sources.saveSource(source);
    const dependencies: SyncJobDependencies = {
      sources,
      connectors: [connector],
      knowledge,
      notifier: { post: async () => Promise.reject(new Error("not used")), edit: async () => {} },
      logger: silentLogger,
    };
    const context = { signal: new AbortController().signal, reportProgress: async () => {} };

    const firstStart = performance.now();
    const first = await runSync(dependencies, source, context, () => {});
    const firstMs = performance.now() - firstStart;
    const firstLoad = loadavg()[0] ?? 0;
    const firstCounters = { ...counters };

    counters.embeddingCalls = 0;
    counters.chunkWrites = 0;
    const requestsBefore = site.requests.length;
    const notModifiedAtStart = site.notModifiedCount();
    const againStart = performance.now();
    const again = await runSync(dependencies, source, context, () => {});
    const againMs = performance.now() - againStart;
    const againLoad = loadavg()[0] ?? 0;

    const notModifiedBefore = site.notModifiedCount();
    return {
      firstMs,
      firstLoad,
      firstEmbeddings: firstCounters.embeddingCalls,
      firstWrites: firstCounters.chunkWrites,
      added: first.counts.added,
      againMs,
      againLoad,
      againEmbeddings: counters.embeddingCalls,
      againWrites: counters.chunkWrites,
      unchanged: again.counts.unchanged,
      changed: again.counts.changed,
      requests: site.requests.length - requestsBefore,
      notModified: notModifiedBefore - notModifiedAtStart,
    };
  } finally {
    database.close();
    rmSync(directory, { recursive: true, force: true });
  }
}
