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
});
