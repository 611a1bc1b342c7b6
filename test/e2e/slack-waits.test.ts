import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { NO_DOCUMENTS_NOTE } from "../../src/core/chains/answer-chain.js";
import { startBot } from "../../src/main.js";
import { recordingLogger, waitFor } from "../support/e2e-helpers.js";
import { type LocalHttpServer, startLocalHttpServer } from "../support/local-http-server.js";
import {
  type ChatRequestBody,
  lastUserText,
  type OpenAiStandIn,
  type StandInReply,
  startOpenAiStandIn,
} from "../support/openai-stand-in.js";
import { postSignedToSlackReceiver } from "../support/slack-signing.js";
import { type SlackStandIn, type StoredMessage, startSlackStandIn } from "../support/slack-stand-in.js";

const BOT_TOKEN = "xoxb-waits-3333-token";
const SIGNING_SECRET = "waits-signing-secret";
const CHANNEL = "C500";
/** Short, so the deadline cases end quickly; long enough for the still-working line (5 s) to show first. */
const LLM_TIMEOUT_MS = 12_000;
/** What the person may wait beyond LLM_TIMEOUT_MS for the final sentence. */
const MARGIN_MS = 2_500;

/**
 * The model's behaviour is chosen by a tag in the question, so each test's faults stay its own:
 * `[stall]` never answers, `[cut]` drops the connection mid-answer, `[loop]` calls a tool forever,
 * `[slow]` answers after 7 s; anything else answers at once.
 */
function model(body: ChatRequestBody): StandInReply {
  const question = lastUserText(body);
  if (question.includes("[stall]")) return { kind: "text", text: "never seen", delayMs: 120_000 };
  if (question.includes("[cut]")) {
    return { kind: "text", text: "Rivers start in the hills and then", deltas: 6, cutAfterChunks: 4 };
  }
  if (question.includes("[loop]") && body.tools && body.tools.length > 0) {
    return {
      kind: "tool-calls",
      text: "Let me work that out.",
      calls: [{ name: "calculator", arguments: JSON.stringify({ expression: "1 + 1" }) }],
    };
  }
  if (question.includes("[slow]")) return { kind: "text", text: "A slow but whole answer.", delayMs: 7_000 };
  return { kind: "text", text: "Rivers carry water to the sea.", deltas: 3 };
}

function hasButtons(message: StoredMessage): boolean {
  return (message.blocks as Array<{ type: string }>).some((block) => block.type === "actions");
}

describe("Slack: every question gets a sign at once and a sentence by its deadline (startBot, stand-ins)", () => {
  let slack: SlackStandIn;
  let openai: OpenAiStandIn;
  let dataDirectory: string;
  let bot: { stop(): Promise<void> };
  let eventsUrl: string;
  let sequence = 0;
  let documents: LocalHttpServer;
  /** Held document responses, released by the test. */
  const held: Array<() => void> = [];

  beforeAll(async () => {
    slack = await startSlackStandIn({
      botToken: BOT_TOKEN,
      users: [
        { id: "W222", name: "ada", displayName: "Ada" },
        { id: "WADMIN", name: "grace", displayName: "Grace", isAdmin: true },
      ],
    });
    documents = await startLocalHttpServer((request, response) => {
      const send = () =>
        response
          .writeHead(200, { "content-type": "text/markdown; charset=utf-8" })
          .end(`# ${request.url}\n\nRivers and lakes, page ${request.url}.\n`);
      if (request.url?.includes("held")) held.push(send);
      else send();
    });
    openai = await startOpenAiStandIn({ apiKey: "sk-e2e" });
    openai.setResponder(model);
    dataDirectory = mkdtempSync(join(tmpdir(), "teammate-slack-waits-"));
    const config = loadConfig({
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      OPENAI_BASE_URL: openai.baseUrl,
      OPENAI_API_KEY: "sk-e2e",
      LLM_TIMEOUT_MS: String(LLM_TIMEOUT_MS),
      MAX_CONCURRENT_ANSWERS: "1",
      AGENT_MAX_STEPS: "2",
      PORT: "0",
      DATA_DIR: dataDirectory,
      FETCH_ALLOWED_HOSTS: `127.0.0.1:${documents.port}`,
    });
    const entries: Array<Record<string, unknown>> = [];
    bot = await startBot(config, recordingLogger(entries));
    const port = entries.find((entry) => entry.message === "slack listening")?.port;
    eventsUrl = `http://127.0.0.1:${String(port)}/slack/events`;
  });

  afterAll(async () => {
    await bot?.stop();
    await slack?.close();
    await openai?.close();
    await documents?.close();
    rmSync(dataDirectory, { recursive: true, force: true });
  });

  /** Posts a signed app_mention; a thread reply when `threadTs` is given. Returns the message's ts. */
  async function mention(text: string, threadTs?: string): Promise<{ ts: string; ackedAfterMs: number }> {
    sequence += 1;
    const ts = `1700000${String(500 + sequence).padStart(3, "0")}.000100`;
    const response = await postSignedToSlackReceiver({
      url: eventsUrl,
      signingSecret: SIGNING_SECRET,
      body: JSON.stringify({
        team_id: "T111",
        api_app_id: "A111",
        type: "event_callback",
        event_id: `EvWaits${sequence}`,
        event_time: 1_700_000_500 + sequence,
        event: {
          type: "app_mention",
          user: "W222",
          text: `<@UBOT> ${text}`,
          ts,
          channel: CHANNEL,
          event_ts: ts,
          ...(threadTs ? { thread_ts: threadTs } : {}),
        },
        authorizations: [{ team_id: "T111", user_id: "UBOT", is_bot: true, is_enterprise_install: false }],
      }),
    });
    expect(response.status).toBe(200);
    return { ts, ackedAfterMs: response.elapsedMilliseconds };
  }

  const thread = (ts: string) => slack.visibleMessages(CHANNEL, ts);
  const sentenceIn = (ts: string, pattern: RegExp) =>
    thread(ts).find((message) => pattern.test(message.text));
  const reactionAddedAt = (ts: string) =>
    slack.callsTo("reactions.add").find((call) => call.args.timestamp === ts)?.at;
  const reactionRemoved = (ts: string) =>
    slack.callsTo("reactions.remove").some((call) => call.args.timestamp === ts);

  it("a 429 asking for 30 s gets the rate-limit sentence with a reference id at once; nothing is stored or rated", async () => {
    openai.injectFault({ status: 429, times: 1, retryAfterMs: 30_000, path: "/chat/completions" });
    const started = Date.now();
    const { ts } = await mention("what do rivers carry? [first]");
    await waitFor(() => sentenceIn(ts, /too many requests/) !== undefined, "the rate-limit sentence");
    expect(Date.now() - started).toBeLessThan(5_000);
    const sentence = sentenceIn(ts, /too many requests/);
    expect(sentence?.text).toMatch(/\(ref [0-9a-f]{8}\)/);
    expect(thread(ts).some(hasButtons)).toBe(false);
    await waitFor(() => reactionRemoved(ts), "the 👀 to go");

    // Not remembered: a follow-up in the same thread reaches the model without the failed turn.
    const before = openai.chatRequests().length;
    await mention("and then? [second]", ts);
    await waitFor(() => sentenceIn(ts, /Rivers carry water/) !== undefined, "the follow-up's answer");
    const followUps = openai.chatRequests().slice(before);
    expect(followUps.length).toBeGreaterThan(0);
    for (const request of followUps) expect(JSON.stringify(request.messages)).not.toContain("[first]");
  });

  it("a model that never answers: 👀 at once, a still-working line, then the time-limit sentence by the deadline", async () => {
    const started = Date.now();
    const { ts, ackedAfterMs } = await mention("how deep is the sea? [stall]");
    expect(ackedAfterMs).toBeLessThan(3_000);
    await waitFor(() => reactionAddedAt(ts) !== undefined, "the 👀 reaction");
    expect((reactionAddedAt(ts) ?? Number.POSITIVE_INFINITY) - started).toBeLessThan(3_000);
    await waitFor(
      () => sentenceIn(ts, /12-second limit/) !== undefined,
      "the time-limit sentence",
      LLM_TIMEOUT_MS + MARGIN_MS + 5_000,
    );
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(LLM_TIMEOUT_MS + MARGIN_MS);
    expect(sentenceIn(ts, /12-second limit/)?.text).toMatch(/\(ref [0-9a-f]{8}\)/);
    const stillWorking = slack
      .callsTo("chat.postMessage")
      .concat(slack.callsTo("chat.update"))
      .filter((call) => call.args.thread_ts === ts || call.args.channel === CHANNEL)
      .filter((call) => /Still working on it/.test(String(call.args.text)));
    expect(stillWorking.length).toBeGreaterThan(0);
    expect((stillWorking[0]?.at ?? 0) - started).toBeGreaterThanOrEqual(4_500);
    // The status line is gone, the 👀 too: only the sentence remains.
    await waitFor(() => reactionRemoved(ts), "the 👀 to go");
    await waitFor(
      () => !thread(ts).some((message) => /Still working/.test(message.text)),
      "the still-working line to go",
    );
    expect(thread(ts).some(hasButtons)).toBe(false);
  });

  it("a stream cut mid-answer is marked as interrupted, then a sentence with a reference id; no 👍/👎", async () => {
    const { ts } = await mention("where do rivers start? [cut]");
    await waitFor(() => sentenceIn(ts, /cut off/) !== undefined, "the cut-off sentence");
    await waitFor(() => !slack.messages.some((message) => message.streaming), "the stream to stop");
    const partial = thread(ts).find((message) => message.kind === "stream");
    // The origin note goes out with the model's first words.
    expect(partial?.text.startsWith(`${NO_DOCUMENTS_NOTE}Rivers start`)).toBe(true);
    expect(partial?.text).toMatch(/interrupted: this answer is unfinished/);
    expect(sentenceIn(ts, /cut off/)?.text).toMatch(/\(ref [0-9a-f]{8}\)/);
    expect(thread(ts).some(hasButtons)).toBe(false);
    const stops = slack.callsTo("chat.stopStream").filter((call) => call.args.ts === partial?.ts);
    expect(stops).toHaveLength(1);
    expect(stops[0]?.args.blocks).toBeUndefined();
  });

  it("an agent that runs out of steps ends with a failure sentence naming the budget, not a stored answer", async () => {
    const { ts } = await mention("add one and one, forever [loop]");
    await waitFor(() => sentenceIn(ts, /limit of 2 steps/) !== undefined, "the step-budget sentence");
    expect(sentenceIn(ts, /limit of 2 steps/)?.text).toMatch(/\(ref [0-9a-f]{8}\)/);
    expect(thread(ts).some(hasButtons)).toBe(false);
    // `why` has no answer to explain in this thread: the failure was not saved as one.
    const before = openai.chatRequests().length;
    await mention("why", ts);
    await waitFor(
      () =>
        slack.messages.some(
          (message) => message.kind === "ephemeral" && /haven't answered anything here/.test(message.text),
        ),
      "`why` saying there is no answer",
    );
    expect(openai.chatRequests().length).toBe(before);
  });

  it("with the one answer slot busy, a second question gets 👀 at once and its place in line, then its answer", async () => {
    const first = await mention("tell me slowly [slow]");
    await waitFor(
      () => openai.chatRequests().some((request) => JSON.stringify(request).includes("[slow]")),
      "the slow request",
    );
    const askedAt = Date.now();
    const second = await mention("and quickly? [quick]");
    expect(second.ackedAfterMs).toBeLessThan(3_000);
    await waitFor(() => reactionAddedAt(second.ts) !== undefined, "the second question's 👀");
    expect((reactionAddedAt(second.ts) ?? Number.POSITIVE_INFINITY) - askedAt).toBeLessThan(3_000);
    await waitFor(
      () =>
        slack
          .callsTo("chat.postMessage")
          .some(
            (call) =>
              call.args.thread_ts === second.ts && /yours is next in line/.test(String(call.args.text)),
          ),
      "the place-in-line status",
    );
    await waitFor(() => sentenceIn(first.ts, /slow but whole/) !== undefined, "the first answer");
    await waitFor(() => sentenceIn(second.ts, /Rivers carry water/) !== undefined, "the second answer");
    await waitFor(
      () => !thread(second.ts).some((message) => /in line/.test(message.text)),
      "the place-in-line status to go",
    );
    expect(slack.violations).toEqual([]);
  });

  it("embedded indexing runs one document at a time and tells the second admin their place in line", async () => {
    const index = (text: string, responseId: string) =>
      postSignedToSlackReceiver({
        url: eventsUrl,
        signingSecret: SIGNING_SECRET,
        contentType: "application/x-www-form-urlencoded",
        body: new URLSearchParams({
          team_id: "T111",
          channel_id: CHANNEL,
          user_id: "WADMIN",
          user_name: "grace",
          command: "/teammate",
          text,
          response_url: slack.responseUrl(responseId),
          trigger_id: `trigger.${responseId}`,
        }).toString(),
      });
    const first = await index(`index ${documents.origin}/held-first.md`, "index-1");
    expect(first.status).toBe(200);
    await waitFor(() => held.length === 1, "the first download to begin");
    const second = await index(`index ${documents.origin}/second.md`, "index-2");
    expect(second.status).toBe(200);
    await waitFor(
      () =>
        slack
          .callsTo("chat.postMessage")
          .some(
            (call) => call.args.channel === CHANNEL && /yours is next in line/.test(String(call.args.text)),
          ),
      "the second request's place in line",
    );
    // While the first document is being indexed, the second is not even downloaded.
    expect(documents.requests.map((request) => request.url)).not.toContain("/second.md");
    held.shift()?.();
    const indexed = (name: string) =>
      slack
        .visibleMessages(CHANNEL)
        .some((message) => message.text.includes(`${name}.md`) && /Indexed/.test(message.text));
    await waitFor(() => indexed("held-first") && indexed("second"), "both documents indexed");
    expect(slack.violations).toEqual([]);
  });
});
