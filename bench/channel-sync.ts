/**
 * `npm run bench -- channel-sync [threads, default 1000]`: a Slack channel of N threads (every third
 * with two replies) in the local Slack stand-in, synced the way `index #channel` syncs it: the Slack
 * connector through @slack/web-api, embeddings through the OpenAI client against the local stand-in,
 * chunks into the embedded SQLite index. First sync, an unchanged re-sync, then a re-sync after one new
 * reply. Prints times, Slack calls (history pages, thread reads), embedding calls and chunk writes per
 * sync, with the load average beside them: an unchanged re-sync reads no thread and writes nothing, and
 * one new reply costs one thread read and one document write.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { SlackChannelConnector } from "../src/adapters/slack/slack-channel-connector.js";
import { openSqliteDatabase } from "../src/adapters/sqlite/open-sqlite-database.js";
import { SqliteSourceStore } from "../src/adapters/sqlite/sqlite-source-store.js";
import { silentLogger } from "../src/core/ports/logger.js";
import type { SourceRecord } from "../src/core/ports/source-store.js";
import { sourceIdFor } from "../src/core/sources/source-ids.js";
import { runSync, type SyncJobDependencies } from "../src/core/sources/sync-source-job.js";
import { startOpenAiStandIn } from "../test/support/openai-stand-in.js";
import { startSlackStandIn } from "../test/support/slack-stand-in.js";
import { countingKnowledge } from "./_counting-knowledge.js";

const WORDS = (
  "deploy rollback canary incident pager runbook latency budget quota shard replica cache " +
  "token ledger invoice payroll onboarding laptop vpn badge office parking lunch holiday"
).split(" ");

const sentence = (seed: number, length: number) =>
  Array.from({ length }, (_, word) => WORDS[(seed * 31 + word * 13) % WORDS.length] ?? "note").join(" ");

export async function main(args: string[]): Promise<void> {
  const threads = Number(args[0] ?? 1000);
  if (!Number.isInteger(threads) || threads < 1)
    throw new Error(`threads must be a positive whole number, not ${args[0]}`);
  const token = "xoxb-bench-channel-sync";
  const slack = await startSlackStandIn({
    botToken: token,
    users: [
      { id: "UA", name: "ada" },
      { id: "UB", name: "bob" },
    ],
  });
  slack.addChannel({ id: "CBENCH", name: "bench" });
  const parents: string[] = [];
  for (let index = 0; index < threads; index += 1) {
    const parent = slack.postAsUser("CBENCH", "UA", `Question ${index}: ${sentence(index, 40)}?`);
    parents.push(parent);
    if (index % 3 === 0) {
      slack.postAsUser("CBENCH", "UB", `Answer: ${sentence(index + 1, 60)}.`, parent);
      slack.postAsUser("CBENCH", "UA", `Thanks, ${sentence(index + 2, 10)}.`, parent);
    }
  }
  const openai = await startOpenAiStandIn({ apiKey: "sk-bench" });
  const directory = mkdtempSync(join(tmpdir(), "teammate-bench-channel-sync-"));
  const database = openSqliteDatabase(join(directory, "teammate.sqlite"));
  try {
    const { knowledge, counters } = countingKnowledge(database, openai.baseUrl);
    const sources = new SqliteSourceStore(database);
    const connector = new SlackChannelConnector({
      botToken: token,
      apiUrl: slack.apiUrl,
      defaultMaxThreads: threads,
    });
    const resolved = await connector.resolve({
      target: "<#CBENCH|bench>",
      platform: "slack",
      workspaceId: slack.teamId,
      channelId: "CBENCH",
      userId: "UA",
      workspaceWide: false,
      crawl: false,
    });
    const source: SourceRecord = {
      id: sourceIdFor(resolved.scope, resolved.kind, resolved.target),
      ...resolved,
      createdBy: { platform: "slack", userId: "UA" },
      reportTo: { platform: "slack", workspaceId: slack.teamId, channelId: "CBENCH" },
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

    const measure = async (label: string) => {
      counters.embeddingCalls = 0;
      counters.chunkWrites = 0;
      const history = slack.callsTo("conversations.history").length;
      const replies = slack.callsTo("conversations.replies").length;
      const started = performance.now();
      const result = await runSync(
        dependencies,
        { ...source, cursor: (await sources.getSource(source.scope, source.id))?.cursor },
        context,
        () => {},
      );
      const milliseconds = performance.now() - started;
      await sources.updateSource(source.scope, source.id, { cursor: result.cursor });
      const { counts } = result;
      console.log(
        `${label.padEnd(16)} ${(milliseconds / 1000).toFixed(2)} s  (${counts.added} new, ${counts.changed} changed, ${counts.unchanged} unchanged; ` +
          `${slack.callsTo("conversations.history").length - history} history pages, ${slack.callsTo("conversations.replies").length - replies} thread reads; ` +
          `${counters.embeddingCalls} embedding calls, ${counters.chunkWrites} document writes; load ${(loadavg()[0] ?? 0).toFixed(2)})`,
      );
      return milliseconds;
    };

    console.log(
      `channel-sync bench: ${threads} threads in one Slack channel, a third of them with 2 replies`,
    );
    const first = await measure("first sync:");
    const again = await measure("unchanged sync:");
    slack.postAsUser("CBENCH", "UB", "A late answer to an old thread.", parents[Math.floor(threads / 2)]);
    await measure("one new reply:");
    console.log(
      `ratio:           unchanged re-sync took ${((again / first) * 100).toFixed(1)} % of the first sync`,
    );
  } finally {
    database.close();
    await openai.close();
    await slack.close();
    rmSync(directory, { recursive: true, force: true });
  }
}
