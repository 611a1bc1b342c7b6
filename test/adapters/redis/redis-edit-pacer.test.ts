import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { RedisEditPacer } from "../../../src/adapters/redis/redis-edit-pacer.js";
import { StatusMessage } from "../../../src/core/jobs/status-message.js";
import type { EditPacer } from "../../../src/core/ports/edit-pacer.js";
import type { Logger } from "../../../src/core/ports/logger.js";
import { silentLogger } from "../../../src/core/ports/logger.js";
import type { PostedMessage } from "../../../src/core/ports/notifier.js";
import { recordingLogger } from "../../support/e2e-helpers.js";
import { RecordingNotifier, smallestGap } from "../../support/recording-notifier.js";
import { unreachableRedis } from "../../support/unreachable-redis.js";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const INTERVAL_MS = 250;
/** Timer and clock rounding between Redis's clock and this process's: a millisecond or two. */
const ROUNDING_MS = 3;
/** What one reservation learned: when it was sent, when its reply came, and the wait it was given. */
interface Reservation {
  sentAt: number;
  receivedAt: number;
  delay: number;
}

/** A pacer that notes each reservation (times on the clock the notifier stamps writes with). */
function noting(pacer: EditPacer, reservations: Reservation[]): EditPacer {
  return {
    async reserve(message, intervalMs, earliestInMs) {
      const sentAt = Date.now();
      const delay = await pacer.reserve(message, intervalMs, earliestInMs);
      reservations.push({ sentAt, receivedAt: Date.now(), delay });
      return delay;
    },
  };
}

describe("RedisEditPacer: edits of one message spaced across processes", () => {
  const clients: Redis[] = [];
  function pacer(keyPrefix: string): RedisEditPacer {
    const client = new Redis(REDIS_URL);
    clients.push(client);
    return new RedisEditPacer({ client, keyPrefix });
  }
  // Slots expire on their own, a few hundred milliseconds after the last one given out.
  const uniquePrefix = () => `teammate-test-pacer-${randomUUID()}:store:`;
  const where = { platform: "slack" as const, workspaceId: "T1", channelId: "C1" };

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.quit()));
  });

  /** Two workers reporting into one status message, each with its own connection. */
  async function twoWorkersEditing(pacers: [EditPacer, EditPacer] | undefined) {
    const notifier = new RecordingNotifier();
    const message = await notifier.post(where, "Indexing 2 documents: queued, waiting for a worker…");
    const workers = [0, 1].map(
      (index) =>
        new StatusMessage({
          notifier,
          message,
          logger: silentLogger,
          minIntervalMs: INTERVAL_MS,
          pacer: pacers?.[index],
        }),
    );
    for (let done = 1; done <= 3; done += 1) {
      for (const worker of workers) worker.progress("Indexing", done, 3);
      await Promise.all(workers.map((worker) => worker.flush()));
    }
    await Promise.all(workers.map((worker, index) => worker.finish(`✅ Indexed (attempt ${index + 1})`)));
    return notifier.writesTo(message.messageId).filter((write) => write.kind === "edit");
  }

  it("two workers editing one status message are given slots an interval apart, and each write waits for one", async () => {
    const keyPrefix = uniquePrefix();
    const reservations: Reservation[] = [];
    const edits = await twoWorkersEditing([
      noting(pacer(keyPrefix), reservations),
      noting(pacer(keyPrefix), reservations),
    ]);
    expect(edits.length).toBeGreaterThanOrEqual(6);
    expect(reservations.length).toBeGreaterThanOrEqual(edits.length);
    // Redis ran each reservation between its send and its reply, so its slot lies in [sentAt + delay,
    // receivedAt + delay]. Two slots an interval apart need room for that in their two ranges; a pacer
    // that hands out the same slot twice leaves none (these reservations take a millisecond or so).
    // Checked on the slots rather than on when the writes landed: a machine that stalls a timer makes
    // two writes land together however well they were spaced.
    for (const [index, left] of reservations.entries()) {
      for (const right of reservations.slice(index + 1)) {
        const room = Math.max(
          right.receivedAt + right.delay - (left.sentAt + left.delay),
          left.receivedAt + left.delay - (right.sentAt + right.delay),
        );
        expect(room).toBeGreaterThanOrEqual(INTERVAL_MS - ROUNDING_MS);
      }
    }
    // The n-th write lands no sooner than the n-th earliest slot: no write goes out before its turn.
    const earliestSlots = reservations.map((entry) => entry.sentAt + entry.delay).sort((a, b) => a - b);
    const writtenAt = edits.map((edit) => edit.at).sort((a, b) => a - b);
    for (const [index, at] of writtenAt.entries()) {
      expect(at).toBeGreaterThanOrEqual((earliestSlots[index] ?? 0) - ROUNDING_MS);
    }
  });

  it("without a shared pacer the same two workers write at the same moment (what the pacer is for)", async () => {
    const edits = await twoWorkersEditing(undefined);
    expect(smallestGap(edits)).toBeLessThan(INTERVAL_MS / 2);
  });

  it("gives racing reservations distinct slots an interval apart, and leaves other messages alone", async () => {
    const keyPrefix = uniquePrefix();
    const [left, right] = [pacer(keyPrefix), pacer(keyPrefix)];
    const message: PostedMessage = { ...where, messageId: "1700000000.000100" };
    const sentAt = performance.now();
    const delays = await Promise.all([
      left.reserve(message, INTERVAL_MS, 0),
      right.reserve(message, INTERVAL_MS, 0),
      left.reserve(message, INTERVAL_MS, 0),
      right.reserve(message, INTERVAL_MS, 0),
    ]);
    // Each delay counts from the moment Redis ran that reservation; those moments lie within the
    // round trip of all four, so slots an interval apart show as delays at least this far apart.
    const spreadMs = performance.now() - sentAt;
    const sorted = [...delays].sort((a, b) => a - b);
    expect(sorted[0]).toBe(0);
    for (let index = 1; index < sorted.length; index += 1) {
      expect((sorted[index] ?? 0) - (sorted[index - 1] ?? 0)).toBeGreaterThanOrEqual(
        INTERVAL_MS - spreadMs - ROUNDING_MS,
      );
    }
    // Another message, and the same message id in another channel, wait for nobody.
    expect(await left.reserve({ ...message, messageId: "1700000000.000200" }, INTERVAL_MS, 0)).toBe(0);
    expect(await right.reserve({ ...message, channelId: "C2" }, INTERVAL_MS, 0)).toBe(0);
    // The earliest time asked for is honoured.
    expect(await left.reserve({ ...message, messageId: "fresh" }, INTERVAL_MS, 120)).toBeGreaterThanOrEqual(
      120 - ROUNDING_MS,
    );
  });

  it("still writes every line when Redis cannot be reached, spaced by the worker alone, and says so once per edit", async () => {
    const client = unreachableRedis();
    const entries: Array<Record<string, unknown>> = [];
    const logger: Logger = recordingLogger(entries);
    const notifier = new RecordingNotifier();
    const message = await notifier.post(where, "queued");
    const status = new StatusMessage({
      notifier,
      message,
      logger,
      minIntervalMs: 50,
      pacer: new RedisEditPacer({ client, keyPrefix: uniquePrefix() }),
    });
    status.update("Indexing 1/2");
    await status.flush();
    await status.finish("✅ Indexed 2 of 2 documents");
    expect(notifier.writesTo(message.messageId).map((write) => write.text)).toEqual([
      "queued",
      "Indexing 1/2",
      "✅ Indexed 2 of 2 documents",
    ]);
    expect(entries.filter((entry) => entry.message === "could not reserve an edit slot")).toHaveLength(2);
    client.disconnect();
  });
});
