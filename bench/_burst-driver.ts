/**
 * The other side of `npm run bench -- burst`, in a process of its own so that its work never counts
 * against the bot's event loop: runs the Slack and OpenAI stand-ins, fires the signed events at the
 * bot as Slack would (a re-delivery with X-Slack-Retry-Num when an ack takes over 3 s), times each
 * ack from outside, and counts the answers Slack would show. Talks to the bench over IPC.
 */
import { startOpenAiStandIn } from "../test/support/openai-stand-in.js";
import { signSlackBody } from "../test/support/slack-signing.js";
import { startSlackStandIn } from "../test/support/slack-stand-in.js";

// Made up by the bench for this run and handed over in the environment.
const BOT_TOKEN = process.env.BURST_BOT_TOKEN ?? "";
const SIGNING_SECRET = process.env.BURST_SIGNING_SECRET ?? "";
const CHANNEL = "CBURST";
const ANSWER = "Rivers carry water to the sea.";
const SLACK_ACK_LIMIT_MS = 3_000;

export interface GoMessage {
  type: "go";
  eventsUrl: string;
  count: number;
  /** How long to wait for every answer once the events are sent. */
  answerTimeoutMs: number;
}

export interface BurstResult {
  type: "result";
  ackMilliseconds: number[];
  retriesSent: number;
  answered: number;
  duplicates: number;
  llmRequests: number;
  violations: string[];
  drainMilliseconds: number;
}

const send = (message: unknown) => process.send?.(message);

const slack = await startSlackStandIn({
  botToken: BOT_TOKEN,
  users: Array.from({ length: 20 }, (_, index) => ({ id: `W${index}`, name: `member${index}` })),
});
const openai = await startOpenAiStandIn({ apiKey: "sk-burst" });
// A model of ordinary speed: a short wait for the first token, then a few deltas.
openai.setResponder(() => ({ kind: "text", text: ANSWER, deltas: 4, delayMs: 150, chunkDelayMs: 20 }));
send({ type: "ready", slackApiUrl: slack.apiUrl, openaiBaseUrl: openai.baseUrl });

function eventBody(index: number): { body: string; ts: string } {
  const ts = `1700001${String(index).padStart(3, "0")}.000100`;
  const body = JSON.stringify({
    team_id: "T111",
    api_app_id: "A111",
    type: "event_callback",
    event_id: `EvBurst${index}`,
    event_time: 1_700_001_000 + index,
    event: {
      type: "app_mention",
      user: `W${index % 20}`,
      text: `<@UBOT> where do rivers go? (${index})`,
      ts,
      channel: CHANNEL,
      event_ts: ts,
    },
    authorizations: [{ team_id: "T111", user_id: "UBOT", is_bot: true, is_enterprise_install: false }],
  });
  return { body, ts };
}

async function post(url: string, body: string, retryNum?: number): Promise<void> {
  const timestamp = Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "x-slack-request-timestamp": String(timestamp),
    "x-slack-signature": signSlackBody(SIGNING_SECRET, timestamp, body),
  };
  if (retryNum !== undefined) {
    headers["x-slack-retry-num"] = String(retryNum);
    headers["x-slack-retry-reason"] = "http_timeout";
  }
  const response = await fetch(url, { method: "POST", headers, body });
  await response.text();
  if (response.status !== 200) throw new Error(`event answered ${response.status}`);
}

function answersIn(ts: string): number {
  return slack
    .visibleMessages(CHANNEL, ts)
    .filter((message) => !message.streaming && message.text.includes(ANSWER)).length;
}

async function run(go: GoMessage): Promise<BurstResult> {
  const events = Array.from({ length: go.count }, (_, index) => eventBody(index));
  let retriesSent = 0;
  const ackMilliseconds = await Promise.all(
    events.map(async ({ body }) => {
      const started = performance.now();
      // As Slack does: no ack within 3 s, and the same event comes again.
      const retry = setTimeout(() => {
        retriesSent += 1;
        post(go.eventsUrl, body, 1).catch(() => {});
      }, SLACK_ACK_LIMIT_MS);
      try {
        await post(go.eventsUrl, body);
        return performance.now() - started;
      } catch {
        return Number.POSITIVE_INFINITY;
      } finally {
        clearTimeout(retry);
      }
    }),
  );
  const sentAt = performance.now();
  const deadline = Date.now() + go.answerTimeoutMs;
  const allAnswered = () => events.every(({ ts }) => answersIn(ts) >= 1);
  while (!allAnswered() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  const drainMilliseconds = performance.now() - sentAt;
  // A moment more, so a duplicate answer that was still on its way is counted too.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const counts = events.map(({ ts }) => answersIn(ts));
  return {
    type: "result",
    ackMilliseconds,
    retriesSent,
    answered: counts.filter((count) => count >= 1).length,
    duplicates: counts.reduce((sum, count) => sum + Math.max(0, count - 1), 0),
    llmRequests: openai.chatRequests().length,
    violations: [...slack.violations, ...openai.violations.map((violation) => violation.errors)],
    drainMilliseconds,
  };
}

process.on("message", (message: GoMessage | { type: "stop" }) => {
  if (message.type === "go") {
    void run(message).then(send, (error: unknown) => send({ type: "error", message: String(error) }));
  } else {
    void Promise.allSettled([slack.close(), openai.close()]).then(() => process.exit(0));
  }
});
