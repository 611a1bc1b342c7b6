import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SpanKind } from "@opentelemetry/api";
import {
  InMemorySpanExporter,
  NodeTracerProvider,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-node";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisMemoryStore } from "../../src/adapters/redis/redis-memory-store.js";
import { type Application, createApplication } from "../../src/application.js";
import { loadConfig } from "../../src/config.js";
import { silentLogger } from "../../src/core/ports/logger.js";
import { obliterateQueue, REDIS_URL } from "../support/bullmq-test-queue.js";
import { waitFor } from "../support/e2e-helpers.js";
import { type LocalHttpServer, startLocalHttpServer } from "../support/local-http-server.js";
import { type OpenAiStandIn, startOpenAiStandIn } from "../support/openai-stand-in.js";
import { type SlackBot, SlackDriver, startSlackBot } from "../support/slack-e2e-driver.js";
import { type SlackStandIn, startSlackStandIn } from "../support/slack-stand-in.js";

const SIGNING_SECRET = "tracing-signing-secret";
const CHANNEL = "C900";
const QUESTION = "on which day do deploys happen after the change review, and what is six times seven?";
const RUNBOOK = "# Deploy runbook\n\nDeploys happen on Tuesdays after the change review, never on Fridays.\n";

const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
const idOf = (span: ReadableSpan) => span.spanContext().spanId;
const traceOf = (span: ReadableSpan) => span.spanContext().traceId;

describe("OpenTelemetry: one trace per message, jobs continue it (startBot + worker on Redis, in-memory exporter)", () => {
  const runId = randomUUID().slice(0, 8);
  const teamId = `TT${runId}`;
  const queueNames = { queueName: "teammate", prefix: `teammate-trace-${runId}` };
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  let slack: SlackStandIn;
  let openai: OpenAiStandIn;
  let documents: LocalHttpServer;
  let dataDirectory: string;
  let bot: SlackBot;
  let worker: Application;
  let driver: SlackDriver;

  beforeAll(async () => {
    // The AsyncLocalStorage context manager, as `startTracing` registers it in production.
    provider.register();
    slack = await startSlackStandIn({
      botToken: "xoxb-tracing-1111-token",
      teamId,
      users: [
        { id: "W222", name: "ada", displayName: "Ada" },
        { id: "WADMIN", name: "grace", displayName: "Grace", isAdmin: true },
      ],
    });
    openai = await startOpenAiStandIn({ apiKey: "sk-tracing" });
    openai.setResponder((body) => {
      const last = body.messages.at(-1);
      if (last?.role === "tool")
        return { kind: "text", text: "Deploys happen on Tuesdays [1]; six times seven is 42." };
      return { kind: "tool-calls", calls: [{ name: "calculator", arguments: '{"expression":"6*7"}' }] };
    });
    documents = await startLocalHttpServer((_request, response) => {
      response.writeHead(200, { "content-type": "text/markdown; charset=utf-8" }).end(RUNBOOK);
    });
    dataDirectory = mkdtempSync(join(tmpdir(), "teammate-tracing-"));
    const config = loadConfig({
      SLACK_BOT_TOKEN: "xoxb-tracing-1111-token",
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      OPENAI_BASE_URL: openai.baseUrl,
      OPENAI_API_KEY: "sk-tracing",
      EMBEDDING_MODEL: "text-embedding-3-small",
      REDIS_URL,
      QUEUE_PREFIX: queueNames.prefix,
      DATA_DIR: dataDirectory,
      FETCH_ALLOWED_HOSTS: `127.0.0.1:${documents.port}`,
      PORT: "0",
    });
    bot = await startSlackBot(config, { tracerProvider: provider });
    // The worker: the same composition root as `npm run worker`, its jobs taken from Redis.
    worker = await createApplication(config, silentLogger, { role: "worker", tracerProvider: provider });
    driver = new SlackDriver(slack, `${bot.origin}/slack/events`, SIGNING_SECRET, "tracing");
  });

  afterAll(async () => {
    await bot?.stop();
    await worker?.close();
    const client = new Redis(REDIS_URL);
    await new RedisMemoryStore({ client }).forgetChannel({
      platform: "slack",
      workspaceId: teamId,
      channelId: CHANNEL,
    });
    await client.quit();
    await obliterateQueue(queueNames);
    await provider.shutdown();
    await slack?.close();
    await openai?.close();
    await documents?.close();
    rmSync(dataDirectory, { recursive: true, force: true });
  });

  /** The root span of the message with this Slack ts, and every span of its trace. */
  function traceOfMessage(spans: ReadableSpan[], ts: string) {
    // A mention at the top of the channel is answered in its own thread, named after its ts.
    const root = spans.find(
      (span) => span.name === "slack message" && span.attributes["teammate.thread_id"] === ts,
    );
    if (!root) throw new Error(`no root span for message ${ts}`);
    return { root, spans: spans.filter((span) => traceOf(span) === traceOf(root)) };
  }

  it("traces the index command into the worker's job, and the question through retrieval, each LLM call and the tool", async () => {
    // 1. An admin asks to index a page: the bot queues the job, the worker runs it.
    const indexTs = await driver.mention({
      text: `index ${documents.origin}/runbook.md`,
      user: "WADMIN",
      channel: CHANNEL,
      team: teamId,
    });
    await waitFor(
      () => slack.messages.some((message) => message.text.startsWith("✅ Indexed 1 of 1 documents")),
      "the indexing job to finish on the worker",
      25_000,
    );

    // 2. Someone asks; the answer uses the indexed page and the calculator.
    const questionTs = await driver.mention({ text: QUESTION, user: "W222", channel: CHANNEL, team: teamId });
    await waitFor(() => driver.answered(CHANNEL, questionTs, "six times seven is 42"), "the answer");
    await waitFor(
      () => exporter.getFinishedSpans().filter((span) => span.name === "slack message").length >= 2,
      "both root spans to end",
    );
    await provider.forceFlush();
    const spans = exporter.getFinishedSpans();

    // Each message is one trace of its own.
    const indexing = traceOfMessage(spans, indexTs);
    const question = traceOfMessage(spans, questionTs);
    expect(traceOf(indexing.root)).not.toBe(traceOf(question.root));
    expect(indexing.root.parentSpanContext).toBeUndefined();
    expect(indexing.root.kind).toBe(SpanKind.SERVER);
    expect(indexing.root.attributes).toMatchObject({
      "teammate.platform": "slack",
      "teammate.workspace_id": teamId,
      "teammate.channel_id": CHANNEL,
      "teammate.user_id": "WADMIN",
    });

    // The job ran on the worker inside the trace of the message that queued it.
    const enqueue = indexing.spans.find((span) => span.name === "enqueue ingest-documents");
    const job = spans.find((span) => span.name === "job ingest-documents");
    expect(enqueue && parentOf(enqueue)).toBe(idOf(indexing.root));
    expect(job && traceOf(job)).toBe(traceOf(indexing.root));
    expect(job && parentOf(job)).toBe(enqueue && idOf(enqueue));
    expect(job?.kind).toBe(SpanKind.CONSUMER);
    const jobEmbeddings = indexing.spans.find(
      (span) => span.name === "embeddings text-embedding-3-small" && job && parentOf(span) === idOf(job),
    );
    expect(jobEmbeddings?.attributes["gen_ai.operation.name"]).toBe("embeddings");

    // The question: retrieval (with the question's embedding under it), two chat calls, the tool between them.
    const children = question.spans
      .filter((span) => parentOf(span) === idOf(question.root))
      .sort(
        (left, right) =>
          (left.startTime[0] - right.startTime[0]) * 1e9 + (left.startTime[1] - right.startTime[1]),
      )
      .map((span) => span.name);
    expect(children).toEqual([
      "retrieval sqlite",
      "chat gpt-4.1-mini",
      "execute_tool calculator",
      "chat gpt-4.1-mini",
    ]);
    const retrieval = question.spans.find((span) => span.name === "retrieval sqlite");
    expect(retrieval?.attributes).toMatchObject({
      "gen_ai.operation.name": "retrieval",
      "teammate.retrieval.passages": 1,
    });
    expect(
      question.spans.some(
        (span) => span.name.startsWith("embeddings") && retrieval && parentOf(span) === idOf(retrieval),
      ),
    ).toBe(true);

    const chats = question.spans.filter((span) => span.name === "chat gpt-4.1-mini");
    const served = openai.servedChunks
      .filter((event) => event !== "[DONE]")
      .map(
        (event) =>
          (JSON.parse(event) as { usage?: { prompt_tokens: number; completion_tokens: number } }).usage,
      )
      .filter((usage) => usage !== undefined);
    expect(chats.map((span) => span.attributes)).toEqual([
      expect.objectContaining({
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4.1-mini",
        "gen_ai.response.model": "gpt-4.1-mini",
        "gen_ai.response.finish_reasons": ["tool_calls"],
        "gen_ai.usage.input_tokens": served.at(-2)?.prompt_tokens,
        "gen_ai.usage.output_tokens": served.at(-2)?.completion_tokens,
        "server.address": "127.0.0.1",
      }),
      expect.objectContaining({
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.usage.input_tokens": served.at(-1)?.prompt_tokens,
        "gen_ai.usage.output_tokens": served.at(-1)?.completion_tokens,
      }),
    ]);
    expect(chats.every((span) => span.kind === SpanKind.CLIENT)).toBe(true);
    const tool = question.spans.find((span) => span.name === "execute_tool calculator");
    expect(tool?.attributes).toMatchObject({
      "gen_ai.operation.name": "execute_tool",
      "gen_ai.tool.name": "calculator",
    });

    // No message text, prompt, answer or tool argument on any span without OTEL_CAPTURE_CONTENT.
    const everything = JSON.stringify(spans.map((span) => span.attributes));
    expect(everything).not.toContain("six times seven");
    expect(everything).not.toContain("Tuesdays");
    expect(everything).not.toContain("6*7");
    expect(everything).not.toContain("gen_ai.input.messages");
  });
});
