import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BullMqJobQueue } from "../../src/adapters/bullmq/bullmq-job-queue.js";
import { SlackNotifier } from "../../src/adapters/notifiers/slack-notifier.js";
import { OpenAiFineTuningProvider } from "../../src/adapters/openai/openai-fine-tuning-provider.js";
import { OpenAiLlmProvider } from "../../src/adapters/openai/openai-llm-provider.js";
import { openSqliteDatabase } from "../../src/adapters/sqlite/open-sqlite-database.js";
import { SqliteFineTuneStore } from "../../src/adapters/sqlite/sqlite-fine-tune-store.js";
import { SqliteMemoryStore } from "../../src/adapters/sqlite/sqlite-memory-store.js";
import { SqliteUsageStore } from "../../src/adapters/sqlite/sqlite-usage-store.js";
import { createAssistant } from "../../src/core/assistant.js";
import { createFineTuneCommands } from "../../src/core/fine-tuning/fine-tune-commands.js";
import { registerFineTuneJobs } from "../../src/core/fine-tuning/fine-tune-jobs.js";
import { createAlerter } from "../../src/core/operations/alerts.js";
import type { InboundMessage } from "../../src/core/ports/assistant-handler.js";
import { silentLogger } from "../../src/core/ports/logger.js";
import { waitFor } from "../contracts/job-queue.contract.js";
import { obliterateQueue, REDIS_URL, uniqueQueueNames } from "../support/bullmq-test-queue.js";
import { type OpenAiStandIn, startOpenAiStandIn } from "../support/openai-stand-in.js";
import { smallestGap } from "../support/recording-notifier.js";
import { RecordingSink } from "../support/recording-sink.js";
import { type SlackStandIn, startSlackStandIn } from "../support/slack-stand-in.js";

const BOT_TOKEN = "xoxb-fine-tuning-test";
const API_KEY = "sk-test-fine-tuning-0000";
const BASE_MODEL = "gpt-4o-mini-2024-07-18";

describe("fine-tuning from chat, end to end (BullMQ on real Redis, OpenAI and Slack stand-ins)", () => {
  let openai: OpenAiStandIn;
  let slack: SlackStandIn;
  let queue: BullMqJobQueue;
  const names = uniqueQueueNames();
  const database = openSqliteDatabase(":memory:");
  const store = new SqliteMemoryStore(database);
  const fineTuneStore = new SqliteFineTuneStore(database);
  let eventCounter = 0;

  const channel = { platform: "slack" as const, workspaceId: "T111", channelId: "C42" };
  function inbound(text: string, overrides: Partial<InboundMessage> = {}): InboundMessage {
    eventCounter += 1;
    return {
      ...channel,
      threadId: undefined,
      userId: "UADMIN",
      userName: "Ada",
      text,
      attachments: [],
      isAdmin: true,
      eventId: `Ev${eventCounter}`,
      isCommand: true,
      ...overrides,
    };
  }

  beforeEach(async () => {
    openai = await startOpenAiStandIn({ apiKey: API_KEY });
    slack = await startSlackStandIn({ botToken: BOT_TOKEN });
  });

  afterEach(async () => {
    await queue.close();
    await obliterateQueue(names);
    await openai.close();
    await slack.close();
    database.close();
  });

  it("dataset → validation with line numbers → upload → job → running → succeeded → channel told → finetune use → next answer uses the model", async () => {
    // Two polls per status: each poll reads the job and its events, and each read advances one step.
    openai.scriptFineTuning({ outcome: "succeeded", pollsPerStatus: 2 });
    const provider = new OpenAiFineTuningProvider({
      apiKey: API_KEY,
      baseURL: openai.baseUrl,
      filePollIntervalMs: 50,
    });
    const notifier = new SlackNotifier({ botToken: BOT_TOKEN, apiUrl: slack.apiUrl });
    queue = new BullMqJobQueue({ redisUrl: REDIS_URL, logger: silentLogger, runWorkers: true, ...names });
    // The workspace's admins chose an alert channel: they hear about the finished model there too.
    const usage = new SqliteUsageStore(database);
    await usage.setAlertChannel(channel, "C-ADMIN");
    const alerts = createAlerter({
      channels: usage,
      notifier,
      claimOnce: (key, ttl) => store.claimEvent(key, ttl),
      logger: silentLogger,
    });
    registerFineTuneJobs(queue, {
      fineTuneStore,
      provider,
      notifier,
      alerts,
      logger: silentLogger,
      pollIntervalMs: 100,
    });
    queue.start();
    const llm = new OpenAiLlmProvider({
      apiKey: API_KEY,
      baseURL: openai.baseUrl,
      model: "gpt-4.1-mini",
      embeddingModel: undefined,
      timeoutMs: 10_000,
      maxRetries: 0,
      logger: silentLogger,
    });
    const assistant = createAssistant({
      store,
      llm,
      logger: silentLogger,
      promptTokenBudget: 6_000,
      allowGeneralKnowledge: true,
      commands: createFineTuneCommands({
        fineTuneStore,
        jobs: queue,
        notifier,
        provider,
        defaultBaseModel: BASE_MODEL,
      }),
    });
    const say = async (text: string, overrides: Partial<InboundMessage> = {}) => {
      const sink = new RecordingSink();
      await assistant.handle(inbound(text, overrides), sink);
      return sink.visible;
    };

    // Feedback: 12 answers with 👍, one with 👎, and one 👍 answer that is nothing but a citation.
    await store.updateSettings(channel, { persona: "You are the release team's assistant." });
    const answers = [
      ...Array.from({ length: 12 }, (_, index) => ({
        q: `How do I release service ${index}?`,
        a: `Run the release job for service ${index} [1].`,
        vote: "up" as const,
      })),
      { q: "Who owns billing?", a: "Nobody knows.", vote: "down" as const },
      { q: "Where is the runbook?", a: "[1]", vote: "up" as const },
    ];
    for (const [index, entry] of answers.entries()) {
      const id = `answer-${index}`;
      await store.saveAnswer({
        id,
        conversation: channel,
        askerId: "U2",
        question: entry.q,
        answer: entry.a,
        sources: [],
        model: "gpt-4.1-mini",
        at: 1_700_000_000_000 + index,
      });
      await store.recordVote({
        answerId: id,
        voterId: "U2",
        vote: entry.vote,
        at: 1_700_000_000_000 + index,
      });
    }
    // A thread an admin curates.
    const thread = { ...channel, threadId: "1700000000.000900" };
    await store.appendTurns(thread, [
      { role: "user", speakerId: "U3", speakerName: "Bo", text: "Can we ship on Fridays?", tokens: 6, at: 1 },
      {
        role: "assistant",
        speakerId: "teammate",
        speakerName: "teammate",
        text: "Only hotfixes, with a second reviewer.",
        tokens: 8,
        at: 2,
      },
    ]);
    expect(await say("finetune mark", { threadId: thread.threadId })).toContain("Marked this thread");

    // The citation-only answer becomes an empty assistant message on line 13 (12 good answers first).
    const dataset = await say("finetune dataset");
    expect(dataset).toContain("14 examples");
    expect(dataset).toContain("13 answers with 👍 (1 with 👎 left out)");
    expect(dataset).toContain("1 marked threads");
    expect(dataset).toMatch(/line 13: message 3 \(assistant\) has empty content/);
    expect(dataset).toMatch(/cost (about \$|under \$0\.01)/);
    const refused = await say("finetune start");
    expect(refused).toContain("I can't start yet");
    expect(refused).toContain("line 13");
    expect(openai.requests.filter((request) => request.path === "/v1/files")).toHaveLength(0);

    // Someone 👎s the bad answer: it drops out and the set is valid.
    await store.recordVote({ answerId: "answer-13", voterId: "U4", vote: "down", at: 1_700_000_001_000 });
    expect(await say("finetune dataset")).toContain("Valid.");

    const started = await say(`finetune start ${BASE_MODEL}`);
    expect(started).toContain("Started fine-tuning run");
    const run = await fineTuneStore.latestRun(channel);
    expect(run?.exampleCount).toBe(13);

    await waitFor(async () => (await fineTuneStore.latestRun(channel))?.status === "succeeded", 30_000);
    const finished = await fineTuneStore.latestRun(channel);
    // The run's state is saved first; the final edit follows within the one-second spacing.
    await waitFor(() => slack.messages.some((message) => message.text.startsWith("✅")), 5_000);
    const model = finished?.fineTunedModel ?? "";
    expect(model).toMatch(/^ft:gpt-4o-mini-2024-07-18:/);

    // What reached OpenAI: the file as fine-tune data, then a job with suffix and our run id.
    const upload = openai.requests.find(
      (request) => request.path === "/v1/files" && request.method === "POST",
    );
    expect(upload?.status).toBe(200);
    const uploaded = openai.fineTuning.listFiles();
    expect(uploaded).toHaveLength(1);
    expect(uploaded[0]?.purpose).toBe("fine-tune");
    const lines = uploaded[0]?.content.trim().split("\n") ?? [];
    expect(lines).toHaveLength(13);
    expect(JSON.parse(lines[0] ?? "{}").messages).toEqual([
      { role: "system", content: "You are the release team's assistant." },
      { role: "user", content: "How do I release service 0?" },
      { role: "assistant", content: "Run the release job for service 0." },
    ]);
    expect(uploaded[0]?.content).toContain("Bo (U3): Can we ship on Fridays?");
    const create = openai.requests.find(
      (request) => request.path === "/v1/fine_tuning/jobs" && request.method === "POST",
    );
    expect(create?.body).toMatchObject({
      model: BASE_MODEL,
      training_file: uploaded[0]?.id,
      suffix: "teammate-c42",
      metadata: { teammate_run: run?.id, channel: "C42" },
    });
    openai.assertNoViolations();

    // The channel's status message: edited at most once a second, went through running, ends with the model.
    const statusTs = finished?.statusMessage?.messageId;
    const writes = slack.calls.filter(
      (call) =>
        (call.method === "chat.postMessage" && call.args.text?.toString().startsWith("Fine-tuning")) ||
        (call.method === "chat.update" && call.args.ts === statusTs),
    );
    expect(writes.length).toBeGreaterThanOrEqual(3);
    expect(smallestGap(writes)).toBeGreaterThanOrEqual(1_000);
    expect(writes.some((call) => String(call.args.text).includes("running"))).toBe(true);
    const shown = slack.messages.find((message) => message.ts === statusTs)?.text ?? "";
    expect(shown).toContain(`✅ Fine-tuning finished: the new model is \`${model}\``);
    expect(shown).toContain(`finetune use ${model}`);
    // The alert follows the status message's final edit.
    await waitFor(() => slack.visibleMessages("C-ADMIN").length > 0, 5_000);
    expect(slack.visibleMessages("C-ADMIN").map((message) => message.text)).toEqual([
      `🎓 Fine-tuning for <#C42> finished: the new model is \`${model}\`. \`finetune use ${model}\` in that channel switches it over.`,
    ]);
    expect(slack.violations).toEqual([]);
    expect(await say("finetune status")).toContain("succeeded");

    // Non-admins cannot switch models; an admin can, and the next answer's request names the model.
    expect(await say(`finetune use ${model}`, { isAdmin: false })).toContain("Only workspace admins");
    expect(await say(`finetune use ${model}`)).toContain(`I answer in this channel with \`${model}\``);
    await say("What's our release day?", { isCommand: false });
    expect(openai.chatRequests().at(-1)?.model).toBe(model);
    openai.assertNoViolations();
  });
});
