import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSlackAdapter } from "../../src/adapters/slack/slack-platform-adapter.js";
import { silentLogger } from "../../src/core/ports/logger.js";
import { isEntryPoint } from "../../src/process-lifecycle.js";
import { waitFor } from "../support/e2e-helpers.js";

const ROOT = join(import.meta.dirname, "../..");

describe("npm start for a newcomer", () => {
  let workDirectory: string;

  beforeAll(() => {
    // The checkout is reached through paths with spaces, started from another folder holding .env.
    workDirectory = mkdtempSync(join(tmpdir(), "teammate newcomer "));
  });
  afterAll(() => {
    rmSync(workDirectory, { recursive: true, force: true });
  });

  it("recognises its entry point through a path with spaces (and a symbolic link)", () => {
    const link = join(workDirectory, "with space");
    symlinkSync(ROOT, link, "dir");
    const script = join(link, "src", "main.ts");
    const real = pathToFileURL(join(ROOT, "src", "main.ts")).href;
    // What the old check compared: a percent-encoded URL against the raw path.
    expect(real === `file://${script}`).toBe(false);
    expect(isEntryPoint(real, script)).toBe(true);
    expect(isEntryPoint(real, join(link, "src", "chat.ts"))).toBe(false);
  });

  it("reads .env from the working directory, names the half-configured platform, and stops on SIGTERM", async () => {
    const link = join(workDirectory, "checkout with space");
    symlinkSync(ROOT, link, "dir");
    const dataDirectory = join(workDirectory, "data");
    writeFileSync(
      join(workDirectory, ".env"),
      `# as a newcomer writes it\nSLACK_BOT_TOKEN=xoxb-from-dotenv\nDISCORD_APPLICATION_ID=123456789012345678\nPORT=0\nDATA_DIR=${dataDirectory}\n`,
    );
    const child: ChildProcess = spawn(join(ROOT, "node_modules/.bin/tsx"), [join(link, "src/main.ts")], {
      cwd: workDirectory,
      env: { PATH: process.env.PATH ?? "", HOME: workDirectory },
    });
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      await waitFor(
        () => output.includes("teammate started") || child.exitCode !== null,
        "start-up",
        120_000,
      );
      expect(output).toContain("teammate started");
      expect(output).toContain("Slack is off: SLACK_BOT_TOKEN is set but neither SLACK_SIGNING_SECRET");
      expect(output).toContain("Discord is off: DISCORD_APPLICATION_ID is set but DISCORD_TOKEN is not");
      expect(output).not.toContain("no chat platform configured");
      expect(output).not.toContain("xoxb-from-dotenv");
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    } finally {
      child.kill("SIGKILL");
    }
  }, 150_000);

  it("says Slack cannot be reached, with the address, instead of blaming the token", async () => {
    const slack = createSlackAdapter({
      botToken: "xoxb-not-checked",
      signingSecret: "secret",
      appToken: undefined,
      apiUrl: "http://127.0.0.1:9/api/",
      port: 0,
      adminUserIds: [],
      assistant: {
        handle: async () => {},
        handleAction: async () => {},
      },
      logger: silentLogger,
      clientRetries: 0,
    });
    const error = await slack.start().then(
      () => undefined,
      (reason: unknown) => reason as Error,
    );
    expect(error?.message).toMatch(
      /^Cannot reach Slack at http:\/\/127\.0\.0\.1:9\/api\/ \(.+\): check the network/,
    );
    expect(error?.message).not.toMatch(/token/i);
  });
});
