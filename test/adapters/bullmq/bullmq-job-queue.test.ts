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

describe("BullMqJobQueue", () => {
  it("a producer-only queue adds jobs that a separate worker queue runs, and reports finished jobs", async () => {
    const names = uniqueQueueNames();
    const events: string[] = [];
    // A payload of the test's own under an application job name.
    type Jobs = { "ingest-documents": { batchId: string } };
    const producer = new BullMqJobQueue<Jobs>({
      redisUrl: REDIS_URL,
      logger: silentLogger,
      runWorkers: false,
      onJobEvent: (event) => events.push(`${event.jobId}:${event.state}`),
      ...names,
    });
    const worker = new BullMqJobQueue<Jobs>({
      redisUrl: REDIS_URL,
      logger: silentLogger,
      runWorkers: true,
      ...names,
    });
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
});
