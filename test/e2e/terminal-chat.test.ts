import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OpenAiStandIn, startOpenAiStandIn } from "../support/openai-stand-in.js";

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, "../..");

/** Runs `npm run chat --silent` exactly as a user would, with piped input and a clean environment. */
async function chat(input: string, environment: Record<string, string>) {
  const child = run("npm", ["run", "chat", "--silent"], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...environment },
    timeout: 60_000,
  });
  child.child.stdin?.end(input);
  return child;
}

describe("npm run chat (scripted, piped input)", () => {
  let standIn: OpenAiStandIn;
  let dataDirectory: string;

  beforeAll(async () => {
    standIn = await startOpenAiStandIn({ apiKey: "sk-test-key" });
    dataDirectory = mkdtempSync(join(tmpdir(), "teammate-chat-"));
  });
  afterAll(async () => {
    await standIn.close();
    rmSync(dataDirectory, { recursive: true, force: true });
  });

  it("answers two messages, streamed, and the second request carries the first exchange", async () => {
    standIn.setResponder((body) => {
      const last = body.messages.at(-1);
      return {
        kind: "text",
        text: `Reply to: ${typeof last?.content === "string" ? last.content : ""}`,
        deltas: 4,
      };
    });
    const { stdout, stderr } = await chat("my favourite colour is teal\nwhat is my favourite colour?\n", {
      OPENAI_BASE_URL: standIn.baseUrl,
      OPENAI_API_KEY: "sk-test-key",
      DATA_DIR: dataDirectory,
      // What `.env.example` sets for the bot: the chat still shows no info lines between answers.
      LOG_LEVEL: "info",
    });
    expect(`${stdout}${stderr}`).not.toMatch(/"(msg|message)":"question"|INFO/);
    const answers = stdout.split("teammate> ").slice(1);
    expect(answers).toHaveLength(2);
    // Nothing is indexed, so each answer first says it comes from general knowledge.
    expect(answers[0]).toMatch(/^_No documents are indexed here yet/);
    expect(answers[0]).toContain("my favourite colour is teal");
    expect(answers[1]).toContain("what is my favourite colour?");

    const requests = standIn.chatRequests();
    expect(requests).toHaveLength(2);
    expect(requests.every((request) => request.stream === true)).toBe(true);
    const second = JSON.stringify(requests[1]?.messages);
    expect(second).toContain("my favourite colour is teal");
    expect(second).toContain("Reply to:");
    standIn.assertNoViolations();
  });

  it("indexes README.md, answers about it with a numbered source, and says when the docs have nothing", async () => {
    standIn.setResponder(undefined);
    const knowledgeDirectory = mkdtempSync(join(tmpdir(), "teammate-chat-knowledge-"));
    try {
      const { stdout } = await chat(
        "index README.md\nwhat does npm run chat do?\nwhat is the capital of Mongolia?\n",
        { OPENAI_BASE_URL: standIn.baseUrl, OPENAI_API_KEY: "sk-test-key", DATA_DIR: knowledgeDirectory },
      );
      const answers = stdout.split("teammate> ").slice(1);
      expect(answers[0]).toMatch(/^Indexed \*\*teammate\*\* \(`d[0-9a-f]+`, \d+ chunks\) from README\.md/);
      expect(answers[1]).toContain("Sources:\n  [1] teammate — README.md");
      expect(answers[2]).toContain("I found nothing about that in the indexed docs.");
      expect(answers[2]).not.toContain("Sources:");
      // The answer request carried numbered passages from README.md.
      const answerRequest = standIn
        .chatRequests()
        .find(
          (request) =>
            JSON.stringify(request.messages).includes("what does npm run chat do?") && request.stream,
        );
      expect(JSON.stringify(answerRequest?.messages)).toContain('<passage number=\\"1\\"');
      standIn.assertNoViolations();
    } finally {
      rmSync(knowledgeDirectory, { recursive: true, force: true });
    }
  });

  it("reads a file attached with --file for that answer only, cites it, and leaves it unindexed", async () => {
    standIn.setResponder((body) => ({
      kind: "text",
      text: JSON.stringify(body.messages).includes('title=\\"package.json\\"')
        ? "The chat script is tsx src/chat.ts [1]."
        : "I don't know.",
    }));
    const fileDirectory = mkdtempSync(join(tmpdir(), "teammate-chat-file-"));
    try {
      const { stdout } = await chat(
        "help\n--file package.json what does npm run chat start?\nwhat about npm start?\n",
        { OPENAI_BASE_URL: standIn.baseUrl, OPENAI_API_KEY: "sk-test-key", DATA_DIR: fileDirectory },
      );
      const answers = stdout.split("teammate> ").slice(1);
      expect(answers[0]).toContain("`--file <path>`");
      expect(answers[1]).toContain("The chat script is tsx src/chat.ts [1].");
      expect(answers[1]).toContain("[1] package.json — attached to the question");
      // Read for that answer only: the next question still finds nothing indexed.
      expect(answers[2]).toMatch(/^_No documents are indexed here yet/);
      standIn.assertNoViolations();
    } finally {
      rmSync(fileDirectory, { recursive: true, force: true });
    }
  });

  it("without an endpoint, starts anyway, exits 0 and names the variables to set", async () => {
    const { stdout, stderr } = await chat("hello\n", { DATA_DIR: dataDirectory });
    const all = stdout + stderr;
    expect(all).toContain("OPENAI_API_KEY");
    expect(all).toContain("OPENAI_BASE_URL");
    expect(all).toContain("Ollama");
  });
});
