import { afterEach, describe, expect, it } from "vitest";
import { startHealthServer } from "../../../src/adapters/http/health-server.js";
import { InProcessJobQueue } from "../../../src/adapters/in-process/in-process-job-queue.js";
import {
  instrumentAssistant,
  instrumentLlm,
  PrometheusMetrics,
} from "../../../src/adapters/metrics/prometheus-metrics.js";
import { silentLogger } from "../../../src/core/ports/logger.js";
import { waitFor } from "../../contracts/job-queue.contract.js";
import { createTestAssistant, inbound } from "../../core/assistant-fixtures.js";
import { RecordingSink } from "../../support/recording-sink.js";

describe("operations endpoints", () => {
  const closers: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  it("/metrics counts messages, answer latency, LLM tokens and jobs by state", async () => {
    const metrics = new PrometheusMetrics({ defaultMetrics: false });
    const jobs = new InProcessJobQueue<{ fails: Record<string, never> }>({ logger: silentLogger });
    closers.push(() => jobs.close());
    jobs.register(
      "fails",
      async () => {
        throw new Error("down");
      },
      { attempts: 1 },
    );
    jobs.start();
    await jobs.enqueue("fails", {});
    await waitFor(async () => (await jobs.counts()).failed === 1);
    metrics.watchJobs(jobs);

    const test = createTestAssistant(() => "Fridays are for hotfixes only.", { allowGeneralKnowledge: true });
    closers.push(() => {
      test.close();
    });
    const llm = test.llm;
    if (!llm) throw new Error("scripted LLM expected");
    const counted = instrumentLlm(llm, metrics);
    for await (const _part of counted.stream({ messages: [{ role: "user", content: "hi" }] })) {
      // Drain the stream; usage is counted on its finish part.
    }
    metrics.recordUsage({ promptTokens: 120, completionTokens: 30 });
    const assistant = instrumentAssistant(test.assistant, metrics);
    await assistant.handle(inbound({ text: "help", isCommand: true }), new RecordingSink());
    await assistant.handle(inbound({ text: "when do we ship?" }), new RecordingSink());

    const server = await startHealthServer(0, { "/metrics": metrics.route() }, "127.0.0.1");
    closers.push(() => server.close());
    const base = `http://127.0.0.1:${server.port}`;
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toContain('teammate_messages_total{platform="slack",kind="message"} 2');
    expect(text).toMatch(/teammate_answer_latency_seconds_count\{platform="slack",kind="message"\} 2/);
    expect(text).toContain('teammate_llm_tokens_total{kind="prompt"} 120');
    expect(text).toContain('teammate_llm_tokens_total{kind="completion"} 30');
    expect(text).toContain('teammate_jobs{state="failed"} 1');
    expect(text).toContain('teammate_jobs{state="active"} 0');
  });
});
