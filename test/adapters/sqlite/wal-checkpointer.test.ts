import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { openSqliteDatabase } from "../../../src/adapters/sqlite/open-sqlite-database.js";
import { startWalCheckpointer } from "../../../src/adapters/sqlite/wal-checkpointer.js";
import { silentLogger } from "../../../src/core/ports/logger.js";
import { recordingLogger } from "../../support/e2e-helpers.js";

const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

function databaseFile(): string {
  const directory = mkdtempSync(join(tmpdir(), "teammate-wal-"));
  directories.push(directory);
  return join(directory, "teammate.sqlite");
}

/** A database file with the `filler` table the tests write to. */
function fillerDatabase(): { path: string; database: ReturnType<typeof openSqliteDatabase> } {
  const path = databaseFile();
  const database = openSqliteDatabase(path);
  database.exec("CREATE TABLE filler (body TEXT)");
  return { path, database };
}

/** Commits `count` rows of about a page each, one commit a row (as messages do). */
function writePages(database: ReturnType<typeof openSqliteDatabase>, count: number): void {
  const insert = database.prepare("INSERT INTO filler (body) VALUES (?)");
  for (let index = 0; index < count; index++) insert.run("x".repeat(3_000));
}

describe("WAL checkpoints off the event loop", () => {
  it("leaves the log to the thread: commits past 1,000 pages do not checkpoint, the thread does", async () => {
    const { path, database } = fillerDatabase();
    const checkpointer = startWalCheckpointer(path, database, silentLogger);
    await once(checkpointer.events, "ready");
    expect(database.pragma("wal_autocheckpoint", { simple: true })).toBeGreaterThan(1_000);

    // Without the thread, SQLite would copy the log back inside the commit that passed 1,000 pages.
    writePages(database, 1_500);
    expect(statSync(`${path}-wal`).size).toBeGreaterThan(1_500 * 4_096);

    const [checkpoint] = (await once(checkpointer.events, "checkpointed")) as [{ frames: number }];
    expect(checkpoint.frames).toBeGreaterThan(1_500);
    await checkpointer.close();
    database.close();
  });

  it("waits for the log to go quiet while commits keep coming, then checkpoints", async () => {
    const { path, database } = fillerDatabase();
    const quietMs = 1_500;
    const checkpointer = startWalCheckpointer(path, database, silentLogger, { quietMs, maxDelayMs: 60_000 });
    await once(checkpointer.events, "ready");
    const checkpoints: Array<{ at: number; quiet: boolean }> = [];
    checkpointer.events.on("checkpointed", ({ quiet }: { quiet: boolean }) => {
      checkpoints.push({ at: Date.now(), quiet });
    });
    // Past the threshold, then a commit every 20 ms for longer than several rounds of the thread.
    writePages(database, 1_200);
    let lastWriteAt = Date.now();
    for (let commit = 0; commit < 30; commit++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      writePages(database, 1);
      lastWriteAt = Date.now();
    }
    expect(checkpoints).toEqual([]);

    await once(checkpointer.events, "checkpointed");
    expect(checkpoints).toHaveLength(1);
    expect(checkpoints[0]?.quiet).toBe(true);
    // Clock rounding between the file's modification time and this process's: a few milliseconds.
    expect(checkpoints[0]?.at ?? 0).toBeGreaterThanOrEqual(lastWriteAt + quietMs - 5);
    await checkpointer.close();
    database.close();
  });

  it("checkpoints at its longest delay under commits that never pause", async () => {
    const { path, database } = fillerDatabase();
    const checkpointer = startWalCheckpointer(path, database, silentLogger, {
      quietMs: 60_000,
      maxDelayMs: 300,
    });
    await once(checkpointer.events, "ready");
    writePages(database, 1_200);
    const writing = setInterval(() => writePages(database, 1), 20);
    try {
      const [checkpoint] = (await once(checkpointer.events, "checkpointed")) as [{ quiet: boolean }];
      expect(checkpoint.quiet).toBe(false);
    } finally {
      clearInterval(writing);
    }
    await checkpointer.close();
    database.close();
  });

  it("restarts the log under commits that never pause", async () => {
    const { path, database } = fillerDatabase();
    const checkpointer = startWalCheckpointer(path, database, silentLogger, {
      quietMs: 60_000,
      maxDelayMs: 100,
    });
    await once(checkpointer.events, "ready");
    // Without the connection's own backstop checkpoint (16,000 pages of log), only the thread can restart
    // the log, however long a loaded machine takes to get to its first round.
    database.pragma("wal_autocheckpoint = 0");
    let checkpoints = 0;
    // A checkpoint that found the files busy reports a `log` of -1; the next round tries again.
    checkpointer.events.on("checkpointed", ({ log }: { log: number }) => {
      if (log > 0) checkpoints++;
    });
    // Batches of commits a millisecond apart (a row of about a page each, three pages of log with the
    // tree's pages above it), about what a thread of messages with an instant LLM commits: one lands
    // during every checkpoint's copy, so the log restarts only if the thread finishes what it was
    // overtaken by.
    let written = 0;
    while (checkpoints < 1) {
      writePages(database, 10);
      written += 10;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    // A checkpoint's `log` is the log's length in pages, since it last started from its beginning.
    const [{ log }] = database.pragma("wal_checkpoint(PASSIVE)") as [{ log: number }];
    expect(log).toBeLessThan(written / 2);
    await checkpointer.close();
    database.close();
  });

  it("starts its thread without the process's flags (under tsx, the loader's --import)", async () => {
    // A process started as `npm start` is (node with tsx's loader), plus one more --import that throws in
    // any thread it is loaded in: the checkpoint thread gets ready only if it inherits none of them.
    const path = databaseFile();
    const directory = dirname(path);
    const source = (file: string) =>
      pathToFileURL(fileURLToPath(new URL(`../../../src/${file}`, import.meta.url))).href;
    const marker = join(directory, "not-in-threads.mjs");
    writeFileSync(
      marker,
      `import { isMainThread } from "node:worker_threads";\nif (!isMainThread) throw new Error("a flag of the parent reached the thread");\n`,
    );
    const script = join(directory, "start-checkpointer.mts");
    writeFileSync(
      script,
      [
        `import { openSqliteDatabase } from ${JSON.stringify(source("adapters/sqlite/open-sqlite-database.ts"))};`,
        `import { startWalCheckpointer } from ${JSON.stringify(source("adapters/sqlite/wal-checkpointer.ts"))};`,
        `import { silentLogger } from ${JSON.stringify(source("core/ports/logger.ts"))};`,
        `const database = openSqliteDatabase(${JSON.stringify(path)});`,
        `const checkpointer = startWalCheckpointer(${JSON.stringify(path)}, database, silentLogger);`,
        `const outcome = await new Promise((resolve) => {`,
        `  checkpointer.events.once("ready", () => resolve("ready"));`,
        `  checkpointer.events.once("stopped", () => resolve("stopped"));`,
        `});`,
        `console.log(outcome);`,
        `await checkpointer.close();`,
        `database.close();`,
      ].join("\n"),
    );
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "--import", pathToFileURL(marker).href, script],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const [code] = (await once(child, "exit")) as [number | null];
    expect(output.trim()).toBe("ready");
    expect(code).toBe(0);
  });

  it("hands checkpoints back to the connection, with a warning, when the thread cannot run", async () => {
    const path = databaseFile();
    const database = openSqliteDatabase(path);
    const entries: Array<Record<string, unknown>> = [];
    // The thread opens the file only if it exists: a path beside the real one stops it at once.
    const checkpointer = startWalCheckpointer(`${path}.missing`, database, recordingLogger(entries));
    database.pragma("wal_autocheckpoint = 5");
    await once(checkpointer.events, "stopped");
    expect(database.pragma("wal_autocheckpoint", { simple: true })).toBe(1_000);
    expect(JSON.stringify(entries)).toContain("the WAL checkpoint thread stopped");
    await checkpointer.close();
    database.close();
  });
});
