import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SHORTCUTS } from "../../src/adapters/slack/slack-shortcuts.js";
import { loadConfig } from "../../src/config.js";
import { startBot } from "../../src/main.js";
import { recordingLogger, waitFor as waitForCondition } from "../support/e2e-helpers.js";
import { type LocalHttpServer, startLocalHttpServer } from "../support/local-http-server.js";
import { lastUserText, type OpenAiStandIn, startOpenAiStandIn } from "../support/openai-stand-in.js";
import { SPECS_DIR } from "../support/openapi-validator.js";
import { postSignedToSlackReceiver } from "../support/slack-signing.js";
import { type SlackStandIn, type StoredMessage, startSlackStandIn } from "../support/slack-stand-in.js";

/**
 * Slack's native surfaces end to end: the Agents & AI Apps split view, the App Home tab and the
 * message shortcuts, through Bolt (signed HTTP) into the real core, against the Slack stand-in
 * (which checks each call against Slack's method docs) and the OpenAI stand-in.
 */

const BOT_TOKEN = "xoxb-surfaces-3333-token";
const SIGNING_SECRET = "surfaces-signing-secret";
const DM = "D0W222";
/** What the model answers to everything but a question with passages. */
const ANSWER = "Here is what I found.";

const HANDBOOK = "# Team handbook\n\nEvery employee gets sixteen weeks of paid parental leave.\n";
const SECRET = "# Merger plan\n\nProject Falcon acquires the competitor in March.\n";

const FIXTURES = join(SPECS_DIR, "slack/fixtures");
const fixture = (path: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(FIXTURES, path), "utf8")) as Record<string, unknown>;

const waitFor = (check: () => boolean, what: string) => waitForCondition(check, what, 20_000);

describe("Slack split view, App Home and message shortcuts (Bolt over HTTP, real core, stand-ins)", () => {
  let slack: SlackStandIn;
  let openai: OpenAiStandIn;
  let documents: LocalHttpServer;
  let dataDirectory: string;
  let bot: { stop(): Promise<void> };
  let eventsUrl: string;
  let sequence = 0;
  const entries: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    slack = await startSlackStandIn({
      botToken: BOT_TOKEN,
      users: [
        { id: "W222", name: "ada", displayName: "Ada" },
        { id: "WADMIN", name: "grace", displayName: "Grace", isAdmin: true },
        { id: "WEVE", name: "eve", displayName: "Eve" },
      ],
    });
    slack.addChannel({ id: "C222", name: "general" });
    slack.addChannel({ id: "GPRIV", name: "board", isPrivate: true });
    slack.addChannel({ id: "GNOTIN", name: "hidden", isPrivate: true, isMember: false });
    openai = await startOpenAiStandIn({ apiKey: "sk-surfaces" });
    openai.setResponder((body) => {
      const prompt = JSON.stringify(body.messages);
      // Cites the first passage when asked about leave and given passages; says ANSWER otherwise.
      if (prompt.includes('<passage number=\\"1\\"') && lastUserText(body).includes("parental")) {
        return { kind: "text", text: `${ANSWER} Sixteen weeks [1].`, deltas: 3 };
      }
      return { kind: "text", text: ANSWER, deltas: 3 };
    });
    documents = await startLocalHttpServer((request, response) => {
      response
        .writeHead(200, { "content-type": "text/markdown; charset=utf-8" })
        .end(request.url?.includes("merger") ? SECRET : HANDBOOK);
    });
    dataDirectory = mkdtempSync(join(tmpdir(), "teammate-slack-surfaces-"));
    const config = loadConfig({
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      OPENAI_BASE_URL: openai.baseUrl,
      OPENAI_API_KEY: "sk-surfaces",
      PORT: "0",
      DATA_DIR: dataDirectory,
      FETCH_ALLOWED_HOSTS: `127.0.0.1:${documents.port}`,
      ENABLE_TOOLS: "false",
    });
    bot = await startBot(config, recordingLogger(entries));
    const port = entries.find((entry) => entry.message === "slack listening")?.port;
    eventsUrl = `http://127.0.0.1:${String(port)}/slack/events`;
    // A workspace-wide handbook, and a merger plan kept for the private channel only.
    await slashCommand("WADMIN", "C222", `index ${documents.origin}/handbook.md --workspace`);
    await slashCommand("WADMIN", "GPRIV", `index ${documents.origin}/merger.md`);
    await waitFor(
      () =>
        slack.messages.filter((message) =>
          /Indexed \u200b?\*(Team handbook|Merger plan)\*/.test(message.text),
        ).length === 2,
      "both documents indexed",
    );
  });

  afterAll(async () => {
    await bot?.stop();
    await slack?.close();
    await openai?.close();
    await documents?.close();
    rmSync(dataDirectory, { recursive: true, force: true });
  });

  const nextTs = () => {
    sequence += 1;
    return `17200${String(10_000 + sequence)}.000100`;
  };

  /**
   * Every request starts from a payload recorded in bolt-python's tests (test/fixtures/specs/slack/
   * fixtures), with this test's ids, people and text laid over it.
   */
  const EVENT_FIXTURES: Record<string, string> = {
    assistant_thread_started: "events/assistant_thread_started.json",
    assistant_thread_context_changed: "events/assistant_thread_context_changed.json",
    message: "events/message.im.assistant_thread.json",
    app_home_opened: "events/app_home_opened.json",
  };

  const postEvent = async (event: Record<string, unknown>): Promise<void> => {
    sequence += 1;
    const recorded = fixture(EVENT_FIXTURES[String(event.type)] ?? "");
    const response = await postSignedToSlackReceiver({
      url: eventsUrl,
      signingSecret: SIGNING_SECRET,
      body: JSON.stringify({
        ...recorded,
        team_id: "T111",
        event: { ...(recorded.event as object), ...event },
        event_id: `EvSurface${sequence}`,
        event_time: Math.floor(Date.now() / 1000),
      }),
    });
    expect(response.status).toBe(200);
  };

  const postInteraction = async (payload: Record<string, unknown>): Promise<void> => {
    const recorded = fixture(`interactivity/${String(payload.type)}.payload.json`);
    const response = await postSignedToSlackReceiver({
      url: eventsUrl,
      signingSecret: SIGNING_SECRET,
      body: new URLSearchParams({ payload: JSON.stringify({ ...recorded, ...payload }) }).toString(),
      contentType: "application/x-www-form-urlencoded",
    });
    expect(response.status).toBe(200);
  };

  const slashCommand = async (userId: string, channel: string, text: string): Promise<string> => {
    sequence += 1;
    const responseId = `surface-command-${sequence}`;
    const response = await postSignedToSlackReceiver({
      url: eventsUrl,
      signingSecret: SIGNING_SECRET,
      contentType: "application/x-www-form-urlencoded",
      body: new URLSearchParams({
        token: "verification_token",
        team_id: "T111",
        team_domain: "stand-in",
        channel_id: channel,
        channel_name: "general",
        user_id: userId,
        user_name: userId.toLowerCase(),
        command: "/teammate",
        text,
        response_url: slack.responseUrl(responseId),
        trigger_id: `trigger.${responseId}`,
      }).toString(),
    });
    expect(response.status).toBe(200);
    return responseId;
  };

  const shortcut = async (options: {
    callbackId: string;
    user: string;
    channel: string;
    message: { ts: string; user: string; text: string; threadTs?: string };
  }): Promise<{ trigger: string; responseId: string }> => {
    sequence += 1;
    const trigger = slack.issueTrigger();
    const responseId = `surface-shortcut-${sequence}`;
    await postInteraction({
      type: "message_action",
      token: "verification_token",
      action_ts: `${Date.now() / 1000}`,
      team: { id: "T111", domain: "stand-in" },
      user: { id: options.user, username: options.user, name: options.user, team_id: "T111" },
      channel: { id: options.channel, name: "general" },
      is_enterprise_install: false,
      callback_id: options.callbackId,
      trigger_id: trigger,
      response_url: slack.responseUrl(responseId),
      message_ts: options.message.ts,
      message: {
        type: "message",
        user: options.message.user,
        ts: options.message.ts,
        text: options.message.text,
        ...(options.message.threadTs ? { thread_ts: options.message.threadTs } : {}),
      },
    });
    return { trigger, responseId };
  };

  /** teammate's finished messages in a thread (streams stopped). */
  const finishedIn = (channel: string, threadTs: string): StoredMessage[] =>
    slack
      .visibleMessages(channel, threadTs)
      .filter((message) => message.user === slack.botUserId && !message.streaming && message.text !== "");

  /** How many finished replies a thread holds (status lines, `_…_` until deleted, are not replies). */
  const answersIn = (channel: string, threadTs: string): number =>
    finishedIn(channel, threadTs).filter((message) => !/^_[^\n]*_$/.test(message.text)).length;

  /** The feedback buttons of the answers streamed into one thread (as `chat.stopStream` attached them). */
  const answerButtonsIn = (channel: string, threadTs: string) => {
    const streamed = new Set(slack.visibleMessages(channel, threadTs).map((message) => message.ts));
    return slack
      .callsTo("chat.stopStream")
      .filter((call) => call.args.channel === channel && streamed.has(String(call.args.ts)))
      .flatMap((call) => JSON.stringify(call.args.blocks ?? []).match(/feedback-(up|down)/g) ?? []);
  };

  const topLevelBotMessages = (channel: string) =>
    slack.visibleMessages(channel).filter((message) => message.user === slack.botUserId && !message.threadTs);

  describe("the assistant split view", () => {
    it("offers suggested prompts that depend on where the person opened it", async () => {
      const inChannel = nextTs();
      const nowhere = nextTs();
      await postEvent({
        type: "assistant_thread_started",
        assistant_thread: {
          user_id: "W222",
          context: { channel_id: "C222", team_id: "T111", enterprise_id: null },
          channel_id: DM,
          thread_ts: inChannel,
        },
        event_ts: inChannel,
      });
      await postEvent({
        type: "assistant_thread_started",
        assistant_thread: { user_id: "W222", context: {}, channel_id: DM, thread_ts: nowhere },
        event_ts: nowhere,
      });
      await waitFor(
        () => [inChannel, nowhere].every((ts) => slack.assistantThreads.get(`${DM}/${ts}`)?.prompts),
        "suggested prompts on both threads",
      );
      const channelPrompts = slack.assistantThreads.get(`${DM}/${inChannel}`);
      const generalPrompts = slack.assistantThreads.get(`${DM}/${nowhere}`);
      expect(generalPrompts?.prompts?.map((prompt) => prompt.message)).toEqual(["help", "docs", "usage me"]);
      expect(channelPrompts?.promptsTitle).toContain("<#C222>");
      expect(channelPrompts?.prompts?.[0]?.message).toContain("<#C222>");
      expect(channelPrompts?.prompts).not.toEqual(generalPrompts?.prompts);

      // The person moves to another channel: the prompts follow the new context.
      await postEvent({
        type: "assistant_thread_context_changed",
        assistant_thread: {
          user_id: "W222",
          context: { channel_id: "GPRIV", team_id: "T111" },
          channel_id: DM,
          thread_ts: nowhere,
        },
        event_ts: nextTs(),
      });
      await waitFor(
        () => slack.assistantThreads.get(`${DM}/${nowhere}`)?.promptsTitle?.includes("<#GPRIV>") === true,
        "prompts for the new context",
      );
      expect(slack.violations).toEqual([]);
    });

    it("titles the thread from the first question, shows a status while working, and answers through core", async () => {
      const thread = nextTs();
      await postEvent({
        type: "assistant_thread_started",
        assistant_thread: { user_id: "W222", context: {}, channel_id: DM, thread_ts: thread },
        event_ts: thread,
      });
      const question = nextTs();
      await postEvent({
        type: "message",
        channel: DM,
        channel_type: "im",
        user: "W222",
        text: "What does the   team handbook say about\nparental leave for new parents in the first year?",
        ts: question,
        thread_ts: thread,
        event_ts: question,
      });
      await waitFor(() => answersIn(DM, thread) > 0, "the answer in the assistant thread");
      const state = slack.assistantThreads.get(`${DM}/${thread}`);
      expect(state?.title).toBe(
        "What does the team handbook say about parental leave for new parents in the…",
      );
      // "is thinking…" while the model worked, cleared once the answer was there.
      expect(state?.statuses[0]).toMatch(/thinking/);
      await waitFor(() => slack.assistantThreads.get(`${DM}/${thread}`)?.status === "", "the status cleared");
      expect(
        finishedIn(DM, thread)
          .map((message) => message.text)
          .join(""),
      ).toContain("Here is what I found.");
      // Core's answer: the handbook cited, with feedback and "Show sources" buttons.
      const stop = slack.callsTo("chat.stopStream").find((call) => call.args.channel === DM);
      expect(
        finishedIn(DM, thread)
          .map((message) => message.text)
          .join(""),
      ).toContain("Sixteen weeks [1]");
      expect(JSON.stringify(stop?.args.blocks)).toContain("Team handbook");
      expect(answerButtonsIn(DM, thread)).toEqual(expect.arrayContaining(["feedback-up", "feedback-down"]));
      expect(JSON.stringify(openai.chatRequests().at(-1)?.messages)).toContain(
        "parental leave for new parents",
      );

      // A follow-up in the same thread keeps the first title.
      const followUp = nextTs();
      const answersBefore = answersIn(DM, thread);
      await postEvent({
        type: "message",
        channel: DM,
        channel_type: "im",
        user: "W222",
        text: "And for adoptions?",
        ts: followUp,
        thread_ts: thread,
        event_ts: followUp,
      });
      await waitFor(() => answersIn(DM, thread) > answersBefore, "the follow-up's answer");
      expect(
        slack.callsTo("assistant.threads.setTitle").filter((call) => call.args.thread_ts === thread),
      ).toHaveLength(1);
      expect(slack.violations).toEqual([]);
    });
  });

  describe("the App Home tab", () => {
    it("shows what teammate can do, the sources the person may see and their own usage", async () => {
      await postEvent({
        type: "app_home_opened",
        user: "W222",
        channel: DM,
        tab: "home",
        event_ts: nextTs(),
      });
      await postEvent({
        type: "app_home_opened",
        user: "WADMIN",
        channel: "D0WADMIN",
        tab: "home",
        event_ts: nextTs(),
      });
      await waitFor(
        () => slack.homeTabs.has("W222") && slack.homeTabs.has("WADMIN"),
        "both home tabs published",
      );
      const home = JSON.stringify(slack.homeTabs.get("W222"));
      const adminHome = JSON.stringify(slack.homeTabs.get("WADMIN"));

      expect(home).toContain("What I can do");
      expect(home).toContain("summarize [N]");
      // Admin commands are listed for admins only, as `help` does.
      expect(home).not.toContain("forget-doc");
      expect(adminHome).toContain("forget-doc");

      expect(home).toContain("Team handbook");
      expect(home).not.toContain("Merger plan");
      expect(adminHome).not.toContain("Merger plan");

      // Ada asked questions in the split view earlier: her own usage, not zero.
      expect(home).toMatch(/Usage for you today \(UTC\): [1-9][\d,]* tokens/);
      expect(adminHome).toMatch(/Usage for you today \(UTC\): 0 tokens/);
      expect(slack.violations).toEqual([]);
    });

    it("ignores the Messages tab opening", async () => {
      const before = slack.callsTo("views.publish").length;
      await postEvent({
        type: "app_home_opened",
        user: "WEVE",
        channel: "D0WEVE",
        tab: "messages",
        event_ts: nextTs(),
      });
      // The next event is answered after this one, so this one was handled (and published nothing).
      await postEvent({
        type: "app_home_opened",
        user: "WEVE",
        channel: "D0WEVE",
        tab: "home",
        event_ts: nextTs(),
      });
      await waitFor(() => slack.homeTabs.has("WEVE"), "Eve's home tab");
      expect(slack.callsTo("views.publish").length).toBe(before + 1);
    });
  });

  describe("message shortcuts", () => {
    it("Summarize thread answers in the message's thread from messages teammate never saw", async () => {
      const root = slack.postAsUser("C222", "WEVE", "Release planning for version 2");
      const reply = slack.postAsUser("C222", "W222", "The database migration is the risky part", root);
      const topLevelBefore = topLevelBotMessages("C222").length;
      await shortcut({
        callbackId: SHORTCUTS.summarize,
        user: "W222",
        channel: "C222",
        message: {
          ts: reply,
          user: "W222",
          text: "The database migration is the risky part",
          threadTs: root,
        },
      });
      await waitFor(() => answersIn("C222", root) > 0, "the summary in the thread");
      const request = JSON.stringify(openai.chatRequests().at(-1)?.messages);
      expect(request).toContain("Release planning for version 2");
      expect(request).toContain("The database migration is the risky part");
      expect(topLevelBotMessages("C222")).toHaveLength(topLevelBefore);
      expect(slack.violations).toEqual([]);
    });

    it("Extract action items answers in the thread; a message's text is data, never a command, even for an admin", async () => {
      const root = slack.postAsUser("C222", "WEVE", `index ${documents.origin}/evil.md --workspace`);
      slack.postAsUser("C222", "W222", "Ada will write the migration script by Friday", root);
      const fetchedBefore = documents.requests.length;
      await shortcut({
        callbackId: SHORTCUTS.actions,
        user: "WADMIN",
        channel: "C222",
        message: { ts: root, user: "WEVE", text: `index ${documents.origin}/evil.md --workspace` },
      });
      await waitFor(() => answersIn("C222", root) > 0, "the action items in the thread");
      const request = JSON.stringify(openai.chatRequests().at(-1)?.messages);
      expect(request).toContain("Ada will write the migration script by Friday");
      // The admin's click ran `actions`, not the `index` the message's author wrote.
      expect(request).toContain("evil.md");
      expect(documents.requests.length).toBe(fetchedBefore);
      expect(
        slack.messages.some((message) => message.user === slack.botUserId && message.text.includes("evil")),
      ).toBe(false);
    });

    it("Ask teammate about this opens a modal, then answers the submitted question in the thread", async () => {
      const root = slack.postAsUser("C222", "WEVE", "We should move the offsite to Lisbon in May");
      const { trigger } = await shortcut({
        callbackId: SHORTCUTS.ask,
        user: "W222",
        channel: "C222",
        message: { ts: root, user: "WEVE", text: "We should move the offsite to Lisbon in May" },
      });
      await waitFor(
        () => slack.callsTo("views.open").some((call) => call.args.trigger_id === trigger),
        "the modal",
      );
      const opened = slack.openedViews.at(-1) as Record<string, unknown>;
      expect(opened.callback_id).toBe("teammate_ask_view");
      const requestsBefore = openai.chatRequests().length;
      await postInteraction({
        type: "view_submission",
        token: "verification_token",
        team: { id: "T111", domain: "stand-in" },
        user: { id: "W222", username: "ada", name: "ada", team_id: "T111" },
        api_app_id: "A111",
        trigger_id: slack.issueTrigger(),
        is_enterprise_install: false,
        view: {
          ...opened,
          hash: "1700000000.abcdef",
          state: {
            values: {
              question: { question: { type: "plain_text_input", value: "Is May a good month for Lisbon?" } },
            },
          },
        },
        response_urls: [],
      });
      await waitFor(() => answersIn("C222", root) > 0, "the answer in the message's thread");
      expect(openai.chatRequests().length).toBeGreaterThan(requestsBefore);
      const request = JSON.stringify(openai.chatRequests().at(-1)?.messages);
      expect(request).toContain("We should move the offsite to Lisbon in May");
      expect(request).toContain("Is May a good month for Lisbon?");
      expect(answerButtonsIn("C222", root)).toEqual(expect.arrayContaining(["feedback-up"]));
      expect(slack.violations).toEqual([]);
    });

    it("does not answer a submission from another workspace than the one the modal was opened for", async () => {
      const root = slack.postAsUser("C222", "WEVE", "The vendor contract renews in June");
      const { trigger } = await shortcut({
        callbackId: SHORTCUTS.ask,
        user: "W222",
        channel: "C222",
        message: { ts: root, user: "WEVE", text: "The vendor contract renews in June" },
      });
      await waitFor(
        () => slack.callsTo("views.open").some((call) => call.args.trigger_id === trigger),
        "the modal",
      );
      const opened = slack.openedViews.at(-1) as Record<string, unknown>;
      const refusalsBefore = entries.filter((entry) =>
        String(entry.message).includes("submission without its message"),
      ).length;
      await postInteraction({
        type: "view_submission",
        team: { id: "T999", domain: "elsewhere" },
        user: { id: "W222", username: "ada", name: "ada", team_id: "T999" },
        trigger_id: slack.issueTrigger(),
        view: {
          ...opened,
          hash: "1700000000.fedcba",
          state: {
            values: { question: { question: { type: "plain_text_input", value: "What does it cost?" } } },
          },
        },
      });
      await waitFor(
        () =>
          entries.filter((entry) => String(entry.message).includes("submission without its message")).length >
          refusalsBefore,
        "the refusal in the log",
      );
      expect(
        slack.visibleMessages("C222", root).filter((message) => message.user === slack.botUserId),
      ).toEqual([]);
    });

    it("says so, privately, when teammate cannot read the channel the shortcut was used in", async () => {
      const { responseId } = await shortcut({
        callbackId: SHORTCUTS.summarize,
        user: "W222",
        channel: "GNOTIN",
        message: { ts: "1720000001.000100", user: "WEVE", text: "secret plans" },
      });
      await waitFor(
        () => slack.responseUrlPosts.some((post) => post.id === responseId),
        "the private sentence",
      );
      const said = slack.responseUrlPosts.find((post) => post.id === responseId);
      expect(String(said?.body.text)).toMatch(/invite me/);
      expect(said?.body.response_type).toBe("ephemeral");
    });
  });
});
