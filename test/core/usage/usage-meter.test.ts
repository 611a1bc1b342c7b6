import { afterEach, describe, expect, it } from "vitest";
import { openSqliteDatabase } from "../../../src/adapters/sqlite/open-sqlite-database.js";
import { SqliteMemoryStore } from "../../../src/adapters/sqlite/sqlite-memory-store.js";
import { SqliteUsageStore } from "../../../src/adapters/sqlite/sqlite-usage-store.js";
import { createAssistant } from "../../../src/core/assistant.js";
import { NO_DOCUMENTS_NOTE } from "../../../src/core/chains/answer-chain.js";
import { createAlerter } from "../../../src/core/operations/alerts.js";
import type { LlmProvider } from "../../../src/core/ports/llm-provider.js";
import { silentLogger } from "../../../src/core/ports/logger.js";
import { costNanoUsd, DEFAULT_MODEL_PRICES, priceOf } from "../../../src/core/usage/model-prices.js";
import { createUsageCommands, parseLimit } from "../../../src/core/usage/usage-commands.js";
import { type Requester, UsageMeter } from "../../../src/core/usage/usage-meter.js";
import { RecordingNotifier } from "../../support/recording-notifier.js";
import { RecordingSink } from "../../support/recording-sink.js";
import { ScriptedLlm } from "../../support/scripted-llm.js";
import { ScriptedLlmProvider } from "../../support/scripted-llm-provider.js";
import { inbound } from "../assistant-fixtures.js";

/** 20:48 UTC on Friday 14 March 2025: 3 h 12 min before the day's reset, 17 days before the month's. */
const NOW = Date.UTC(2025, 2, 14, 20, 48);
const PRICES = { "scripted-model": { inputUsdPerMillion: 1, outputUsdPerMillion: 2 } };
const requester: Requester = { platform: "slack", workspaceId: "T1", channelId: "C1", userId: "U1" };

async function drain(llm: LlmProvider, text = "hello"): Promise<void> {
  for await (const _part of llm.stream({ messages: [{ role: "user", content: text }] })) {
    // Usage is recorded on the finish part.
  }
}

describe("UsageMeter and the usage commands (core, SQLite stores, scripted LLM)", () => {
  const closers: Array<() => void> = [];
  afterEach(() => {
    for (const close of closers.splice(0)) close();
  });

  function setup(llm: LlmProvider = new ScriptedLlmProvider([], { text: "ok" })) {
    const database = openSqliteDatabase(":memory:");
    closers.push(() => database.close());
    const store = new SqliteMemoryStore(database);
    const usage = new SqliteUsageStore(database);
    const notifier = new RecordingNotifier();
    const alerts = createAlerter({
      channels: usage,
      notifier,
      claimOnce: (key, ttl) => store.claimEvent(key, ttl),
      logger: silentLogger,
    });
    const meter = new UsageMeter({
      store: usage,
      prices: PRICES,
      alerts,
      logger: silentLogger,
      now: () => NOW,
    });
    const verified: string[] = [];
    const assistant = createAssistant({
      store,
      llm,
      logger: silentLogger,
      promptTokenBudget: 6_000,
      allowGeneralKnowledge: true,
      usage: meter,
      commands: createUsageCommands({
        meter,
        store: usage,
        now: () => NOW,
        verifyChannel: async (channel) => {
          verified.push(channel.channelId);
          return channel.channelId === "C0OPS";
        },
      }),
    });
    const say = async (text: string, overrides: Parameters<typeof inbound>[0] = {}) => {
      const sink = new RecordingSink();
      await assistant.handle(inbound({ text, ...overrides }), sink);
      return sink;
    };
    return { usage, meter, notifier, assistant, say, verified, llm };
  }

  it("counts each call's reported tokens and estimated cost for the workspace, the channel and the person", async () => {
    const { meter } = setup();
    const llm = new ScriptedLlmProvider([
      { text: "first", usage: { promptTokens: 1_000, completionTokens: 200 } },
      { text: "second", usage: { promptTokens: 30, completionTokens: 7 } },
    ]);
    const metered = meter.forRequest(llm, requester).llm;
    await drain(metered);
    await metered.complete({ messages: [{ role: "user", content: "again" }] });

    // 1 030 prompt tokens at $1/M and 207 completion tokens at $2/M: 1 444 µ$.
    const expected = { promptTokens: 1_030, completionTokens: 207, costNanoUsd: 1_444_000, calls: 2 };
    const workspace = { platform: "slack" as const, workspaceId: "T1" };
    expect(await meter.report(workspace, { kind: "user", id: "U1" }, "today")).toEqual(expected);
    expect(await meter.report(workspace, { kind: "channel", id: "C1" }, "week")).toEqual(expected);
    expect(await meter.report(workspace, { kind: "workspace", id: "" }, "month")).toEqual(expected);
    expect(await meter.report(workspace, { kind: "user", id: "U2" }, "today")).toMatchObject({ calls: 0 });
  });

  it("counts an endpoint that reports no usage with the tokenizer rather than as free", async () => {
    const { meter } = setup();
    const silent = new ScriptedLlm(() => "a reply of several words");
    await meter.forRequest(silent, requester).llm.complete({
      messages: [{ role: "user", content: "a question of some length" }],
    });
    const counted = await meter.report(requester, { kind: "user", id: "U1" }, "today");
    expect(counted.calls).toBe(1);
    expect(counted.promptTokens).toBeGreaterThan(5);
    expect(counted.completionTokens).toBeGreaterThan(3);
  });

  it("prices dated snapshots and fine-tuned models from the table, and unknown models at 0", () => {
    expect(priceOf("gpt-4o-mini-2024-07-18", DEFAULT_MODEL_PRICES)).toEqual(
      DEFAULT_MODEL_PRICES["gpt-4o-mini"],
    );
    expect(priceOf("ft:gpt-4o-mini-2024-07-18:acme:teammate-c1:AbC123", DEFAULT_MODEL_PRICES)).toEqual(
      DEFAULT_MODEL_PRICES["ft:gpt-4o-mini"],
    );
    expect(priceOf("llama3.1:8b", DEFAULT_MODEL_PRICES)).toBeUndefined();
    expect(costNanoUsd(undefined, 1_000, 1_000)).toBe(0);
    // gpt-4.1-mini: $0.40 / $1.60 per million → 1 000 + 500 tokens = $0.0012.
    expect(costNanoUsd(priceOf("gpt-4.1-mini", DEFAULT_MODEL_PRICES), 1_000, 500)).toBe(1_200_000);
  });

  it("refuses a question past the channel's limit before any LLM call, saying whose limit, how much and when it resets", async () => {
    const llm = new ScriptedLlmProvider([], { text: "should not be asked" });
    const { say, meter } = setup(llm);
    expect((await say("config quota channel 1000/day", { isAdmin: true })).visible).toContain(
      "Limit set: <#C1> may use 1,000 tokens/day",
    );
    await meter.record(requester, "scripted-model", { promptTokens: 1_100, completionTokens: 100 });

    const refused = await say("what is our deploy policy?", { userId: "U2" });
    expect(refused.visible).toBe(
      "This channel has used 1,200 tokens of its limit of 1,000 tokens for today, so I won't ask the language model " +
        "until it resets at 00:00 UTC (in 3 h 12 min). An admin can change the limit with `config quota channel <amount>/day`.",
    );
    expect(refused.started?.visibility).toBe("asker");
    const translation = await say("translate French: the deploy is on Friday", { userId: "U2" });
    expect(translation.visible).toContain("This channel has used 1,200 tokens");
    expect(translation.started?.visibility).toBe("asker");
    expect(llm.requests).toHaveLength(0);

    // Another channel of the workspace is not held back by this channel's limit.
    expect((await say("hello there", { channelId: "C2" })).visible).toBe(
      `${NO_DOCUMENTS_NOTE}should not be asked`,
    );
    expect(llm.requests).toHaveLength(1);
  });

  it("applies a per-person limit to each person on their own, and a workspace limit in dollars to everyone", async () => {
    const llm = new ScriptedLlmProvider([], { text: "fine" });
    const { say, meter } = setup(llm);
    await say("config quota user 500/month", { isAdmin: true });
    await meter.record(requester, "scripted-model", { promptTokens: 400, completionTokens: 100 });

    expect((await say("hi again")).visible).toBe(
      "You have used 500 tokens of your personal limit of 500 tokens for this month, so I won't ask the language model " +
        "until it resets on 1 April at 00:00 UTC (in 17 days). An admin can change the limit with `config quota user <amount>/month`.",
    );
    expect((await say("hi from someone else", { userId: "U2" })).visible).toBe(`${NO_DOCUMENTS_NOTE}fine`);

    await say("config quota user off", { isAdmin: true });
    await say("config quota workspace $0.001/day", { isAdmin: true });
    // So far $0.0006 (U1) + $0.00012 (U2's answer: 100 + 10 tokens); U3 adds 1 000 × $1/M = $0.001.
    await meter.record({ ...requester, userId: "U3" }, "scripted-model", {
      promptTokens: 1_000,
      completionTokens: 0,
    });
    const refused = await say("and now?", { userId: "U4", channelId: "C9" });
    expect(refused.visible).toMatch(/^This workspace has used \$0\.0017 of its limit of \$0\.0010 for today/);
    expect(llm.requests).toHaveLength(1);
  });

  it("posts one alert to the admin channel when a limit passes 80 %, not one per call", async () => {
    const { say, meter, notifier } = setup();
    await say("config alerts here", { isAdmin: true, channelId: "C-ADMIN" });
    await say("config quota channel 1000/day", { isAdmin: true });

    await meter.record(requester, "scripted-model", { promptTokens: 700, completionTokens: 0 });
    expect(notifier.writes).toHaveLength(0);
    await meter.record(requester, "scripted-model", { promptTokens: 150, completionTokens: 0 });
    await meter.record(requester, "scripted-model", { promptTokens: 100, completionTokens: 0 });
    expect(notifier.shown()).toEqual([
      "📈 <#C1> has used 85 % of its limit of 1,000 tokens/day (850 tokens so far); it resets at 00:00 UTC (in 3 h 12 min).",
    ]);
  });

  it("shows usage to the asker, the channel's to anyone and the workspace's to admins only", async () => {
    const { say, meter } = setup();
    await meter.record(requester, "scripted-model", { promptTokens: 1_234, completionTokens: 56 });
    await meter.record({ ...requester, userId: "U2" }, "scripted-model", {
      promptTokens: 10,
      completionTokens: 5,
    });

    const mine = await say("usage");
    expect(mine.visible).toBe(
      "Usage for you today (UTC): 1,290 tokens (1,234 prompt + 56 completion) in 1 LLM call, about $0.0013.",
    );
    expect(mine.started?.visibility).toBe("asker");
    expect((await say("usage channel week")).visible).toContain(
      "Usage for this channel in the last 7 days: 1,305 tokens (1,244 prompt + 61 completion) in 2 LLM calls",
    );
    expect((await say("usage workspace month")).visible).toBe(
      "Only workspace admins can see the whole workspace's usage.",
    );
    await say("config quota workspace 10k/month", { isAdmin: true });
    expect((await say("usage workspace month", { isAdmin: true })).visible).toContain(
      "Limit: 10,000 tokens/month, 1,305 tokens used (13 %); resets on 1 April at 00:00 UTC (in 17 days).",
    );
  });

  it("reads limits written the ways admins write them, and explains the ones it can't read", () => {
    expect(parseLimit("50k/day")).toEqual({ unit: "tokens", limit: 50_000, period: "day" });
    expect(parseLimit("1.5m tokens / month")).toEqual({ unit: "tokens", limit: 1_500_000, period: "month" });
    expect(parseLimit("$5/day")).toEqual({ unit: "cost", limit: 5_000_000_000, period: "day" });
    expect(parseLimit("2.50 usd/month")).toEqual({ unit: "cost", limit: 2_500_000_000, period: "month" });
    expect(parseLimit("lots/day")).toEqual({
      error: "I can't read `lots` as tokens (`50000`, `50k`) or dollars (`$5`).",
    });
    expect(parseLimit("5000")).toMatchObject({ error: expect.stringContaining("/day") });
    expect(parseLimit("$0/day")).toMatchObject({ error: expect.stringContaining("more than $0") });
  });

  it("lets only admins set limits and the alert channel, and refuses a channel the platform says is not this workspace's", async () => {
    const { say, usage, verified } = setup();
    expect((await say("config quota channel 10/day")).visible).toMatch(/Only workspace admins/);
    expect((await say("config alerts here")).visible).toMatch(/Only workspace admins/);

    const foreign = await say("config alerts <#C0ELSEWHERE>", { isAdmin: true });
    expect(foreign.visible).toBe(
      "I can't use <#C0ELSEWHERE>: it is not a channel of this workspace that I can see.",
    );
    expect(verified).toEqual(["C0ELSEWHERE"]);
    expect(await usage.getAlertChannel({ platform: "slack", workspaceId: "T1" })).toBeUndefined();

    expect((await say("config alerts <#C0OPS|ops>", { isAdmin: true })).visible).toBe(
      "Alerts for this workspace will go to <#C0OPS>.",
    );
    expect((await say("config alerts", { isAdmin: true })).visible).toBe(
      "Alerts for this workspace go to <#C0OPS>.",
    );
    await say("config alerts off", { isAdmin: true });
    expect(await usage.getAlertChannel({ platform: "slack", workspaceId: "T1" })).toBeUndefined();
  });
});
