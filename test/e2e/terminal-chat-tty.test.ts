import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../support/e2e-helpers.js";
import { type OpenAiStandIn, startOpenAiStandIn } from "../support/openai-stand-in.js";

const ROOT = join(import.meta.dirname, "../..");

const hasScript = (() => {
  try {
    execFileSync("script", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

const ESCAPE = String.fromCharCode(27);
const ANSI_SEQUENCE = new RegExp(`${ESCAPE}(?:\\[[0-9;?]*[A-Za-z]|[78])`, "g");
const plain = (text: string) => text.replace(ANSI_SEQUENCE, "").replace(/\r/g, "");
/** The words on screen, however the terminal wrapped them. */
const words = (text: string) => plain(text).replace(/\s+/g, " ");

/**
 * `npm run chat` on a real pseudo-terminal (util-linux `script`), typed into as a person would:
 * the prompt, the echo of what was typed, Markdown rendered for the terminal, a progress bar while
 * a folder is indexed, and ↑ bringing back the previous line.
 */
describe.runIf(hasScript)("npm run chat on a terminal", () => {
  let standIn: OpenAiStandIn;
  let directory: string;
  let child: ChildProcess;
  let screen = "";

  beforeAll(async () => {
    standIn = await startOpenAiStandIn({ apiKey: "sk-test-key" });
    standIn.setResponder(() => ({
      kind: "text",
      text: "Here is **the plan**:\n\n1. Write it down\n2. Ship it\n\n| step | owner |\n|---|---|\n| write | Ana |\n\nRun `npm test` first.",
      deltas: 6,
    }));
    directory = mkdtempSync(join(tmpdir(), "teammate-tty-"));
    mkdirSync(join(directory, "docs/guides"), { recursive: true });
    writeFileSync(join(directory, "docs/deploys.md"), "# Deploys\n\nWe deploy on Tuesdays after standup.\n");
    writeFileSync(
      join(directory, "docs/guides/oncall.md"),
      "# On call\n\nThe on-call person carries the pager.\n",
    );
    writeFileSync(join(directory, "docs/guides/notes.txt"), "Parking is behind building B.\n");
    writeFileSync(join(directory, "docs/image.png"), "not a document");
    mkdirSync(join(directory, "policy"));
    writeFileSync(join(directory, "policy/leave.md"), "# Leave\n\nAsk your lead two weeks ahead.\n");
    // The pseudo-terminal gets a size, as a real window has one.
    const command = `stty cols 100 rows 40; exec ${join(ROOT, "node_modules/.bin/tsx")} ${join(ROOT, "src/chat.ts")}`;
    child = spawn("script", ["-qfec", command, "/dev/null"], {
      cwd: directory,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: directory,
        TERM: "xterm-256color",
        COLUMNS: "100",
        LINES: "40",
        OPENAI_BASE_URL: standIn.baseUrl,
        OPENAI_API_KEY: "sk-test-key",
        DATA_DIR: join(directory, "data"),
        ENABLE_TOOLS: "false",
      },
    });
    child.stdout?.on("data", (chunk: Buffer) => {
      screen += chunk.toString("utf8");
    });
    await waitFor(() => plain(screen).includes("you> "), "the first prompt", 120_000);
  }, 150_000);

  afterAll(async () => {
    if (process.env.TTY_SCREEN_DUMP) writeFileSync(process.env.TTY_SCREEN_DUMP, screen);
    child?.kill("SIGKILL");
    await standIn?.close();
    rmSync(directory, { recursive: true, force: true });
  });

  /** Types a line and returns what the screen showed until the next prompt after the reply. */
  async function type(line: string, what: string): Promise<string> {
    const before = screen.length;
    child.stdin?.write(`${line}\r`);
    const replied = () => {
      const since = plain(screen.slice(before));
      const reply = since.indexOf("teammate>");
      return reply >= 0 && since.indexOf("you> ", reply) > reply;
    };
    await waitFor(replied, what, 60_000);
    return screen.slice(before);
  }

  it("starts with a banner that says where answers come from and what to type", () => {
    const text = plain(screen);
    expect(text).toContain(`Answers come from gpt-4.1-mini at ${standIn.baseUrl}`);
    expect(text).toContain("`index <file or folder>`");
  });

  it("renders the answer's Markdown for the terminal: bold, numbered list, table, code", async () => {
    const output = await type("what is the plan?", "the answer");
    const text = words(output);
    expect(text).toContain("what is the plan?");
    expect(text).toContain("No documents are indexed here yet, so this answer is from general knowledge");
    expect(output).toContain("\x1b[1mthe plan");
    expect(text).not.toContain("**the plan**");
    expect(text).toMatch(/1\. Write it down 2\. Ship it/);
    expect(text).toContain("┌");
    expect(text).not.toContain("|---|");
    expect(text).not.toContain("`npm test`");
  }, 90_000);

  it("brings the previous line back with the up arrow", async () => {
    const output = await type("\x1b[A", "the recalled line's answer");
    expect(plain(output)).toContain("what is the plan?");
    expect(
      standIn
        .chatRequests()
        .filter((request) => JSON.stringify(request.messages).includes("what is the plan?")).length,
    ).toBeGreaterThanOrEqual(2);
  }, 90_000);
  it("indexes a folder with a progress bar and keeps the typed words on screen", async () => {
    const output = await type("index docs", "the folder to be indexed");
    const text = words(output);
    expect(text).toContain("index docs");
    expect(text).toContain("Indexed 3 documents (3 chunks) from docs for the whole workspace");
    // cli-progress draws its bar with block characters.
    expect(output).toMatch(/[█░]{5,}/);
    expect(text).not.toContain("Downloading");
  }, 90_000);

  it("counts one document and one chunk in the singular", async () => {
    const text = words(await type("index policy", "the one-document folder to be indexed"));
    expect(text).toContain("Indexed 1 document (1 chunk) from policy for the whole workspace");
  }, 90_000);
});
