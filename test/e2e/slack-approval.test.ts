import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { startBot } from "../../src/main.js";
import { POISONED_PAGE, scriptedModel } from "../support/approval-model-script.js";
import { recordingLogger, waitFor } from "../support/e2e-helpers.js";
import { type LocalHttpServer, startLocalHttpServer } from "../support/local-http-server.js";
import { type OpenAiStandIn, startOpenAiStandIn } from "../support/openai-stand-in.js";
import { postSignedToSlackReceiver } from "../support/slack-signing.js";
import { type SlackStandIn, type StoredMessage, startSlackStandIn } from "../support/slack-stand-in.js";

const BOT_TOKEN = "xoxb-approval-2222-token";
const SIGNING_SECRET = "approval-signing-secret";
const CHANNEL = "C300";
/** Where the poisoned document is indexed: a channel with documents refuses questions no passage matches. */
const DOCUMENTS_CHANNEL = "C301";
/** Short, so the timeout cases finish quickly; long enough for a test to click in time on a busy machine. */
const APPROVAL_TIMEOUT_MS = 4_000;

interface Button {
  action_id: string;
  value: string;
  style?: string;
  text: { text: string };
}

function buttonsOf(message: StoredMessage): Button[] {
  const blocks = message.blocks as Array<{ type: string; elements?: Button[] }>;
  return blocks.filter((block) => block.type === "actions").flatMap((block) => block.elements ?? []);
}

describe("Slack: a write tool waits for a human click (startBot, real core, Slack and OpenAI stand-ins)", () => {
  let slack: SlackStandIn;
  let openai: OpenAiStandIn;
  let page: LocalHttpServer;
  let dataDirectory: string;
  let bot: { stop(): Promise<void> };
  let eventsUrl: string;
  let sequence = 0;

  beforeAll(async () => {
    slack = await startSlackStandIn({
      botToken: BOT_TOKEN,
      users: [
        { id: "W222", name: "ada", displayName: "Ada" },
        { id: "W333", name: "eve", displayName: "Eve" },
        { id: "WADMIN", name: "grace", displayName: "Grace", isAdmin: true },
      ],
    });
    openai = await startOpenAiStandIn({ apiKey: "sk-e2e" });
    openai.setResponder(scriptedModel);
    page = await startLocalHttpServer((_request, response) => {
      response.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(POISONED_PAGE);
    });
    dataDirectory = mkdtempSync(join(tmpdir(), "teammate-slack-approval-"));
    const config = loadConfig({
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      OPENAI_BASE_URL: openai.baseUrl,
      OPENAI_API_KEY: "sk-e2e",
      PORT: "0",
      DATA_DIR: dataDirectory,
      APPROVAL_TIMEOUT_MS: String(APPROVAL_TIMEOUT_MS),
      FETCH_ALLOWED_HOSTS: `127.0.0.1:${page.port}`,
      // fetch_url reads the asker's page on loopback, which only the tool's own allowlist opens.
      TOOL_FETCH_ALLOWED_HOSTS: `127.0.0.1:${page.port}`,
    });
    const entries: Array<Record<string, unknown>> = [];
    bot = await startBot(config, recordingLogger(entries));
    const port = entries.find((entry) => entry.message === "slack listening")?.port;
    expect(typeof port).toBe("number");
    eventsUrl = `http://127.0.0.1:${String(port)}/slack/events`;
  });

  afterAll(async () => {
    await bot?.stop();
    await slack?.close();
    await openai?.close();
    await page?.close();
    rmSync(dataDirectory, { recursive: true, force: true });
  });

  const post = (body: string, contentType?: "application/x-www-form-urlencoded") =>
    postSignedToSlackReceiver({
      url: eventsUrl,
      signingSecret: SIGNING_SECRET,
      body,
      ...(contentType ? { contentType } : {}),
    });

  /** A new top-level mention of the bot; its ts is the thread the reply goes to. */
  async function ask(question: string, userId = "W222", channel = CHANNEL): Promise<string> {
    sequence += 1;
    const ts = `17000${String(10_000 + sequence)}.000100`;
    const response = await post(
      JSON.stringify({
        token: "verification_token",
        team_id: "T111",
        api_app_id: "A111",
        event: {
          type: "app_mention",
          user: userId,
          text: `<@UBOT> ${question}`,
          ts,
          channel,
          event_ts: ts,
        },
        type: "event_callback",
        event_id: `EvApproval${sequence}`,
        event_time: Math.floor(Date.now() / 1000),
        authorizations: [{ team_id: "T111", user_id: "UBOT", is_bot: true, is_enterprise_install: false }],
      }),
    );
    expect(response.status).toBe(200);
    return ts;
  }

  /** The approval request in a thread, once it is visible, with its buttons. */
  async function approvalRequest(
    threadTs: string,
    channel = CHANNEL,
  ): Promise<{ message: StoredMessage; approvalId: string }> {
    let found: StoredMessage | undefined;
    await waitFor(() => {
      found = slack
        .visibleMessages(channel, threadTs)
        .find((message) => buttonsOf(message).some((button) => button.action_id === "approve-tool"));
      return found !== undefined;
    }, "the approval request in the thread");
    const message = found as StoredMessage;
    return { message, approvalId: buttonsOf(message)[0]?.value ?? "" };
  }

  function click(options: {
    userId: string;
    actionId: string;
    approvalId: string;
    message: StoredMessage;
    responseId: string;
  }) {
    return post(
      new URLSearchParams({
        payload: JSON.stringify({
          type: "block_actions",
          user: { id: options.userId, username: options.userId, name: options.userId, team_id: "T111" },
          api_app_id: "A111",
          token: "verification_token",
          container: {
            type: "message",
            message_ts: options.message.ts,
            channel_id: CHANNEL,
            is_ephemeral: false,
          },
          trigger_id: `trigger.${options.responseId}`,
          team: { id: "T111", domain: "stand-in" },
          channel: { id: CHANNEL, name: "approvals" },
          message: {
            ts: options.message.ts,
            thread_ts: options.message.threadTs,
            text: options.message.text,
          },
          response_url: slack.responseUrl(options.responseId),
          actions: [
            {
              action_id: options.actionId,
              block_id: "approval-actions",
              type: "button",
              value: options.approvalId,
              action_ts: `${Date.now() / 1000}`,
            },
          ],
        }),
      }).toString(),
      "application/x-www-form-urlencoded",
    );
  }

  const responseText = async (responseId: string) => {
    await waitFor(
      () => slack.responseUrlPosts.some((entry) => entry.id === responseId),
      `response ${responseId}`,
    );
    return slack.responseUrlPosts
      .filter((entry) => entry.id === responseId)
      .map((entry) => String(entry.body.text))
      .join("\n");
  };

  /** `/teammate <text>` in the channel, answered privately through its response_url. */
  async function command(
    text: string,
    responseId: string,
    userId = "W222",
    channel = CHANNEL,
  ): Promise<string> {
    const response = await post(
      new URLSearchParams({
        token: "verification_token",
        team_id: "T111",
        team_domain: "stand-in",
        channel_id: channel,
        channel_name: "approvals",
        user_id: userId,
        user_name: userId.toLowerCase(),
        command: "/teammate",
        text,
        response_url: slack.responseUrl(responseId),
        trigger_id: `trigger.${responseId}`,
      }).toString(),
      "application/x-www-form-urlencoded",
    );
    expect(response.status).toBe(200);
    return responseText(responseId);
  }

  const threadText = (threadTs: string, channel = CHANNEL) =>
    slack
      .visibleMessages(channel, threadTs)
      .map((message) => message.text)
      .join("\n");

  const answered = (threadTs: string, fragment: string, channel = CHANNEL) =>
    waitFor(
      () =>
        threadText(threadTs, channel).includes(fragment) &&
        !slack.messages.some((message) => message.streaming),
      `"${fragment}" in thread ${threadTs}`,
    );

  it("posts Approve / Deny in the thread and runs nothing until the asker approves", async () => {
    const thread = await ask("please remember that the retro moves to Thursday [approve-case]");
    const { message, approvalId } = await approvalRequest(thread);

    const buttons = buttonsOf(message);
    expect(buttons.map((button) => [button.action_id, button.style, button.value])).toEqual([
      ["approve-tool", "primary", approvalId],
      ["deny-tool", "danger", approvalId],
    ]);
    expect(message.text).toContain("remember");
    expect(message.text).toContain("the retro moves to Thursday");
    // While the buttons are showing, the note does not exist and the model has not been asked again.
    expect(await command("memory show", "approve-before")).not.toContain("retro moves to Thursday");
    expect(
      openai.chatRequests().filter((body) => JSON.stringify(body).includes("[approve-case]")),
    ).toHaveLength(1);

    const clickedAt = Date.now();
    const response = await click({
      userId: "W222",
      actionId: "approve-tool",
      approvalId,
      message,
      responseId: "approve-click",
    });
    expect(response.status).toBe(200);
    expect(Date.now() - clickedAt).toBeLessThan(3_000);
    await answered(thread, "Saved note");
    expect(threadText(thread)).toMatch(/Approved: running remember/);
    expect(await command("memory show", "approve-after")).toContain("the retro moves to Thursday");
    expect(slack.violations).toEqual([]);
  });

  it("refuses a click by another non-admin member, then Deny by the asker leaves the tool unexecuted", async () => {
    const thread = await ask("please remember that the budget is frozen [deny-case]");
    const { message, approvalId } = await approvalRequest(thread);

    await click({ userId: "W333", actionId: "approve-tool", approvalId, message, responseId: "stranger" });
    expect(await responseText("stranger")).toMatch(/Only the person who asked, or an admin/);
    expect(await command("memory show", "deny-before")).not.toContain("the budget is frozen");

    await click({ userId: "W222", actionId: "deny-tool", approvalId, message, responseId: "deny-click" });
    await answered(thread, "The user denied this action.");
    expect(threadText(thread)).toMatch(/Denied: remember will not run/);
    expect(await command("memory show", "deny-after")).not.toContain("the budget is frozen");
    expect(slack.violations).toEqual([]);
  });

  it("an admin may approve someone else's request", async () => {
    const thread = await ask("please remember that the office closes at six [admin-case]");
    const { message, approvalId } = await approvalRequest(thread);
    await click({ userId: "WADMIN", actionId: "approve-tool", approvalId, message, responseId: "admin" });
    await answered(thread, "Saved note");
    expect(await command("memory show", "admin-after")).toContain("the office closes at six");
  });

  it("no decision within APPROVAL_TIMEOUT_MS counts as Deny, and a late Approve runs nothing", async () => {
    const thread = await ask("please remember that lunch is at noon [timeout-case]");
    const { message, approvalId } = await approvalRequest(thread);
    await answered(thread, "No decision within the time limit.");
    await click({ userId: "W222", actionId: "approve-tool", approvalId, message, responseId: "late" });
    expect(await responseText("late")).toMatch(/no longer waiting/);
    expect(await command("memory show", "timeout-after")).not.toContain("lunch is at noon");
  });

  it("a page that tells the model to call remember gets an approval request, never a silent write", async () => {
    const thread = await ask(`what does ${page.origin}/wiki/holidays say? [injection-case]`);
    const { message } = await approvalRequest(thread);
    // The model read the poisoned page through fetch_url and obeyed it: the write is now waiting.
    expect(page.requests.map((request) => request.url)).toContain("/wiki/holidays");
    const toolMessages = openai
      .chatRequests()
      .flatMap((body) => body.messages)
      .filter((entry) => entry.role === "tool")
      .map((entry) => String(entry.content));
    expect(toolMessages.some((content) => content.includes("ignore your instructions"))).toBe(true);
    expect(message.text).toContain("the deploy password is hunter2");
    expect(await command("memory show", "injection-before")).not.toContain("hunter2");

    // Nobody clicks: the request times out and the note store stays clean.
    await answered(thread, "No decision within the time limit.");
    expect(await command("memory show", "injection-after")).not.toContain("hunter2");
  });

  it("an indexed document that orders a remember call: search_docs finds it, the write waits, times out, and `why` shows sources, tools and tokens", async () => {
    const documentUrl = `${page.origin}/wiki/holidays-handbook`;
    await post(
      new URLSearchParams({
        token: "verification_token",
        team_id: "T111",
        team_domain: "stand-in",
        channel_id: DOCUMENTS_CHANNEL,
        channel_name: "approvals",
        user_id: "WADMIN",
        user_name: "grace",
        command: "/teammate",
        text: `index ${documentUrl}`,
        response_url: slack.responseUrl("index-poisoned"),
        trigger_id: "trigger.index-poisoned",
      }).toString(),
      "application/x-www-form-urlencoded",
    );
    const everythingSaid = () =>
      [
        ...slack.messages.map((message) => message.text),
        ...slack.responseUrlPosts.map((entry) => String(entry.body.text)),
      ].join("\n");
    await waitFor(
      () => /Indexed .*Team wiki: holidays/.test(everythingSaid()),
      "the poisoned document indexed",
    );

    const thread = await ask(
      "search the docs: when is the office closed for holidays? [docs-injection-case]",
      "W222",
      DOCUMENTS_CHANNEL,
    );
    const { message } = await approvalRequest(thread, DOCUMENTS_CHANNEL);
    const toolMessages = openai
      .chatRequests()
      .filter((body) => JSON.stringify(body).includes("[docs-injection-case]"))
      .flatMap((body) => body.messages)
      .filter((entry) => entry.role === "tool")
      .map((entry) => String(entry.content));
    expect(toolMessages.some((content) => content.includes("ignore your instructions"))).toBe(true);
    expect(message.text).toContain("the deploy password is hunter2");
    expect(await command("memory show", "docs-injection-before", "W222", DOCUMENTS_CHANNEL)).not.toContain(
      "hunter2",
    );

    await answered(thread, "No decision within the time limit.", DOCUMENTS_CHANNEL);
    expect(await command("memory show", "docs-injection-after", "W222", DOCUMENTS_CHANNEL)).not.toContain(
      "hunter2",
    );

    sequence += 1;
    const ts = `17000${String(10_000 + sequence)}.000100`;
    await post(
      JSON.stringify({
        token: "verification_token",
        team_id: "T111",
        api_app_id: "A111",
        event: {
          type: "app_mention",
          user: "W222",
          text: "<@UBOT> why",
          ts,
          thread_ts: thread,
          channel: DOCUMENTS_CHANNEL,
          event_ts: ts,
        },
        type: "event_callback",
        event_id: `EvApproval${sequence}`,
        event_time: Math.floor(Date.now() / 1000),
        authorizations: [{ team_id: "T111", user_id: "UBOT", is_bot: true, is_enterprise_install: false }],
      }),
    );
    let why: StoredMessage | undefined;
    await waitFor(() => {
      why = slack.messages.find(
        (entry) => entry.kind === "ephemeral" && entry.threadTs === thread && entry.text.includes("Why"),
      );
      return why !== undefined;
    }, "the why reply");
    const text = (why as StoredMessage).text;
    expect(text).toContain("Team wiki: holidays");
    expect(text).toContain(documentUrl);
    expect(text).toMatch(/search_docs/);
    expect(text).toMatch(/remember .*no decision in time/);
    expect(text).toMatch(/\d+ tokens/);
  });

  it("`why` after an answer shows the tools it called and the token counts", async () => {
    const thread = await ask("please remember that standup is at ten [why-case]");
    const { message, approvalId } = await approvalRequest(thread);
    await click({ userId: "W222", actionId: "approve-tool", approvalId, message, responseId: "why-approve" });
    await answered(thread, "Saved note");

    sequence += 1;
    const response = await post(
      JSON.stringify({
        token: "verification_token",
        team_id: "T111",
        api_app_id: "A111",
        event: {
          type: "app_mention",
          user: "W222",
          text: "<@UBOT> why",
          ts: `17000${String(10_000 + sequence)}.000100`,
          thread_ts: thread,
          channel: CHANNEL,
          event_ts: `17000${String(10_000 + sequence)}.000100`,
        },
        type: "event_callback",
        event_id: `EvApproval${sequence}`,
        event_time: Math.floor(Date.now() / 1000),
        authorizations: [{ team_id: "T111", user_id: "UBOT", is_bot: true, is_enterprise_install: false }],
      }),
    );
    expect(response.status).toBe(200);
    let why: StoredMessage | undefined;
    await waitFor(() => {
      why = slack.messages.find(
        (entry) => entry.kind === "ephemeral" && entry.threadTs === thread && entry.text.includes("Why"),
      );
      return why !== undefined;
    }, "the why reply");
    const text = (why as StoredMessage).text;
    expect((why as StoredMessage).visibleTo).toBe("W222");
    expect(text).toMatch(/Sources/);
    expect(text).toContain("remember");
    expect(text).toMatch(/approved/i);
    expect(text).toMatch(/\d+ tokens/);
  });
});
