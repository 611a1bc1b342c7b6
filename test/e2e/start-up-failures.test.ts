import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../..");

/** A loopback port nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * `npm start` (tsx src/main.ts), or `npm run chat` (src/chat.ts) with `exit` typed, with only these
 * variables; resolves with its exit code and output.
 */
async function npmStart(
  directory: string,
  environment: Record<string, string>,
  entry = "src/main.ts",
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(join(ROOT, "node_modules/.bin/tsx"), [join(ROOT, entry)], {
    cwd: directory,
    env: { PATH: process.env.PATH ?? "", HOME: directory, PORT: "0", ...environment },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  child.stdin.end("exit\n");
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, stdout, stderr };
}

describe("npm start that cannot start says why in one line and exits non-zero", () => {
  let directory: string;

  beforeAll(() => {
    directory = mkdtempSync(join(tmpdir(), "teammate-start-up-failures-"));
  });
  afterAll(() => {
    rmSync(directory, { recursive: true, force: true });
  });

  /** The last line says why; before it at most the wait's own log line (Redis), never a stack. */
  function expectOneLine(stderr: string, pattern: RegExp): void {
    const lines = stderr.split("\n").filter((line) => line.trim() !== "");
    const reasons = lines.filter((line) => line.startsWith("teammate could not start: "));
    expect(reasons, stderr).toHaveLength(1);
    expect(lines.at(-1)).toBe(reasons[0]);
    expect(reasons[0]).toMatch(pattern);
    expect(lines.length).toBeLessThanOrEqual(2);
    expect(stderr).not.toMatch(/\n\s+at |"stack"/);
  }

  it("Redis unreachable, Qdrant unreachable, DATA_DIR unwritable: each names the variable and the cause", async () => {
    const [redisPort, qdrantPort] = await Promise.all([closedPort(), closedPort()]);
    // A path below a regular file cannot be made a directory, whoever runs the test (root included).
    const file = join(directory, "a-file");
    writeFileSync(file, "not a directory");
    const [redis, qdrant, dataDirectory] = await Promise.all([
      npmStart(directory, {
        DATA_DIR: join(directory, "redis-data"),
        REDIS_URL: `redis://127.0.0.1:${redisPort}`,
        REDIS_STARTUP_WAIT_MS: "1000",
      }),
      npmStart(directory, {
        DATA_DIR: join(directory, "qdrant-data"),
        QDRANT_URL: `http://127.0.0.1:${qdrantPort}`,
      }),
      npmStart(directory, { DATA_DIR: join(file, "data") }),
    ]);

    expect(redis.code).toBe(1);
    expectOneLine(redis.stderr, /Redis at redis:\/\/127\.0\.0\.1:\d+ \(connect ECONNREFUSED .*\).*REDIS_URL/);
    expect(redis.stdout).not.toContain("teammate started");

    expect(qdrant.code).toBe(1);
    expectOneLine(qdrant.stderr, /Qdrant .*127\.0\.0\.1:\d+: ECONNREFUSED.*QDRANT_URL/);
    expect(qdrant.stdout).not.toContain("teammate started");

    expect(dataDirectory.code).toBe(1);
    expectOneLine(dataDirectory.stderr, /SQLite database at .*\(ENOTDIR: not a directory.*\).*DATA_DIR/);
    expect(dataDirectory.stdout).not.toContain("teammate started");
  }, 60_000);

  it("the terminal chat says the same, and a file a newer release wrote is refused by name", async () => {
    const file = join(directory, "another-file");
    writeFileSync(file, "not a directory");
    // A file whose knowledge tables a newer release has moved on: made by a chat, then marked so.
    const newerDirectory = join(directory, "newer-data");
    const made = await npmStart(directory, { DATA_DIR: newerDirectory }, "src/chat.ts");
    expect(made.code, made.stderr).toBe(0);
    const database = new Database(join(newerDirectory, "teammate.sqlite"));
    database.prepare("UPDATE schema_versions SET version = version + 1 WHERE component = 'knowledge'").run();
    database.close();

    const [chat, newerChat, newerBot] = await Promise.all([
      npmStart(directory, { DATA_DIR: join(file, "data") }, "src/chat.ts"),
      npmStart(directory, { DATA_DIR: newerDirectory }, "src/chat.ts"),
      npmStart(directory, { DATA_DIR: newerDirectory }),
    ]);
    expect(chat.code).toBe(1);
    expectOneLine(chat.stderr, /SQLite database at .*\(ENOTDIR: not a directory.*\).*DATA_DIR/);
    for (const run of [newerChat, newerBot]) {
      expect(run.code).toBe(1);
      expectOneLine(run.stderr, /knowledge tables .* schema version \d+, written by a newer teammate/);
    }
  }, 60_000);
});
