import { execFile } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../..");

// Libraries a process loads only when it first needs them: each costs 0.1-1.5 s of every start-up,
// and a restart's time to its first answer is issue 14's figure.
const LOADED_ON_FIRST_USE = [
  "mathjs",
  "html-to-text",
  "htmlparser2",
  "unpdf",
  "@modelcontextprotocol/sdk",
  "@octokit/rest",
  "piscina",
  "csv-parse",
];
// Libraries loaded only when the configuration asks for them (a platform's token, REDIS_URL, QDRANT_URL),
// by the code that starts that part: importing the bot's modules loads none of them.
const LOADED_WHEN_CONFIGURED = [
  "@slack/bolt",
  "@slack/web-api",
  "slackify-markdown",
  "discord.js",
  "bullmq",
  "ioredis",
  "@qdrant/js-client-rest",
];

describe("start-up", () => {
  it("loading the bot does not load the calculator's, the extractors', MCP's or unconfigured services' libraries", async () => {
    const recorder = pathToFileURL(join(ROOT, "test/support/import-recorder.mjs")).href;
    const register = `data:text/javascript,import{register}from"node:module";register(${JSON.stringify(recorder)});`;
    const { stderr } = await promisify(execFile)(
      process.execPath,
      [
        "--import",
        "tsx",
        "--import",
        register,
        "--input-type=module",
        "-e",
        // The bot's entry point, which imports the application: both module graphs are checked.
        `await import(${JSON.stringify(pathToFileURL(join(ROOT, "src/main.ts")).href)});`,
      ],
      { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 },
    );
    const packages = new Set(
      stderr
        .split("\n")
        .filter((line) => line.startsWith("resolved ") && line.includes("/node_modules/"))
        .map((line) => {
          const [first = "", second = ""] = (line.split("/node_modules/").at(-1) ?? "").split("/");
          return first.startsWith("@") ? `${first}/${second}` : first;
        }),
    );
    // The recorder saw the application's own dependencies, so an empty set cannot pass by accident.
    expect(packages).toContain("openai");
    for (const library of [...LOADED_ON_FIRST_USE, ...LOADED_WHEN_CONFIGURED]) {
      expect(packages, library).not.toContain(library);
    }
  }, 60_000);
});
