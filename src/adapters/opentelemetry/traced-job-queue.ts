import { context, SpanKind } from "@opentelemetry/api";
import type {
  JobName,
  JobPayloadMap,
  JobProcessor,
  JobQueue,
  JobTypeOptions,
} from "../../core/ports/job-queue.js";
import { type Tracing, withinSpan } from "./span-tools.js";

/**
 * The field of job data that carries the W3C trace context (`traceparent`, `tracestate`) of the
 * message that queued the job. Ids only: no baggage, nothing a user wrote, never a secret.
 */
const TRACE_CONTEXT_FIELD = "traceContext";

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const carrierGetter = {
  keys: (carrier: Record<string, string>) => Object.keys(carrier),
  get: (carrier: Record<string, string>, key: string) => carrier[key],
};

/**
 * Jobs continue the trace of the message that queued them, in whichever process runs them: `enqueue`
 * opens an `enqueue <name>` PRODUCER span and writes its context into the job data; the worker's
 * processor runs inside a `job <name>` CONSUMER span whose parent is that context, and gets the data
 * back without the field. Works the same for the in-process queue and for BullMQ across processes.
 */
export function traceJobQueue<Payloads extends JobPayloadMap>(
  queue: JobQueue<Payloads>,
  tracing: Tracing,
): JobQueue<Payloads> {
  const { tracer, propagator } = tracing;
  return {
    register<Name extends JobName<Payloads>>(
      name: Name,
      processor: JobProcessor<Payloads[Name]>,
      options?: JobTypeOptions,
    ) {
      queue.register(
        name,
        async (data, jobContext) => {
          let payload: Payloads[Name] = data;
          let parent = context.active();
          if (isPlainObject(data) && isPlainObject(data[TRACE_CONTEXT_FIELD])) {
            const { [TRACE_CONTEXT_FIELD]: carrier, ...rest } = data;
            // The data as its producer wrote it, before `enqueue` below added the carrier.
            payload = rest as Payloads[Name];
            parent = propagator.extract(context.active(), carrier as Record<string, string>, carrierGetter);
          }
          const span = tracer.startSpan(
            `job ${name}`,
            {
              kind: SpanKind.CONSUMER,
              attributes: {
                "teammate.job.name": name,
                "teammate.job.id": jobContext.jobId,
                "teammate.job.attempt": jobContext.attempt,
              },
            },
            parent,
          );
          return withinSpan(span, () => processor(payload, jobContext), parent);
        },
        options,
      );
    },
    start: () => queue.start(),
    async enqueue(name, data, options) {
      const span = tracer.startSpan(
        `enqueue ${name}`,
        { kind: SpanKind.PRODUCER, attributes: { "teammate.job.name": name } },
        context.active(),
      );
      return withinSpan(span, async () => {
        let payload = data;
        if (isPlainObject(data)) {
          const carrier: Record<string, string> = {};
          propagator.inject(context.active(), carrier, {
            set: (target, key, value) => {
              target[key] = value;
            },
          });
          payload = { ...data, [TRACE_CONTEXT_FIELD]: carrier };
        }
        const jobId = await queue.enqueue(name, payload, options);
        span.setAttribute("teammate.job.id", jobId);
        return jobId;
      });
    },
    // A scheduled job starts a trace of its own on the worker: no message is waiting for it.
    schedule: (schedulerId, name, data, everyMs, options) =>
      queue.schedule(schedulerId, name, data, everyMs, options),
    unschedule: (schedulerId) => queue.unschedule(schedulerId),
    counts: () => queue.counts(),
    stateOf: (jobId) => queue.stateOf(jobId),
    close: () => queue.close(),
  };
}
