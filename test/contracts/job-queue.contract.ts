import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AppError } from "../../src/core/errors.js";
import { type JobContext, type JobQueue, jobIdOf } from "../../src/core/ports/job-queue.js";

/**
 * The job types the contract uses: some of the application's names, with payloads of the contract's
 * own, and a few more. A queue is typed by its job-name → payload map.
 */
export interface ContractJobs {
  "ingest-documents": { documentId: string; nested: { count: number } };
  "submit-fine-tune": { runId: string };
  "poll-fine-tune": Record<string, never>;
  "sync-source": { tag?: string };
  flaky: Record<string, never>;
  strict: Record<string, never>;
  doomed: Record<string, never>;
  held: Record<string, never>;
  broken: Record<string, never>;
  later: Record<string, never>;
  early: Record<string, never>;
  slow: Record<string, never>;
}

/** A queue under test (producer and worker in one) and how to throw away everything it wrote. */
export interface JobQueueFixture {
  queue: JobQueue<ContractJobs>;
  /** Called after `queue.close()`. */
  cleanup(): Promise<void>;
}

export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

/**
 * The behaviour every JobQueue must show, run against the in-process queue and BullMQ on real Redis,
 * so a processor written against one behaves the same on the other.
 */
export function describeJobQueueContract(label: string, create: () => Promise<JobQueueFixture>): void {
  describe(`JobQueue contract: ${label}`, () => {
    let fixture: JobQueueFixture;
    let closed = false;

    beforeEach(async () => {
      fixture = await create();
      closed = false;
    });

    afterEach(async () => {
      if (!closed) await fixture.queue.close();
      await fixture.cleanup();
    });

    it("runs the registered processor with a copy of the data and reports attempt 1 of n", async () => {
      const seen: Array<{ data: unknown; attempt: number; maxAttempts: number }> = [];
      const data = { documentId: "doc-1", nested: { count: 2 } };
      fixture.queue.register(
        "ingest-documents",
        async (received, context) => {
          seen.push({ data: received, attempt: context.attempt, maxAttempts: context.maxAttempts });
        },
        { attempts: 4 },
      );
      fixture.queue.start();
      const id = await fixture.queue.enqueue("ingest-documents", data);
      expect(typeof id).toBe("string");
      await waitFor(() => seen.length === 1);
      expect(seen[0]).toEqual({ data, attempt: 1, maxAttempts: 4 });
      expect(seen[0]?.data).not.toBe(data);
      await waitFor(async () => (await fixture.queue.counts()).completed === 1);
    });

    it("adds a job id only once while it is queued, running or kept", async () => {
      let runs = 0;
      fixture.queue.register("submit-fine-tune", async () => {
        runs += 1;
        await sleep(50);
      });
      fixture.queue.start();
      const jobId = jobIdOf("submit-fine-tune", "run:42");
      const first = await fixture.queue.enqueue("submit-fine-tune", { runId: "run:42" }, { jobId });
      const second = await fixture.queue.enqueue("submit-fine-tune", { runId: "run:42" }, { jobId });
      await waitFor(async () => (await fixture.queue.counts()).completed === 1);
      const third = await fixture.queue.enqueue("submit-fine-tune", { runId: "run:42" }, { jobId });
      await sleep(200);
      expect([first, second, third]).toEqual([jobId, jobId, jobId]);
      expect(jobId).not.toContain(":");
      expect(runs).toBe(1);
    });

    it("refuses job ids BullMQ cannot store", async () => {
      fixture.queue.register("poll-fine-tune", async () => {});
      fixture.queue.start();
      await expect(fixture.queue.enqueue("poll-fine-tune", {}, { jobId: "a:b" })).rejects.toThrow(
        /not allowed/,
      );
      await expect(fixture.queue.enqueue("poll-fine-tune", {}, { jobId: "123" })).rejects.toThrow(
        /not allowed/,
      );
    });

    it("retries a failing processor with exponential backoff until it succeeds", async () => {
      const attempts: Array<{ attempt: number; at: number }> = [];
      fixture.queue.register(
        "flaky",
        async (_data, context: JobContext) => {
          attempts.push({ attempt: context.attempt, at: Date.now() });
          if (context.attempt < 3) throw new Error(`transient failure ${context.attempt}`);
          return "done";
        },
        { attempts: 3, backoffMs: 150 },
      );
      fixture.queue.start();
      await fixture.queue.enqueue("flaky", {});
      await waitFor(async () => (await fixture.queue.counts()).completed === 1);
      expect(attempts.map((entry) => entry.attempt)).toEqual([1, 2, 3]);
      const [first, second, third] = attempts.map((entry) => entry.at);
      const firstGap = (second ?? 0) - (first ?? 0);
      const secondGap = (third ?? 0) - (second ?? 0);
      // 150 ms, then 300 ms: the second wait doubles the first.
      expect(firstGap).toBeGreaterThanOrEqual(140);
      expect(secondGap).toBeGreaterThanOrEqual(290);
      expect(secondGap).toBeGreaterThan(firstGap);
      expect((await fixture.queue.counts()).failed).toBe(0);
    });

    it("fails a job with bad input once, without retrying", async () => {
      let runs = 0;
      fixture.queue.register(
        "strict",
        async () => {
          runs += 1;
          throw new AppError("input_invalid", "documentId is missing", { category: "user" });
        },
        { attempts: 5, backoffMs: 10 },
      );
      fixture.queue.start();
      await fixture.queue.enqueue("strict", {});
      await waitFor(async () => (await fixture.queue.counts()).failed === 1);
      await sleep(200);
      expect(runs).toBe(1);
    });

    it("gives up after the last attempt", async () => {
      let runs = 0;
      fixture.queue.register(
        "doomed",
        async () => {
          runs += 1;
          throw new Error("always down");
        },
        { attempts: 2, backoffMs: 20 },
      );
      fixture.queue.start();
      await fixture.queue.enqueue("doomed", {});
      await waitFor(async () => (await fixture.queue.counts()).failed === 1);
      await sleep(150);
      expect(runs).toBe(2);
    });

    it("tells one job's state: waiting, active, completed, failed for good, or missing", async () => {
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      fixture.queue.register("held", async () => held, { attempts: 1 });
      fixture.queue.register(
        "broken",
        async () => {
          throw new AppError("input_invalid", "the request names nothing", { category: "user" });
        },
        { attempts: 3, backoffMs: 20 },
      );
      const heldId = await fixture.queue.enqueue("held", {}, { jobId: jobIdOf("held", "one") });
      expect((await fixture.queue.stateOf(heldId)).state).toBe("waiting");
      fixture.queue.start();
      await waitFor(async () => (await fixture.queue.stateOf(heldId)).state === "active");
      release();
      await waitFor(async () => (await fixture.queue.stateOf(heldId)).state === "completed");

      const brokenId = await fixture.queue.enqueue("broken", {}, { jobId: jobIdOf("broken", "one") });
      await waitFor(async () => (await fixture.queue.stateOf(brokenId)).state === "failed");
      expect((await fixture.queue.stateOf(brokenId)).failedReason ?? "the request names nothing").toMatch(
        /the request names nothing/,
      );
      expect(await fixture.queue.stateOf(jobIdOf("never", "added"))).toEqual({ state: "missing" });
    });

    it("holds a delayed job until its time", async () => {
      let ranAt = 0;
      fixture.queue.register("later", async () => {
        ranAt = Date.now();
      });
      fixture.queue.start();
      const enqueuedAt = Date.now();
      await fixture.queue.enqueue("later", {}, { delayMs: 400 });
      await waitFor(async () => (await fixture.queue.counts()).delayed === 1 || ranAt > 0);
      await waitFor(() => ranAt > 0);
      expect(ranAt - enqueuedAt).toBeGreaterThanOrEqual(390);
    });

    it("does not run jobs before start(), so none meets a missing processor", async () => {
      let runs = 0;
      fixture.queue.register("early", async () => {
        runs += 1;
      });
      await fixture.queue.enqueue("early", {});
      await sleep(150);
      expect(runs).toBe(0);
      expect((await fixture.queue.counts()).waiting).toBe(1);
      fixture.queue.start();
      await waitFor(() => runs === 1);
    });

    it("runs a scheduled job every interval under one scheduler id, replaced by a new schedule, stopped by unschedule", async () => {
      const runs: Array<{ tag: string | undefined; at: number }> = [];
      fixture.queue.register("sync-source", async (data) => {
        runs.push({ tag: data.tag, at: Date.now() });
      });
      fixture.queue.start();
      const scheduledAt = Date.now();
      const firstRunAt = await fixture.queue.schedule("source-s1", "sync-source", { tag: "old" }, 300);
      expect(firstRunAt).toBeGreaterThanOrEqual(scheduledAt + 300);
      await waitFor(() => runs.length >= 2);
      // Nothing runs before the first interval has passed.
      expect((runs[0]?.at ?? 0) - scheduledAt).toBeGreaterThanOrEqual(290);
      // The same id replaces the schedule: from now on only the new data runs, never both.
      await fixture.queue.schedule("source-s1", "sync-source", { tag: "new" }, 200);
      const before = runs.length;
      await waitFor(() => runs.slice(before).filter((run) => run.tag === "new").length >= 2);
      const lastOld = runs.map((run) => run.tag).lastIndexOf("old");
      expect(runs.slice(lastOld + 1).every((run) => run.tag === "new")).toBe(true);
      expect(await fixture.queue.unschedule("source-s1")).toBe(true);
      expect(await fixture.queue.unschedule("source-s1")).toBe(false);
      // Let a job the schedule added just before it was dropped finish, then nothing more may come.
      await sleep(100);
      const settled = runs.length;
      await sleep(500);
      expect(runs.length).toBe(settled);
    });

    it("runs a schedule's first job at the time it is given (a missed one now), then every interval", async () => {
      const runs: number[] = [];
      fixture.queue.register("sync-source", async () => {
        runs.push(Date.now());
      });
      fixture.queue.start();
      const scheduledAt = Date.now();
      const firstRunAt = await fixture.queue.schedule("source-s2", "sync-source", {}, 60_000, {
        firstRunAt: scheduledAt + 200,
      });
      expect(firstRunAt).toBe(scheduledAt + 200);
      await waitFor(() => runs.length === 1);
      expect((runs[0] ?? 0) - scheduledAt).toBeGreaterThanOrEqual(190);
      // Long before the interval: the first run came from `firstRunAt`, not from `everyMs`.
      expect((runs[0] ?? 0) - scheduledAt).toBeLessThan(30_000);
      const missed = await fixture.queue.schedule("source-s3", "sync-source", {}, 60_000, {
        firstRunAt: 1_000,
      });
      expect(missed).toBeGreaterThanOrEqual(scheduledAt);
      await waitFor(() => runs.length === 2);
      await fixture.queue.unschedule("source-s2");
      await fixture.queue.unschedule("source-s3");
    });

    it("close() lets the running job finish and leaves nothing active", async () => {
      let finished = false;
      let started = false;
      fixture.queue.register("slow", async () => {
        started = true;
        await sleep(400);
        finished = true;
      });
      fixture.queue.start();
      await fixture.queue.enqueue("slow", {});
      await waitFor(() => started);
      await fixture.queue.close();
      closed = true;
      expect(finished).toBe(true);
    });
  });
}
