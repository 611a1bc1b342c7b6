import type { TracerProvider } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import type { Config } from "../../config.js";
import type { Tracing } from "./span-tools.js";
import { traceAssistant } from "./traced-assistant.js";
import { traceJobQueue } from "./traced-job-queue.js";
import { traceLlm } from "./traced-llm-provider.js";
import { traceRetriever } from "./traced-retriever.js";
import { traceTool } from "./traced-tool.js";
import { type Instrumentation, TRACER_NAME } from "./tracing.js";

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
