import { afterEach, describe, expect, it } from "vitest";
import { createSlackAdapter, type SlackAdapter } from "../../../src/adapters/slack/slack-platform-adapter.js";
import { silentLogger } from "../../../src/core/ports/logger.js";
import { type SlackStandIn, startSlackStandIn } from "../../support/slack-stand-in.js";
import { BOT_TOKEN, envelope, ScriptedAssistant, waitFor } from "./slack-test-harness.js";

const APP_TOKEN = "xapp-1-test-socket-mode";

let standIn: SlackStandIn | undefined;
let adapter: SlackAdapter | undefined;
afterEach(async () => {
  await adapter?.stop();
  await standIn?.close();
  adapter = undefined;
  standIn = undefined;
});

describe("Slack adapter over Socket Mode (SLACK_APP_TOKEN)", () => {
  it("connects with the app token, acknowledges an app_mention envelope and answers in its thread", async () => {
    standIn = await startSlackStandIn({
      botToken: BOT_TOKEN,
      appToken: APP_TOKEN,
      users: [{ id: "W222", name: "ada" }],
    });
    const assistant = new ScriptedAssistant();
    adapter = createSlackAdapter({
      botToken: BOT_TOKEN,
      signingSecret: "",
      appToken: APP_TOKEN,
      apiUrl: standIn.apiUrl,
      port: 0,
      adminUserIds: [],
      assistant,
      logger: silentLogger,
      clientRetries: 0,
      updateIntervalMilliseconds: 100,
    });
    await adapter.start();
    const connected = standIn;
    await waitFor(() => connected.socketConnected(), 5_000, "the socket connection");
    expect(connected.callsTo("apps.connections.open")).toHaveLength(1);

    const envelopeId = connected.sendOverSocket(
      "events_api",
      envelope({
        type: "app_mention",
        user: "W222",
        text: "<@UBOT> over the socket",
        ts: "1700002000.000100",
        channel: "C111",
      }),
    );
    await waitFor(() => connected.socketAcks.includes(envelopeId), 3_000, "the ack");
    await waitFor(() => connected.callsTo("chat.stopStream").length === 1, 5_000, "the answer");
    expect(assistant.messages[0]).toMatchObject({ text: "over the socket", threadId: "1700002000.000100" });
    expect(connected.visibleMessages("C111", "1700002000.000100")[0]?.text).toBe(
      "Answer to: over the socket",
    );
  });

  it("serves the split view and the message shortcuts over the socket too", async () => {
    standIn = await startSlackStandIn({
      botToken: BOT_TOKEN,
      appToken: APP_TOKEN,
      users: [{ id: "W222", name: "ada" }],
    });
    standIn.addChannel({ id: "C111", name: "general" });
    const assistant = new ScriptedAssistant();
    adapter = createSlackAdapter({
      botToken: BOT_TOKEN,
      signingSecret: "",
      appToken: APP_TOKEN,
      apiUrl: standIn.apiUrl,
      port: 0,
      adminUserIds: [],
      assistant,
      logger: silentLogger,
      clientRetries: 0,
      updateIntervalMilliseconds: 100,
    });
    await adapter.start();
    const connected = standIn;
    await waitFor(() => connected.socketConnected(), 5_000, "the socket connection");

    connected.sendOverSocket(
      "events_api",
      envelope({
        type: "assistant_thread_started",
        assistant_thread: {
          user_id: "W222",
          context: {},
          channel_id: "D111",
          thread_ts: "1700003000.000100",
        },
        ts: "1700003000.000200",
      }),
    );
    await waitFor(
      () => connected.assistantThreads.get("D111/1700003000.000100")?.prompts !== undefined,
      5_000,
      "the prompts",
    );

    const root = connected.postAsUser("C111", "W222", "Ship it on Thursday");
    const envelopeId = connected.sendOverSocket("interactive", {
      type: "message_action",
      callback_id: "teammate_summarize_thread",
      trigger_id: connected.issueTrigger(),
      team: { id: "T111", domain: "stand-in" },
      user: { id: "W222", name: "ada", team_id: "T111" },
      channel: { id: "C111", name: "general" },
      message_ts: root,
      message: { type: "message", user: "W222", ts: root, text: "Ship it on Thursday" },
      response_url: connected.responseUrl("socket-shortcut"),
      token: "verification_token",
      action_ts: "1700003001.000100",
    });
    await waitFor(() => connected.socketAcks.includes(envelopeId), 3_000, "the shortcut's ack");
    await waitFor(
      () => assistant.messages.some((message) => message.text === "summarize"),
      5_000,
      "core asked to summarize",
    );
    const asked = assistant.messages.find((message) => message.text === "summarize");
    expect(asked).toMatchObject({ channelId: "C111", threadId: root, userId: "W222", isCommand: true });
    expect(asked?.priorMessages?.map((message) => message.text)).toEqual(["Ship it on Thursday"]);
    await waitFor(
      () =>
        connected.visibleMessages("C111", root).some((message) => message.text === "Answer to: summarize"),
      5_000,
      "the reply in the thread",
    );
    expect(connected.violations).toEqual([]);
  });
});
