import {
  type Attributes,
  type Context,
  context,
  type Span,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import type { W3CTraceContextPropagator } from "@opentelemetry/core";
import { ATTR_ERROR_TYPE } from "@opentelemetry/semantic-conventions";
import { isAppError } from "../../core/errors.js";

/** What the span-making decorators share: the tracer, whether content may go on spans, the propagator. */
export interface Tracing {
  tracer: Tracer;
  /** Whether prompts, answers and tool arguments may go on spans (`OTEL_CAPTURE_CONTENT=true`). */
  captureContent: boolean;
  /** W3C `traceparent`/`tracestate` only: baggage could carry anything, so it never enters job data. */
  propagator: W3CTraceContextPropagator;
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

/**
 * Runs `work` with `span` active (what it starts becomes the span's children, through the
 * AsyncLocalStorage context), marks a failure on the span, and ends it however the work went.
 */
export function withinSpan<Result>(
  span: Span,
  work: () => Promise<Result>,
  parent: Context = context.active(),
): Promise<Result> {
  return context.with(trace.setSpan(parent, span), async () => {
    try {
      return await work();
    } catch (error) {
      recordFailure(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}
