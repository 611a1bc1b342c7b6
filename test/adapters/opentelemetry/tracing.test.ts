import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-node";
import { afterAll, describe, expect, it } from "vitest";
import { InProcessJobQueue } from "../../../src/adapters/in-process/in-process-job-queue.js";
import { startTracing } from "../../../src/adapters/opentelemetry/tracing.js";
import { loadConfig } from "../../../src/config.js";
import { silentLogger } from "../../../src/core/ports/logger.js";
import { ScriptedLlmProvider } from "../../support/scripted-llm-provider.js";

describe("tracing adapters", () => {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  provider.register();
  afterAll(() => provider.shutdown());

  it("is off unless OTEL_EXPORTER_OTLP_ENDPOINT is set: nothing to wrap", async () => {
    expect(await startTracing(loadConfig({}))).toBeUndefined();
    expect(await startTracing(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "" }))).toBeUndefined();
  });

  it("puts prompts and answers on LLM spans only with OTEL_CAPTURE_CONTENT=true", async () => {
    for (const capture of ["false", "true"]) {
      exporter.reset();
      const tracing = await startTracing(loadConfig({ OTEL_CAPTURE_CONTENT: capture }), {
        tracerProvider: provider,
      });
      if (!tracing) throw new Error("tracing expected with a provider");
      const llm = tracing.llm(new ScriptedLlmProvider([{ text: "The secret plan is ready." }]), undefined);
      for await (const _part of llm.stream({
        messages: [{ role: "user", content: "tell me the secret plan" }],
      })) {
        // Drain.
      }
      const [span] = exporter.getFinishedSpans();
      const attributes = JSON.stringify(span?.attributes);
      expect(span?.attributes["gen_ai.usage.input_tokens"]).toBe(100);
      if (capture === "true") {
        expect(JSON.parse(String(span?.attributes["gen_ai.input.messages"]))).toEqual([
          { role: "user", parts: [{ type: "text", content: "tell me the secret plan" }] },
        ]);
        expect(attributes).toContain("The secret plan is ready.");
      } else {
        expect(attributes).not.toContain("secret plan");
      }
    }
  });

  it("hands a job its data back without the trace context, which holds only W3C trace fields", async () => {
    const tracing = await startTracing(loadConfig({}), { tracerProvider: provider });
    if (!tracing) throw new Error("tracing expected with a provider");
    type Jobs = { ping: { runId: string } };
    const inner = new InProcessJobQueue<Jobs>({ logger: silentLogger });
    const seen: unknown[] = [];
    let enqueued: unknown;
    const spy = {
      ...inner,
      register: inner.register.bind(inner),
      start: inner.start.bind(inner),
      counts: inner.counts.bind(inner),
      stateOf: inner.stateOf.bind(inner),
      close: inner.close.bind(inner),
      schedule: inner.schedule.bind(inner),
      unschedule: inner.unschedule.bind(inner),
      enqueue: async (name: "ping", data: { runId: string }) => {
        enqueued = data;
        return inner.enqueue(name, data);
      },
    };
    const queue = tracing.jobs<Jobs>(spy);
    queue.register("ping", async (data) => {
      seen.push(data);
    });
    queue.start();
    await queue.enqueue("ping", { runId: "r1" });
    await inner.close();
    expect(seen).toEqual([{ runId: "r1" }]);
    const carried = (enqueued as { traceContext: Record<string, string> }).traceContext;
    expect(Object.keys(carried)).toEqual(["traceparent"]);
    expect(carried.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });
});
