import { describe, expect, it } from "vitest";
import { BullMqJobQueue } from "../../../src/adapters/bullmq/bullmq-job-queue.js";
import { silentLogger } from "../../../src/core/ports/logger.js";
import { type ContractJobs, describeJobQueueContract, waitFor } from "../../contracts/job-queue.contract.js";
import { obliterateQueue, REDIS_URL, uniqueQueueNames } from "../../support/bullmq-test-queue.js";

describeJobQueueContract("BullMQ on real Redis", async () => {
  const names = uniqueQueueNames();
  return {
    queue: new BullMqJobQueue<ContractJobs>({
      redisUrl: REDIS_URL,
      logger: silentLogger,
      runWorkers: true,
      ...names,
    }),
    cleanup: () => obliterateQueue(names),
  };
});

// A payload of the tests' own under an application job name.
type IngestJobs = { "ingest-documents": { batchId: string } };

/** A queue on the tests' Redis that only adds jobs, telling `events` of each one that ends. */
function producerQueue(names: ReturnType<typeof uniqueQueueNames>, events: string[]) {
  return new BullMqJobQueue<IngestJobs>({
    redisUrl: REDIS_URL,
    logger: silentLogger,
    runWorkers: false,
    onJobEvent: (event) => events.push(`${event.jobId}:${event.state}`),
    ...names,
  });
}

/** A queue on the tests' Redis that runs jobs. */
function workerQueue(names: ReturnType<typeof uniqueQueueNames>) {
  return new BullMqJobQueue<IngestJobs>({
    redisUrl: REDIS_URL,
    logger: silentLogger,
    runWorkers: true,
    ...names,
  });
}

describe("BullMqJobQueue", () => {
  it("a producer-only queue adds jobs that a separate worker queue runs, and reports finished jobs", async () => {
    const names = uniqueQueueNames();
    const events: string[] = [];
    const producer = producerQueue(names, events);
    const worker = workerQueue(names);
    const ranIn: string[] = [];
    try {
      producer.register("ingest-documents", async () => {
        ranIn.push("producer");
      });
      producer.start();
      worker.register("ingest-documents", async () => {
        ranIn.push("worker");
      });
      worker.start();
      await producer.enqueue("ingest-documents", { batchId: "b1" }, { jobId: "ingest-b1" });
      await waitFor(() => events.includes("ingest-b1:completed"));
      expect(ranIn).toEqual(["worker"]);
    } finally {
      await producer.close();
      await worker.close();
      await obliterateQueue(names);
    }
  });

  it("reports a job that a running worker finished before the new producer's event reader had started", async () => {
    // A worker already waiting on the queue finishes a quick job within a few milliseconds of its add,
    // often before a producer made just before it has its event reader's first read in Redis: a reader
    // that starts at "$" (BullMQ's default) never hears of that job. Several producers, one after another.
    const names = uniqueQueueNames();
    const worker = workerQueue(names);
    const ran: string[] = [];
    worker.register("ingest-documents", async ({ batchId }) => {
      ran.push(batchId);
    });
    worker.start();
    const producers: Array<BullMqJobQueue<IngestJobs>> = [];
    try {
      await worker.enqueue("ingest-documents", { batchId: "warm-up" });
      await waitFor(() => ran.includes("warm-up"));
      for (let round = 0; round < 8; round++) {
        const events: string[] = [];
        const producer = producerQueue(names, events);
        producers.push(producer);
        producer.register("ingest-documents", async () => {});
        await producer.enqueue("ingest-documents", { batchId: `b${round}` }, { jobId: `quick-${round}` });
        await waitFor(() => events.includes(`quick-${round}:completed`));
        // Nothing from before this producer was made is replayed to it.
        expect(events.filter((event) => !event.startsWith(`quick-${round}:`))).toEqual([]);
      }
    } finally {
      for (const producer of producers) await producer.close();
      await worker.close();
      await obliterateQueue(names);
    }
  });

  it("closes at once when Redis never answered, with its event reader still waiting to start", async () => {
    // Nothing listens on port 1 of loopback: every connection keeps retrying.
    const queue = new BullMqJobQueue<IngestJobs>({
      redisUrl: "redis://127.0.0.1:1",
      logger: silentLogger,
      runWorkers: false,
      onJobEvent: () => {},
      ...uniqueQueueNames(),
    });
    await expect(queue.close()).resolves.toBeUndefined();
  });
});
