import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { NO_DOCUMENTS_NOTE } from "../../src/core/chains/answer-chain.js";
import { waitFor } from "../support/e2e-helpers.js";
import { type OpenAiStandIn, startOpenAiStandIn } from "../support/openai-stand-in.js";
import { type SlackBot, SlackDriver, startSlackBot } from "../support/slack-e2e-driver.js";
import { type SlackStandIn, startSlackStandIn } from "../support/slack-stand-in.js";

const SIGNING_SECRET = "fallback-signing-secret";
const CHANNEL = "C700";
/** How long the primary may stay silent before the backup is asked; short so the stall case is quick. */
const FALLBACK_AFTER_MS = 2_000;

describe("LLM_FALLBACKS on Slack (startBot, real core, two OpenAI stand-ins)", () => {
  let slack: SlackStandIn;
  let primary: OpenAiStandIn;
  let backup: OpenAiStandIn;
  let dataDirectory: string;
  let bot: SlackBot;
  let driver: SlackDriver;

  beforeAll(async () => {
    slack = await startSlackStandIn({
      botToken: "xoxb-fallback-1111-token",
      users: [{ id: "W222", name: "ada", displayName: "Ada" }],
    });
    primary = await startOpenAiStandIn({ apiKey: "sk-primary" });
    primary.setResponder(() => ({ kind: "text", text: "The primary endpoint answered.", deltas: 3 }));
    backup = await startOpenAiStandIn({ apiKey: "sk-backup" });
    backup.setResponder(() => ({ kind: "text", text: "The backup endpoint answered.", deltas: 3 }));
    dataDirectory = mkdtempSync(join(tmpdir(), "teammate-fallback-"));
    bot = await startSlackBot(
      loadConfig({
        SLACK_BOT_TOKEN: "xoxb-fallback-1111-token",
        SLACK_SIGNING_SECRET: SIGNING_SECRET,
        SLACK_API_URL: slack.apiUrl,
        OPENAI_BASE_URL: primary.baseUrl,
        OPENAI_API_KEY: "sk-primary",
        LLM_FALLBACKS: JSON.stringify([
          { name: "backup", baseUrl: backup.baseUrl, apiKey: "sk-backup", model: "backup-model" },
        ]),
        LLM_FALLBACK_AFTER_MS: String(FALLBACK_AFTER_MS),
        PORT: "0",
        DATA_DIR: dataDirectory,
      }),
    );
    driver = new SlackDriver(slack, `${bot.origin}/slack/events`, SIGNING_SECRET, "fallback");
  });

  afterAll(async () => {
    await bot?.stop();
    await slack?.close();
    await primary?.close();
    await backup?.close();
    rmSync(dataDirectory, { recursive: true, force: true });
  });

  /** Asks in a new thread; returns the thread's visible messages and what `why` says there. */
  async function askAndExplain(question: string) {
    const thread = await driver.mention({ text: question, user: "W222", channel: CHANNEL });
    await waitFor(
      () => driver.answered(CHANNEL, thread, "endpoint answered."),
      `the answer to "${question}"`,
    );
    const replies = slack.visibleMessages(CHANNEL, thread).map((message) => message.text);
    const ephemerals = () => slack.messages.filter((message) => message.kind === "ephemeral");
    const before = ephemerals().length;
    await driver.mention({ text: "why", user: "W222", channel: CHANNEL, threadTs: thread });
    await waitFor(() => ephemerals().length > before, "the answer to `why`");
    return { replies, explanation: ephemerals().at(-1)?.text ?? "" };
  }

  const primaryHost = () => new URL(primary.baseUrl).host;

  it("answers from the primary while it is healthy, and `why` names it", async () => {
    const { replies, explanation } = await askAndExplain("healthy day?");
    expect(replies).toEqual([`${NO_DOCUMENTS_NOTE}The primary endpoint answered.`]);
    expect(explanation).toContain(`via primary (${primaryHost()})`);
    expect(backup.chatRequests()).toHaveLength(0);
  });

  it.each([
    ["a rate limit (429)", 429],
    ["a server error (500)", 500],
  ])(
    "moves to the backup on %s before the first token; the user sees one answer and `why` names the backup",
    async (_label, status) => {
      const backupBefore = backup.chatRequests().length;
      // Every attempt the SDK makes (the first and its two retries) gets the fault.
      primary.injectFault({ status, times: 3, path: "/chat/completions" });
      const { replies, explanation } = await askAndExplain(`what happens on ${status}?`);

      expect(replies).toEqual([`${NO_DOCUMENTS_NOTE}The backup endpoint answered.`]);
      expect(explanation).toMatch(/^Why that answer/);
      expect(explanation).toContain("Model backup-model via fallback 1 (backup)");
      expect(backup.chatRequests().length).toBe(backupBefore + 1);
      expect(backup.chatRequests().at(-1)?.model).toBe("backup-model");
      expect(primary.requests.filter((request) => request.status === status)).toHaveLength(3);
    },
  );

  it("moves to the backup when the primary stalls before its first token", async () => {
    const backupBefore = backup.chatRequests().length;
    primary.enqueue({ kind: "text", text: "The primary answered far too late.", delayMs: 60_000 });
    const started = Date.now();
    const { replies, explanation } = await askAndExplain("are you there?");

    expect(replies).toEqual([`${NO_DOCUMENTS_NOTE}The backup endpoint answered.`]);
    expect(explanation).toContain("Model backup-model via fallback 1 (backup)");
    expect(backup.chatRequests().length).toBe(backupBefore + 1);
    // It waited for the primary's silence, not for the primary's whole 60 s delay.
    expect(Date.now() - started).toBeGreaterThanOrEqual(FALLBACK_AFTER_MS);
    expect(slack.violations).toEqual([]);
    primary.assertNoViolations();
    backup.assertNoViolations();
  });
});
