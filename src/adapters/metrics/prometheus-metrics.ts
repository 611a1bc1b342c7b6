import type { IncomingMessage, ServerResponse } from "node:http";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Assistant } from "../../core/assistant.js";
import type { JobQueue, JobState } from "../../core/ports/job-queue.js";
import type { ChatRequest, LlmProvider, TokenUsage } from "../../core/ports/llm-provider.js";

const JOB_STATES: JobState[] = ["waiting", "active", "delayed", "completed", "failed"];

/**
 * The Prometheus metrics of a bot or worker process, in a registry of its own (never prom-client's
 * global one, so tests and several instances do not collide). Exposed at `/metrics`.
 */
export class PrometheusMetrics {
  readonly registry = new Registry();
  readonly messages: Counter<"platform" | "kind">;
  readonly handlingSeconds: Histogram<"platform" | "kind">;
  readonly llmTokens: Counter<"kind">;
  private jobs: Pick<JobQueue, "counts"> | undefined;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true)
      collectDefaultMetrics({ register: this.registry, prefix: "teammate_" });
    this.messages = new Counter({
      name: "teammate_messages_total",
      help: "Messages and button clicks handled, by platform and kind (message or action).",
      labelNames: ["platform", "kind"],
      registers: [this.registry],
    });
    this.handlingSeconds = new Histogram({
      name: "teammate_answer_latency_seconds",
      help: "Time from receiving a message or click to the end of the reply.",
      labelNames: ["platform", "kind"],
      buckets: [0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60],
      registers: [this.registry],
    });
    this.llmTokens = new Counter({
      name: "teammate_llm_tokens_total",
      help: "Tokens the LLM endpoint reported, by kind (prompt or completion).",
      labelNames: ["kind"],
      registers: [this.registry],
    });
    const metrics = this;
    new Gauge({
      name: "teammate_jobs",
      help: "Jobs in the queue by state (read from the queue at scrape time).",
      labelNames: ["state"],
      registers: [this.registry],
      async collect() {
        if (!metrics.jobs) return;
        const counts = await metrics.jobs.counts().catch(() => undefined);
        if (!counts) return;
        for (const state of JOB_STATES) this.set({ state }, counts[state]);
      },
    });
  }

  /** Reports this queue's jobs by state. */
  watchJobs(jobs: Pick<JobQueue, "counts">): void {
    this.jobs = jobs;
  }

  recordUsage(usage: TokenUsage | undefined): void {
    if (!usage) return;
    this.llmTokens.inc({ kind: "prompt" }, usage.promptTokens);
    this.llmTokens.inc({ kind: "completion" }, usage.completionTokens);
  }

  /** The `/metrics` route. */
  route(): (request: IncomingMessage, response: ServerResponse) => Promise<void> {
    return async (_request, response) => {
      const body = await this.registry.metrics();
      response.writeHead(200, { "content-type": this.registry.contentType }).end(body);
    };
  }
}

/** The same assistant, counting and timing every message and click. */
export function instrumentAssistant(assistant: Assistant, metrics: PrometheusMetrics): Assistant {
  const timed = async <T>(platform: string, kind: string, work: () => Promise<T>): Promise<T> => {
    metrics.messages.inc({ platform, kind });
    const stop = metrics.handlingSeconds.startTimer({ platform, kind });
    try {
      return await work();
    } finally {
      stop();
    }
  };
  return {
    ...assistant,
    commands: assistant.commands,
    handle: (message, sink) => timed(message.platform, "message", () => assistant.handle(message, sink)),
    handleAction: (action, sink) =>
      timed(action.platform, "action", () => assistant.handleAction(action, sink)),
  };
}

/** The same LLM provider, counting the tokens each reply reports. */
export function instrumentLlm(llm: LlmProvider, metrics: PrometheusMetrics): LlmProvider {
  return {
    get defaultModel() {
      return llm.defaultModel;
    },
    get embeddingModel() {
      return llm.embeddingModel;
    },
    async *stream(request: ChatRequest) {
      for await (const part of llm.stream(request)) {
        if (part.type === "finish") metrics.recordUsage(part.usage);
        yield part;
      }
    },
    async complete(request: ChatRequest) {
      const completion = await llm.complete(request);
      metrics.recordUsage(completion.usage);
      return completion;
    },
    embed: (texts, signal) => llm.embed(texts, signal),
  };
}
