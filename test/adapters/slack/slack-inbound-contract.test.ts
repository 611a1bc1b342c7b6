import { WebClient } from "@slack/web-api";
import { afterEach, describe, expect, it } from "vitest";
import { createSlackThreadHistory } from "../../../src/adapters/slack/slack-thread-history.js";
import { silentLogger } from "../../../src/core/ports/logger.js";
import { BOT_TOKEN, envelope, type Harness, sleep, startHarness, waitFor } from "./slack-test-harness.js";

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const start = async () => {
  harness = await startHarness();
  return harness;
};

describe("Slack adapter on the inbound contract (core decides; the adapter says how it was addressed)", () => {
  it("says how each message addressed teammate, and gives thread messages a history reader", async () => {
    const { postEvent, assistant } = await start();
    const thread = {
      platform: "slack",
      workspaceId: "T111",
      channelId: "C111",
      threadId: "1700000300.000100",
    } as const;
    assistant.engage(thread);
    await postEvent(
      envelope({
        type: "app_mention",
        user: "W222",
        text: "<@UBOT> hi",
        ts: "1700000100.000100",
        channel: "C111",
      }),
    );
    await postEvent(
      envelope({
        type: "message",
        channel_type: "im",
        user: "W222",
        text: "dm",
        ts: "1700000200.000100",
        channel: "D111",
      }),
    );
    await postEvent(
      envelope({
        type: "message",
        channel_type: "channel",
        user: "W222",
        text: "and also",
        ts: "1700000301.000100",
        thread_ts: thread.threadId,
        channel: "C111",
      }),
    );
    await waitFor(() => assistant.messages.length === 3, 5_000, "three messages in core");
    const byText = new Map(assistant.messages.map((message) => [message.text, message]));
    expect(byText.get("hi")).toMatchObject({
      addressedBy: "mention",
      threadId: "1700000100.000100",
      messageId: "1700000100.000100",
    });
    expect(byText.get("hi")?.history).toBeUndefined();
    expect(byText.get("dm")).toMatchObject({ addressedBy: "direct", threadId: undefined });
    expect(byText.get("and also")).toMatchObject({ addressedBy: "none", threadId: thread.threadId });
    expect(byText.get("and also")?.history).toBeDefined();
  });

  it("a thread message core does not answer leaves no trace: no 👀, no status, no reply", async () => {
    const { postEvent, assistant, standIn } = await start();
    await postEvent(
      envelope({
        type: "message",
        channel_type: "channel",
        user: "W222",
        text: "just chatting",
        ts: "1700000401.000100",
        thread_ts: "1700000400.000100",
        channel: "C111",
      }),
    );
    await waitFor(() => assistant.declined.length === 1, 5_000, "the message reaching core");
    await sleep(200);
    const shown = standIn.calls.filter(
      (call) =>
        call.method.startsWith("chat.") ||
        call.method.startsWith("reactions.") ||
        call.method.startsWith("assistant."),
    );
    expect(shown).toEqual([]);
  });

  it("a message typed in the channel opens a thread on itself by default, and stays in the channel with placement channel", async () => {
    const { postEvent, assistant, standIn } = await start();
    assistant.script = async (message, sink) => {
      await sink.start({
        visibility: "everyone",
        placement: message.text === "in channel" ? "channel" : "thread",
      });
      await sink.append(`Answer to: ${message.text}`);
      await sink.finish({ sources: [], buttons: [] });
    };
    await postEvent(
      envelope({
        type: "app_mention",
        user: "W222",
        text: "<@UBOT> in thread",
        ts: "1700000500.000100",
        channel: "C111",
      }),
    );
    await postEvent(
      envelope({
        type: "app_mention",
        user: "W222",
        text: "<@UBOT> in channel",
        ts: "1700000600.000100",
        channel: "C111",
      }),
    );
    await waitFor(
      () => standIn.visibleMessages("C111").some((message) => message.text.includes("Answer to: in channel")),
      5_000,
      "the answer in the channel",
    );
    await waitFor(
      () => standIn.visibleMessages("C111", "1700000500.000100").length === 1,
      5_000,
      "the answer in a thread",
    );
    const inChannel = standIn
      .visibleMessages("C111")
      .find((message) => message.text.includes("Answer to: in channel"));
    expect(inChannel?.threadTs).toBeUndefined();
    // The 👀 goes on the asker's message either way.
    expect(
      standIn
        .callsTo("reactions.add")
        .map((call) => call.args.timestamp)
        .sort(),
    ).toEqual(["1700000500.000100", "1700000600.000100"]);
  });
});

describe("createSlackThreadHistory (conversations.replies on the Slack stand-in)", () => {
  const history = (harnessed: Harness, currentTs: string, botUserId = "UBOT") =>
    createSlackThreadHistory({
      client: new WebClient(BOT_TOKEN, {
        slackApiUrl: harnessed.standIn.apiUrl,
        retryConfig: { retries: 0 },
      }),
      users: { lookup: async (userId) => ({ name: `name-of-${userId}`, isAdmin: false, isStranger: false }) },
      identity: () => ({ userId: botUserId, botId: harnessed.standIn.botId }),
      channel: "C111",
      rootTs: "1700000700.000100",
      currentTs,
      logger: silentLogger,
    });

  it("reads the earlier messages once, oldest first, and says whether teammate took part", async () => {
    const harnessed = await start();
    harnessed.standIn.seedThread("C111", [
      { ts: "1700000700.000100", user: "W222", text: "root" },
      { ts: "1700000701.000100", user: "UBOT", text: "teammate said" },
      { ts: "1700000702.000100", user: "W222", text: "latest" },
    ]);
    const reader = history(harnessed, "1700000702.000100");
    expect(await reader.earlier(1)).toEqual([
      { userId: "UBOT", userName: "teammate", text: "teammate said", fromAssistant: true },
    ]);
    expect((await reader.earlier(10)).map((message) => message.text)).toEqual(["root", "teammate said"]);
    expect(await reader.includesTeammate()).toBe(true);
    expect(harnessed.standIn.callsTo("conversations.replies")).toHaveLength(1);
    expect(await history(harnessed, "1700000702.000100", "UOTHER").includesTeammate()).toBe(false);
  });

  it("a thread Slack will not show reads as empty (read says refused)", async () => {
    const harnessed = await start();
    const reader = createSlackThreadHistory({
      client: new WebClient(BOT_TOKEN, {
        slackApiUrl: harnessed.standIn.apiUrl,
        retryConfig: { retries: 0 },
      }),
      users: { lookup: async () => ({ name: "x", isAdmin: false, isStranger: false }) },
      identity: () => ({ userId: "UBOT" }),
      channel: "GNOTIN",
      rootTs: "1700000800.000100",
      currentTs: "1700000801.000100",
      logger: silentLogger,
    });
    expect(await reader.read(5)).toBeUndefined();
    expect(await reader.earlier(5)).toEqual([]);
    expect(await reader.includesTeammate()).toBe(false);
  });
});
