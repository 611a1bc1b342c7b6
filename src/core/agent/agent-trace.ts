/**
 * The record of one answer: what it read, which tools it called, what each step cost. Plain JSON
 * (type aliases, not interfaces, so it fits `AnswerRecord.trace: Record<string, unknown>`), stored
 * with the answer and shown by `why`.
 */
export type AgentTrace = {
  /** The model the first step ran on (the endpoint's answer, or the requested name). */
  model: string;
  /** The endpoint the first step ran on, when fallbacks are configured (`LLM_FALLBACKS`). */
  endpoint?: string;
  startedAt: number;
  totalMilliseconds: number;
  finishReason: AgentFinishReason;
  passages: TracePassage[];
  steps: TraceStep[];
  toolCalls: TraceToolCall[];
  totals: { promptTokens: number; completionTokens: number };
};

export type AgentFinishReason =
  | "stop"
  | "length"
  | "content_filter"
  | "max_steps"
  | "max_tokens"
  | "max_time"
  | "cancelled";

type TracePassage = {
  index: number;
  title: string;
  location: string;
  documentId: string;
  score: number;
};

export type TraceStep = {
  step: number;
  model: string;
  /** Which endpoint answered this step, when fallbacks are configured. */
  endpoint?: string;
  promptTokens: number;
  completionTokens: number;
  /** True when the endpoint reported no usage and the counts were estimated with the tokenizer. */
  estimatedUsage: boolean;
  milliseconds: number;
  finishReason: string;
};

export type TraceToolCall = {
  step: number;
  name: string;
  /** The arguments as JSON text, secrets redacted, length capped. */
  arguments: string;
  durationMs: number;
  ok: boolean;
  /** The start of what the model read back. */
  result: string;
  error?: string;
  /** Set for `write` and `dangerous` tools: what the human decided (`timed_out` counts as Deny). */
  approval?: "approved" | "denied" | "timed_out";
};

/**
 * The trace as chat text for `why`: sources, tools and token counts, one line each.
 * Written to be read by the person who asked, so it leaves out raw prompts.
 */
export function formatTrace(trace: AgentTrace): string {
  const totalTokens = trace.totals.promptTokens + trace.totals.completionTokens;
  const lines = [
    `Model ${trace.model}${via(trace.endpoint)} · ${plural(trace.steps.length, "step")} · ${formatNumber(totalTokens)} tokens ` +
      `(${formatNumber(trace.totals.promptTokens)} prompt + ${formatNumber(trace.totals.completionTokens)} completion)` +
      ` · ${formatSeconds(trace.totalMilliseconds)} · ended: ${describeFinish(trace.finishReason)}`,
  ];

  lines.push("", trace.passages.length > 0 ? "Sources:" : "Sources: none");
  for (const passage of trace.passages) {
    lines.push(
      `[${passage.index}] ${passage.title} — ${passage.location} (score ${passage.score.toFixed(3)})`,
    );
  }

  lines.push("", trace.toolCalls.length > 0 ? "Tools:" : "Tools: none");
  for (const call of trace.toolCalls) {
    const approval = call.approval ? ` · ${describeApproval(call.approval)}` : "";
    const outcome = call.ok
      ? `→ ${oneLine(call.result, 120)}`
      : `→ failed: ${oneLine(call.error ?? call.result, 120)}`;
    lines.push(
      `step ${call.step}: ${call.name} ${oneLine(call.arguments, 120)} · ${call.durationMs} ms${approval} ${outcome}`,
    );
  }

  lines.push("", "Steps:");
  for (const step of trace.steps) {
    const estimate = step.estimatedUsage ? " (estimated)" : "";
    lines.push(
      `${step.step}. ${step.model}${via(step.endpoint)} · ${formatNumber(step.promptTokens)} prompt + ` +
        `${formatNumber(step.completionTokens)} completion tokens${estimate} · ${step.milliseconds} ms · ${step.finishReason}`,
    );
  }
  return lines.join("\n");
}

function via(endpoint: string | undefined): string {
  return endpoint ? ` via ${endpoint}` : "";
}

function describeFinish(reason: AgentFinishReason): string {
  switch (reason) {
    case "stop":
      return "answered";
    case "length":
      return "the model's output limit";
    case "content_filter":
      return "the endpoint's content filter";
    case "max_steps":
      return "step budget reached";
    case "max_tokens":
      return "token budget reached";
    case "max_time":
      return "time budget reached";
    case "cancelled":
      return "cancelled";
  }
}

function describeApproval(approval: NonNullable<TraceToolCall["approval"]>): string {
  if (approval === "approved") return "approved";
  if (approval === "denied") return "denied";
  return "no decision in time (denied)";
}

function oneLine(text: string, maxCharacters: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > maxCharacters ? `${flat.slice(0, maxCharacters - 1)}…` : flat;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

function formatNumber(value: number): string {
  return value.toLocaleString("en-US");
}

function formatSeconds(milliseconds: number): string {
  return `${(milliseconds / 1000).toFixed(1)} s`;
}
