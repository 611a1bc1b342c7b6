import { randomUUID } from "node:crypto";
import { Queue } from "bullmq";
import { Redis } from "ioredis";

/** The real Redis the BullMQ tests use (`.ci/run` starts one if nothing answers). */
export const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/** A queue name and key prefix no other test shares. */
export function uniqueQueueNames(): { queueName: string; prefix: string } {
  const id = randomUUID().slice(0, 8);
  return { queueName: `test-${id}`, prefix: `teammate-test-${id}` };
}

/** Opens the test queue through BullMQ's public API, for inspection and cleanup. */
export async function withTestQueue<T>(
  names: { queueName: string; prefix: string },
  work: (queue: Queue) => Promise<T>,
): Promise<T> {
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue(names.queueName, { connection, prefix: names.prefix });
  try {
    return await work(queue);
  } finally {
    await queue.close();
    await connection.quit();
  }
}

/** Removes a test queue's keys through BullMQ's public API. */
export function obliterateQueue(names: { queueName: string; prefix: string }): Promise<void> {
  return withTestQueue(names, (queue) => queue.obliterate({ force: true }));
}
