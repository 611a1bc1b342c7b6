import { describe, expect, it } from "vitest";
import { InProcessJobQueue } from "../../../src/adapters/in-process/in-process-job-queue.js";
import { openSqliteDatabase } from "../../../src/adapters/sqlite/open-sqlite-database.js";
import { SqliteMemoryStore } from "../../../src/adapters/sqlite/sqlite-memory-store.js";
import { createIngestEnqueuer } from "../../../src/core/jobs/enqueue-ingest-documents.js";
import { registerIngestJobs } from "../../../src/core/jobs/ingest-documents-job.js";
import type { KnowledgeBase } from "../../../src/core/knowledge/knowledge-base.js";
import { OpenReply, sweepOpenReplies } from "../../../src/core/open-replies.js";
import { silentLogger } from "../../../src/core/ports/logger.js";
import type { OpenWork } from "../../../src/core/ports/memory-store.js";
import type { ReplySink } from "../../../src/core/ports/reply-sink.js";
import type { ConversationRef } from "../../../src/core/types.js";
import { waitFor } from "../../support/e2e-helpers.js";
import { RecordingNotifier } from "../../support/recording-notifier.js";

const where: ConversationRef = { platform: "slack", workspaceId: "T1", channelId: "C1", threadId: "1.0" };

function memory() {
  return new SqliteMemoryStore(openSqliteDatabase(":memory:"), { ownsDatabase: true });
}

function reply(id: string, owner: string, leaseUntil: number): OpenWork {
  return { id, kind: "reply", where, askerId: `U-${id}`, owner, messages: { reaction: "1.0" }, leaseUntil };
}

describe("open replies: recorded while shown, ended once their process is gone", () => {
  it("a lapsed lease (any process) or, at an embedded start-up, another owner's reply is ended once, pinging its asker", async () => {
    const store = memory();
    const notifier = new RecordingNotifier();
    const now = 1_000_000;
    await store.openWork(reply("lapsed", "dead", now - 1));
    await store.openWork(reply("alive", "other", now + 30_000));
    await store.openWork(reply("mine", "me", now + 30_000));
    await store.openWork({ ...reply("job", "x", now - 1), kind: "job", jobId: "job-1" });

    // Several bot processes on one Redis: only the lapsed lease is a dead process's.
    expect(await sweepOpenReplies({ store, notifier, logger: silentLogger, now: () => now })).toBe(1);
    expect(notifier.writes).toHaveLength(1);
    expect(notifier.writes[0]?.notify).toBe("U-lapsed");
    expect(notifier.writes[0]?.text).toMatch(/restarted while answering this .*\(ref [0-9a-f]{8}\)/);

    // One process per SQLite file, at its start: every reply of another owner is a dead one's.
    const atStartUp = { store, notifier, logger: silentLogger, now: () => now, endOthersOf: "me" };
    expect(await sweepOpenReplies(atStartUp)).toBe(1);
    expect(notifier.writes.map((write) => write.notify)).toEqual(["U-lapsed", "U-alive"]);
    expect(await sweepOpenReplies(atStartUp)).toBe(0);
    expect((await store.listOpenWork(10)).map((work) => work.id).sort()).toEqual(["job", "mine"]);
    await store.close();
  });

  it("renews its lease while the reply works, records what it shows, and is gone once the reply ends", async () => {
    const store = memory();
    let shown: Record<string, string> = { reaction: "1.0" };
    const sink = { shownMessages: () => shown } as unknown as ReplySink;
    const open = new OpenReply({
      store,
      id: "reply-1",
      where,
      askerId: "U1",
      sink,
      owner: "me",
      leaseMs: 300,
      logger: silentLogger,
    });
    open.shown();
    let first: OpenWork | undefined;
    for (let tries = 0; tries < 100 && !first; tries += 1) {
      first = (await store.listOpenWork(10))[0];
      if (!first) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(first).toMatchObject({ id: "reply-1", owner: "me", messages: { reaction: "1.0" } });
    shown = { reaction: "1.0", status: "2.0" };
    open.shown();
    // The heartbeat moves the lease on (every third of it) while nothing else happens.
    let renewed: OpenWork | undefined;
    for (let tries = 0; tries < 200; tries += 1) {
      renewed = (await store.listOpenWork(10))[0];
      if (renewed && renewed.leaseUntil > (first?.leaseUntil ?? 0) + 150) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(renewed?.leaseUntil).toBeGreaterThan((first?.leaseUntil ?? 0) + 150);
    expect(renewed?.messages).toEqual({ reaction: "1.0", status: "2.0" });
    await open.close();
    expect(await store.listOpenWork(10)).toEqual([]);
    await store.close();
  });
});

describe("a watched job that fails for good takes its status message off the watch and pings the asker", () => {
  it("bad input: the status message ends with the reason, the asker is pinged, the watch has nothing left", async () => {
    const store = memory();
    const notifier = new RecordingNotifier();
    const jobs = new InProcessJobQueue({ logger: silentLogger });
    const knowledge = {} as KnowledgeBase;
    registerIngestJobs(jobs, { knowledge, notifier, logger: silentLogger, openWork: store });
    jobs.start();
    const enqueue = createIngestEnqueuer({ jobs, notifier, logger: silentLogger, openWork: store });
    // No references at all: bad input, a failure for good on the first attempt.
    await enqueue({
      references: [],
      scope: { platform: "slack", workspaceId: "T1" },
      message: {
        ...where,
        userId: "U9",
        userName: "ada",
        isAdmin: true,
        text: "index",
        attachments: [],
        eventId: "Ev-bad",
      },
    });
    await waitFor(() => notifier.writes.some((write) => write.notify === "U9"), "the ping to the asker");
    const status = notifier.writes[0]?.messageId ?? "";
    expect(notifier.texts.get(status)).toMatch(/^❌ I couldn't index that: there were no documents/);
    expect(notifier.writes.find((write) => write.notify === "U9")?.text).toMatch(
      /^Your indexing did not finish: I couldn't index that/,
    );
    expect(await store.listOpenWork(10)).toEqual([]);
    expect((await jobs.counts()).failed).toBe(1);
    await jobs.close();
    await store.close();
  });
});
