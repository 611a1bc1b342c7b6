import {
  type Attributes,
  type Span,
  SpanStatusCode,
  type Tracer,
  type TracerProvider,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { ATTR_ERROR_TYPE, ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import type { Config } from "../../config.js";
import { isAppError } from "../../core/errors.js";

/**
 * Tracing lives only here and in the composition root: spans are made by decorators around the ports
 * (assistant, retriever, LLM, tools, job queue), so `src/core` neither imports `@opentelemetry/api` nor
 * needs a tracing port of its own. Every span kind the issue asks for sits on a port boundary already,
 * and with tracing off nothing is wrapped at all: not even the API's no-op tracer is on the path.
 */
export interface Tracing {
  tracer: Tracer;
  /** Whether prompts, answers and tool arguments may go on spans (`OTEL_CAPTURE_CONTENT=true`). */
  captureContent: boolean;
  /** W3C `traceparent`/`tracestate` only: baggage could carry anything, so it never enters job data. */
  propagator: W3CTraceContextPropagator;
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  /** A provider set up by the caller (tests with an in-memory exporter); its owner shuts it down. */
  tracerProvider?: TracerProvider | undefined;
}

export const TRACER_NAME = "teammate";

/**
 * Starts tracing when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (OTLP over HTTP/protobuf, batched; the
 * exporter reads the standard OTEL_* variables such as `OTEL_EXPORTER_OTLP_HEADERS` itself) or a
 * provider is given. Returns undefined otherwise, and the application wraps nothing.
 */
export function startTracing(config: Config, options: TracingOptions = {}): Tracing | undefined {
  const captureContent = config.OTEL_CAPTURE_CONTENT;
  const propagator = new W3CTraceContextPropagator();
  if (options.tracerProvider) {
    return {
      tracer: options.tracerProvider.getTracer(TRACER_NAME),
      captureContent,
      propagator,
      shutdown: async () => {},
    };
  }
  if (!config.OTEL_EXPORTER_OTLP_ENDPOINT) return undefined;
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.OTEL_SERVICE_NAME }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  // Registers the AsyncLocalStorage context manager, which carries the message's span across awaits.
  provider.register();
  return {
    tracer: provider.getTracer(TRACER_NAME),
    captureContent,
    propagator,
    shutdown: () => provider.shutdown(),
  };
}

/** Marks a span failed with the error's code (`AppError[llm_rate_limited]` → `llm_rate_limited`). */
export function recordFailure(span: Span, error: unknown): void {
  const type = isAppError(error) ? error.code : error instanceof Error ? error.name : "unknown";
  span.setAttribute(ATTR_ERROR_TYPE, type);
  span.setStatus({ code: SpanStatusCode.ERROR, message: type });
  // The code, not the message: messages can quote what a user or a server sent.
  span.recordException({ name: type, message: type });
}

/** Drops attributes whose value is undefined, which the API would otherwise reject one by one. */
export function definedAttributes(
  attributes: Record<string, string | number | boolean | string[] | undefined>,
): Attributes {
  return Object.fromEntries(
    Object.entries(attributes).filter(([, value]) => value !== undefined),
  ) as Attributes;
}
