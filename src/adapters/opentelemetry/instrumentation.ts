import type { TracerProvider } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import type { Config } from "../../config.js";
import type { Assistant } from "../../core/assistant.js";
import type { JobPayloadMap, JobQueue } from "../../core/ports/job-queue.js";
import type { Retriever } from "../../core/ports/knowledge.js";
import type { LlmProvider } from "../../core/ports/llm-provider.js";
import type { Tool } from "../../core/ports/tool.js";
import type { Tracing } from "./span-tools.js";
import { traceAssistant } from "./traced-assistant.js";
import { traceJobQueue } from "./traced-job-queue.js";
import { traceLlm } from "./traced-llm-provider.js";
import { traceRetriever } from "./traced-retriever.js";
import { traceTool } from "./traced-tool.js";

const TRACER_NAME = "teammate";

/** What tracing wraps; loaded only when tracing is on (see `startTracing`). */
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

/**
 * The instrumentation with the SDK loaded: a provider of the caller's (tests, with an in-memory
 * exporter), or an OTLP/HTTP (protobuf) exporter behind a batching processor. The exporter reads the
 * standard OTEL_* variables (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_HEADERS`, …) itself.
 */
export function createInstrumentation(config: Config, given: TracerProvider | undefined): Instrumentation {
  let provider = given;
  let shutdown = async () => {};
  if (!provider) {
    const owned = new NodeTracerProvider({
      resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.OTEL_SERVICE_NAME }),
      spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
    });
    // Registers the AsyncLocalStorage context manager, which carries the message's span across awaits.
    owned.register();
    provider = owned;
    shutdown = () => owned.shutdown();
  }
  const tracing: Tracing = {
    tracer: provider.getTracer(TRACER_NAME),
    captureContent: config.OTEL_CAPTURE_CONTENT,
    propagator: new W3CTraceContextPropagator(),
  };
  return {
    assistant: (assistant) => traceAssistant(assistant, tracing),
    llm: (llm, baseUrl) => traceLlm(llm, tracing, { baseUrl }),
    retriever: (retriever, dataSource) => traceRetriever(retriever, tracing, dataSource),
    tool: (tool) => traceTool(tool, tracing),
    jobs: (queue) => traceJobQueue(queue, tracing),
    shutdown,
  };
}
