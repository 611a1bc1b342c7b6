import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SPECS_DIR } from "../../support/openapi-validator.js";
import { formBody } from "../../support/slack-signing.js";
import { envelope, type Harness, sleep, startHarness, waitFor } from "./slack-test-harness.js";

const fixture = (name: string) => readFileSync(join(SPECS_DIR, "slack/fixtures", name), "utf8");

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const start = async (...args: Parameters<typeof startHarness>) => {
  harness = await startHarness(...args);
  return harness;
};

describe("Slack adapter: Events API over signed HTTP", () => {
  it("echoes the url_verification challenge", async () => {
    const { postEvent } = await start();
    const response = await postEvent(fixture("events/url_verification.json"));
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({
      challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
    });
  });

  it("answers a signed app_mention in a thread under the mention, with feedback buttons", async () => {
    const { postEvent, assistant, standIn } = await start({
      users: [{ id: "U061F7AUR", name: "river", displayName: "River" }],
    });
    // The docs' example mentions <@U0LAN0Z89>; the bot's own id in this workspace is UBOT.
    const body = fixture("events/app_mention.json").replace("U0LAN0Z89", "UBOT");
    const response = await postEvent(body);
    expect(response.status).toBe(200);
    await waitFor(() => standIn.callsTo("chat.stopStream").length === 1, 5_000, "the streamed answer");

    const [message] = assistant.messages;
    expect(message).toMatchObject({
      platform: "slack",
      workspaceId: "T123ABC456",
      channelId: "C123ABC456",
      threadId: "1515449522.000016",
      userId: "U061F7AUR",
      userName: "River",
      text: "is it everything a river should be?",
      eventId: "Ev123ABC456",
      isAdmin: false,
      attachments: [],
    });
    const startCall = standIn.callsTo("chat.startStream")[0];
    expect(startCall?.args).toMatchObject({
      channel: "C123ABC456",
      thread_ts: "1515449522.000016",
      recipient_user_id: "U061F7AUR",
      recipient_team_id: "T123ABC456",
    });
    const [answer] = standIn.visibleMessages("C123ABC456", "1515449522.000016");
    expect(answer?.text).toBe("Answer to: is it everything a river should be?");
    const actions = answer?.blocks.find((block) => (block as { type?: string }).type === "actions") as {
      elements: Array<{ action_id: string; value: string }>;
    };
    expect(actions.elements.map((element) => [element.action_id, element.value])).toEqual([
      ["feedback-up", "answer-1"],
      ["feedback-down", "answer-1"],
      ["show-sources", "answer-1"],
    ]);
    // The :eyes: "thinking" reaction goes on the mention and comes off afterwards.
    expect(standIn.callsTo("reactions.add")[0]?.args).toMatchObject({
      name: "eyes",
      timestamp: "1515449522.000016",
    });
    await waitFor(() => standIn.callsTo("reactions.remove").length === 1, 2_000, "the reaction removal");
    expect(standIn.violations).toEqual([]);
  });

  it("answers a re-delivery (X-Slack-Retry-Num: 1) of the same event once, acknowledging it fast", async () => {
    const { postEvent, assistant, standIn } = await start();
    const event = envelope(
      { type: "app_mention", user: "W222", text: "<@UBOT> hello", ts: "1700000000.000100", channel: "C111" },
      "EvRETRY1",
    );
    expect((await postEvent(event)).status).toBe(200);
    const retry = await postEvent(event, { retryNum: 1 });
    expect(retry.status).toBe(200);
    expect(retry.elapsedMilliseconds).toBeLessThan(2_000);
    await waitFor(() => assistant.messages.length === 2, 5_000, "both deliveries");
    await waitFor(() => standIn.callsTo("chat.stopStream").length >= 1, 5_000, "the answer");
    await sleep(300);
    expect(assistant.messages.map((message) => message.eventId)).toEqual(["EvRETRY1", "EvRETRY1"]);
    expect(standIn.visibleMessages("C111", "1700000000.000100")).toHaveLength(1);
  });

  it("rejects a bad signature and a timestamp older than five minutes with 401, never calling core", async () => {
    const { postEvent, assistant, standIn } = await start();
    const event = envelope({
      type: "app_mention",
      user: "W222",
      text: "<@UBOT> hi",
      ts: "1.1",
      channel: "C111",
    });
    const badSignature = await postEvent(event, { signature: `v0=${"0".repeat(64)}` });
    const stale = await postEvent(event, { timestamp: Math.floor(Date.now() / 1000) - 301 });
    expect(badSignature.status).toBe(401);
    expect(stale.status).toBe(401);
    await sleep(300);
    expect(assistant.messages).toEqual([]);
    expect(standIn.calls.filter((call) => call.method.startsWith("chat."))).toEqual([]);
  });

  it("answers a top-level DM at the top level of the DM", async () => {
    const { postEvent, assistant, standIn } = await start();
    expect((await postEvent(fixture("events/message.im.top_level.json"))).status).toBe(200);
    await waitFor(() => standIn.visibleMessages("D111").length === 1, 5_000, "the DM answer");
    expect(assistant.messages[0]).toMatchObject({
      channelId: "D111",
      threadId: undefined,
      text: "hello bot",
    });
    const [answer] = standIn.visibleMessages("D111");
    expect(answer?.threadTs).toBeUndefined();
    expect(answer?.text).toContain("Answer to: hello bot");
  });

  it("shows 'is thinking…' with assistant.threads.setStatus in a DM thread and answers there", async () => {
    const { postEvent, standIn } = await start();
    await postEvent(fixture("events/message.im.thread_reply.json"));
    await waitFor(() => standIn.callsTo("chat.stopStream").length === 1, 5_000, "the answer");
    expect(standIn.callsTo("assistant.threads.setStatus")[0]?.args).toMatchObject({
      channel_id: "D111",
      thread_ts: "1726133698.626339",
      status: "is thinking…",
    });
    expect(standIn.visibleMessages("D111", "1726133698.626339")[0]?.text).toContain(
      "When Slack was released?",
    );
    // A DM needs no recipient for streaming.
    expect(standIn.callsTo("chat.startStream")[0]?.args.recipient_user_id).toBeUndefined();
  });

  it("ignores bot messages and its own messages", async () => {
    const { postEvent, assistant } = await start();
    await postEvent(fixture("events/message.channels.bot_message.json"));
    await postEvent(
      envelope({
        type: "message",
        user: "UBOT",
        text: "my own",
        ts: "5.5",
        thread_ts: "4.4",
        channel: "C111",
        channel_type: "channel",
      }),
    );
    await postEvent(
      envelope({
        type: "app_mention",
        user: "W999",
        bot_id: "B999",
        text: "<@UBOT> loop?",
        ts: "6.6",
        channel: "C111",
      }),
    );
    await sleep(400);
    expect(assistant.messages).toEqual([]);
  });

  it("answers a thread follow-up without a mention only where teammate is engaged", async () => {
    const { postEvent, assistant, standIn } = await start();
    await postEvent(fixture("events/message.channels.thread_reply.json"));
    await sleep(300);
    expect(assistant.messages).toEqual([]);

    assistant.engage({
      platform: "slack",
      workspaceId: "T111",
      channelId: "C111",
      threadId: "1726133698.626339",
    });
    const again = fixture("events/message.channels.thread_reply.json").replace('"Ev111"', '"Ev112"');
    await postEvent(again);
    await waitFor(() => standIn.callsTo("chat.stopStream").length === 1, 5_000, "the follow-up answer");
    expect(assistant.messages[0]).toMatchObject({
      threadId: "1726133698.626339",
      text: "When Slack was released?",
    });
    expect(standIn.visibleMessages("C111", "1726133698.626339")).toHaveLength(1);
  });

  it("does not answer a channel mention twice when it also arrives as a message event", async () => {
    const { postEvent, assistant, standIn } = await start();
    const common = { user: "W222", text: "<@UBOT> once please", ts: "1700000001.000200", channel: "C111" };
    await postEvent(envelope({ type: "app_mention", ...common }));
    await postEvent(envelope({ type: "message", channel_type: "channel", ...common }));
    await waitFor(() => standIn.callsTo("chat.stopStream").length === 1, 5_000, "the answer");
    await sleep(300);
    expect(assistant.messages).toHaveLength(1);
  });

  it("reads an existing thread on first contact into priorMessages, naming speakers", async () => {
    const { postEvent, assistant, standIn } = await start();
    standIn.seedThread("C111", [
      { ts: "1595926200.000100", user: "WADMIN", text: "Deploys are on Fridays &amp; Mondays" },
      { ts: "1595926210.000100", user: "UBOT", text: "Noted." },
      { ts: "1595926220.000100", botId: "B999", text: "CI passed" },
      { ts: "1595926230.009600", user: "W222", text: "<@UBOT> Hi there!" },
    ]);
    await postEvent(fixture("events/app_mention.in_thread.json").replace("<@W111>", "<@UBOT>"));
    await waitFor(() => assistant.messages.length === 1, 5_000, "the mention");
    expect(standIn.callsTo("conversations.replies")[0]?.args).toMatchObject({
      channel: "C111",
      ts: "1595926200.000100",
    });
    expect(assistant.messages[0]?.threadId).toBe("1595926200.000100");
    expect(assistant.messages[0]?.priorMessages).toEqual([
      { userId: "WADMIN", userName: "Grace", text: "Deploys are on Fridays & Mondays", fromAssistant: false },
      { userId: "UBOT", userName: "teammate", text: "Noted.", fromAssistant: true },
      { userId: "B999", userName: "bot", text: "CI passed", fromAssistant: false },
    ]);
  });

  it("marks workspace admins and ADMIN_USER_IDS members as admins, caching users.info", async () => {
    const { postEvent, assistant, standIn } = await start({
      users: [
        { id: "WADMIN", name: "grace", isAdmin: true },
        { id: "WOWNER", name: "owner", isOwner: true },
        { id: "WLISTED", name: "listed" },
        { id: "W222", name: "ada" },
      ],
    });
    for (const [index, user] of ["WADMIN", "WOWNER", "WLISTED", "W222", "W222"].entries()) {
      await postEvent(
        envelope({
          type: "app_mention",
          user,
          text: "<@UBOT> am I admin?",
          ts: `170000000${index}.1`,
          channel: "C111",
        }),
      );
    }
    await waitFor(() => assistant.messages.length === 5, 5_000, "five mentions");
    const verdicts = Object.fromEntries(
      assistant.messages.map((message) => [message.userId, message.isAdmin]),
    );
    expect(verdicts).toEqual({ WADMIN: true, WOWNER: true, WLISTED: true, W222: false });
    expect(standIn.callsTo("users.info").filter((call) => call.args.user === "W222")).toHaveLength(1);
  });

  it("turns files on a mention into attachments marked with their workspace, and hands core no token", async () => {
    const { postEvent, assistant, standIn } = await start();
    const url = standIn.addFile("notes.md", "# Notes\nhello");
    let downloaded = "";
    assistant.script = async (message, sink) => {
      const [file] = message.attachments;
      // What core holds cannot download the file: Slack wants the token, which only the loader adds.
      const response = await fetch(file?.url ?? "");
      downloaded = String(response.status);
      await sink.start({ visibility: "everyone" });
      await sink.append("Indexed.");
      await sink.finish({ sources: [], buttons: [] });
    };
    await postEvent(
      envelope({
        type: "app_mention",
        user: "WADMIN",
        text: "<@UBOT> index this",
        ts: "1700000002.000300",
        channel: "C111",
        files: [{ id: "F1", name: "notes.md", mimetype: "text/markdown", size: 14, url_private: url }],
      }),
    );
    await waitFor(() => downloaded !== "", 5_000, "the download");
    expect(downloaded).toBe("403");
    expect(assistant.messages[0]?.attachments).toEqual([
      {
        name: "notes.md",
        url,
        mimeType: "text/markdown",
        sizeBytes: 14,
        arrivedIn: { platform: "slack", workspaceId: "T111" },
      },
    ]);
    expect(JSON.stringify(assistant.messages[0])).not.toContain("xoxb-");
    expect(assistant.messages[0]?.text).toBe("index this");
  });

  it("keeps line breaks and decodes Slack's escaping in what people typed", async () => {
    const { postEvent, assistant } = await start();
    await postEvent(
      envelope({
        type: "app_mention",
        user: "W222",
        text: "<@UBOT>  compare\n```\na &lt; b &amp;&amp; c &gt; d\n```",
        ts: "1700000003.000400",
        channel: "C111",
      }),
    );
    await waitFor(() => assistant.messages.length === 1, 5_000, "the mention");
    expect(assistant.messages[0]?.text).toBe("compare\n```\na < b && c > d\n```");
  });
});

describe("Slack adapter: /teammate and buttons", () => {
  const command = (standInResponseUrl: string, text: string) => ({
    token: "verification_token",
    team_id: "T111",
    team_domain: "test-domain",
    channel_id: "C111",
    channel_name: "random",
    user_id: "W222",
    user_name: "ada",
    command: "/teammate",
    text,
    response_url: standInResponseUrl,
    trigger_id: `111.${Date.now()}.xxx`,
  });

  it("acknowledges /teammate at once while the work continues after the ack", async () => {
    const { postForm, assistant, standIn } = await start();
    let finishedAt = 0;
    assistant.script = async (message, sink) => {
      await sleep(1_500);
      await sink.start({ visibility: "everyone" });
      await sink.append(`Memory for ${message.userName}: nothing yet.`);
      await sink.finish({ sources: [], buttons: [] });
      finishedAt = Date.now();
    };
    const sentAt = Date.now();
    const response = await postForm(command(standIn.responseUrl("cmd-1"), "memory show"));
    expect(response.status).toBe(200);
    expect(response.elapsedMilliseconds).toBeLessThan(1_000);
    expect(finishedAt).toBe(0);
    await waitFor(() => assistant.messages.length === 1, 2_000, "the command reaching core");
    expect(assistant.messages[0]).toMatchObject({
      isCommand: true,
      text: "memory show",
      channelId: "C111",
      threadId: undefined,
    });
    await waitFor(() => finishedAt > 0, 5_000, "the command's work");
    expect(finishedAt - sentAt).toBeGreaterThanOrEqual(1_500);
    expect(standIn.visibleMessages("C111")[0]?.text).toBe("Memory for Ada: nothing yet.");
  });

  it("sends replies meant for the asker (help) through response_url as ephemeral", async () => {
    const { postForm, assistant, standIn } = await start();
    assistant.script = async (_message, sink) => {
      await sink.start({ visibility: "asker" });
      await sink.append("Commands:\n\n- **ask** a question\n- **help** this list");
      await sink.finish({ sources: [], buttons: [] });
    };
    await postForm(command(standIn.responseUrl("help-1"), "help"));
    await waitFor(() => standIn.responseUrlPosts.length === 1, 5_000, "the ephemeral help");
    const [post] = standIn.responseUrlPosts;
    expect(post?.id).toBe("help-1");
    expect(post?.body).toMatchObject({ response_type: "ephemeral" });
    expect(String(post?.body.text)).toContain("*ask*");
    expect(standIn.calls.filter((call) => call.method === "chat.postMessage")).toEqual([]);
  });

  it("fail() posts the sentence privately when the asker should see it alone", async () => {
    const { postForm, assistant, standIn } = await start();
    assistant.script = async (_message, sink) => {
      await sink.start({ visibility: "asker" });
      await sink.fail("Only admins can index documents.");
    };
    await postForm(command(standIn.responseUrl("deny-1"), "index https://example.com"));
    await waitFor(() => standIn.responseUrlPosts.length === 1, 5_000, "the refusal");
    expect(standIn.responseUrlPosts[0]?.body).toMatchObject({
      response_type: "ephemeral",
      text: "Only admins can index documents.",
    });
  });

  it("routes block_actions clicks to core with the clicked value", async () => {
    const { postForm, assistant, standIn } = await start();
    const payload = JSON.parse(fixture("interactivity/block_actions.payload.json")) as Record<
      string,
      unknown
    >;
    payload.actions = [
      {
        action_id: "feedback-up",
        block_id: "answer-actions",
        type: "button",
        value: "answer-1",
        action_ts: "1596530385.194939",
      },
    ];
    payload.response_url = standIn.responseUrl("click-1");
    payload.message = { ts: "111.222", thread_ts: "111.000", text: "an answer" };
    const response = await postForm({ payload: JSON.stringify(payload) });
    expect(response.status).toBe(200);
    await waitFor(() => standIn.responseUrlPosts.length === 1, 5_000, "the click reply");
    expect(assistant.actions[0]).toMatchObject({
      platform: "slack",
      workspaceId: "T111",
      channelId: "C111",
      threadId: "111.000",
      userId: "W111",
      action: "feedback-up",
      value: "answer-1",
    });
    expect(standIn.responseUrlPosts[0]?.body).toMatchObject({
      response_type: "ephemeral",
      text: "Got feedback-up for answer-1",
    });
  });

  it("accepts the recorded block_actions form body as Slack sends it", async () => {
    const { eventsUrl, assistant, standIn } = await start();
    const { postSignedToSlackReceiver } = await import("../../support/slack-signing.js");
    const body = fixture("interactivity/block_actions.form.txt").trim();
    assistant.actionScript = async () => {};
    const response = await postSignedToSlackReceiver({
      url: eventsUrl,
      signingSecret: "test-signing-secret-8f742231b10e",
      body,
      contentType: "application/x-www-form-urlencoded",
    });
    expect(response.status).toBe(200);
    await waitFor(() => assistant.actions.length === 1, 5_000, "the action");
    expect(assistant.actions[0]).toMatchObject({ action: "a", value: "click_me_123", userId: "W111" });
    expect(standIn.violations).toEqual([]);
    expect(formBody({ a: "b" })).toBe("a=b");
  });
});
