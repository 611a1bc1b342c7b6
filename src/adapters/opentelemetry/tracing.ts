import type { TracerProvider } from "@opentelemetry/api";
import type { Config } from "../../config.js";
import type { Instrumentation } from "./instrumentation.js";

/**
 * Tracing lives only in this folder and the composition root: spans are made by decorators around the
 * ports (assistant, retriever, LLM, tools, job queue), so `src/core` neither imports
 * `@opentelemetry/api` nor needs a tracing port of its own. Every span kind the issue asks for sits on
 * a port boundary already. With tracing off nothing is wrapped and the SDK is not even loaded.
 */

export interface TracingOptions {
  /** A provider set up by the caller (tests with an in-memory exporter). */
  tracerProvider?: TracerProvider | undefined;
}

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
