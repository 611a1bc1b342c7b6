import type { TracerProvider } from "@opentelemetry/api";
import type { Config } from "../../config.js";
import type { Assistant } from "../../core/assistant.js";
import type { JobPayloadMap, JobQueue } from "../../core/ports/job-queue.js";
import type { Retriever } from "../../core/ports/knowledge.js";
import type { LlmProvider } from "../../core/ports/llm-provider.js";
import type { Tool } from "../../core/ports/tool.js";

/**
 * Tracing lives only in this folder and the composition root: spans are made by decorators around the
 * ports (assistant, retriever, LLM, tools, job queue), so `src/core` neither imports
 * `@opentelemetry/api` nor needs a tracing port of its own. Every span kind the issue asks for sits on
 * a port boundary already. With tracing off nothing is wrapped and the SDK is not even loaded.
 */
export interface Instrumentation {
  /** One trace per message or click, rooted at the platform event. */
  assistant(assistant: Assistant): Assistant;
  /** `chat <model>` and `embeddings <model>` spans; `baseUrl` names the server (never its key). */
  llm(llm: LlmProvider, baseUrl: string | undefined): LlmProvider;
  retriever(retriever: Retriever, dataSource: string): Retriever;
  tool<Input>(tool: Tool<Input>): Tool<Input>;
  /** Jobs continue the trace of the message that queued them. */
  jobs<Payloads extends JobPayloadMap>(queue: JobQueue<Payloads>): JobQueue<Payloads>;
  /** Flushes what is buffered (a provider the caller gave is the caller's to shut down). */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  /** A provider set up by the caller (tests with an in-memory exporter). */
  tracerProvider?: TracerProvider | undefined;
}

export const TRACER_NAME = "teammate";

/**
 * Starts tracing when `OTEL_EXPORTER_OTLP_ENDPOINT` is set or a provider is given; resolves undefined
 * otherwise, before importing anything: the SDK, the exporter and the semantic conventions load only
 * for a deployment that traces.
 */
export async function startTracing(
  config: Config,
  options: TracingOptions = {},
): Promise<Instrumentation | undefined> {
  if (!options.tracerProvider && !config.OTEL_EXPORTER_OTLP_ENDPOINT) return undefined;
  const { createInstrumentation } = await import("./instrumentation.js");
  return createInstrumentation(config, options.tracerProvider);
}
