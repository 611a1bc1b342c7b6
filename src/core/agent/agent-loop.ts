import { CoalescingWriter } from "../coalescing-writer.js";
import { createDeadline, type Deadline } from "../deadline.js";
import { AppError } from "../errors.js";
import { sourceOfPassage } from "../knowledge/passage-source.js";
import type { ApprovalDecision, ApprovalGate } from "../ports/approval-gate.js";
import type { Passage } from "../ports/knowledge.js";
import type {
  ChatMessage,
  ChatModel,
  FinishReason,
  ToolCall,
  ToolDefinition,
} from "../ports/llm-provider.js";
import type { Logger } from "../ports/logger.js";
import type { ApprovalPrompt, ReplySink } from "../ports/reply-sink.js";
import type { ToolContext, ToolRisk } from "../ports/tool.js";
import type { QueryScope } from "../ports/vector-store.js";
import { redactSecrets } from "../redaction.js";
import { countTokens, MESSAGE_OVERHEAD_TOKENS } from "../tokens.js";
import type { PreparedCall, ToolExecution, ToolRegistry } from "../tools/tool-registry.js";
import { rejectedExecution } from "../tools/tool-registry.js";
import type { ConversationRef, Source } from "../types.js";
import type { AgentFinishReason, AgentTrace, TraceStep, TraceToolCall } from "./agent-trace.js";
import { fenceToolResult } from "./fence-tool-result.js";
import { previewArguments } from "./preview-arguments.js";
import { createSourceCollector, sourcesFromPassages } from "./source-collector.js";

/** Who is asking and where; the agent adds the abort signal and the citation numbering per tool call. */
export interface AgentContext {
  conversation: ConversationRef;
  askerId: string;
  askerName?: string | undefined;
  isAdmin: boolean;
  /**
   * What the asker typed in this message. A risky call it names exactly (a URL they pasted) runs
   * without a click; anything that first appeared in retrieved or tool text waits for one.
   */
  askerText?: string | undefined;
  /** The documents the asker may see (see `ToolContext.knowledgeScope`). */
  knowledgeScope?: QueryScope | undefined;
  logger: Logger;
  /**
   * Ends the whole run (the answer's deadline passed, or the turn was dropped): tools and the LLM
   * stream are aborted and the run rejects with the signal's reason.
   */
  signal?: AbortSignal | undefined;
  /** The answer's own deadline, paused with the agent's wall clock while a person decides on a tool. */
  deadline?: Pick<Deadline, "pause" | "resume"> | undefined;
}

/** Limits for one answer. Whichever is hit first ends the run with a sentence and the best answer so far. */
export interface AgentBudgets {
  /** LLM calls per answer (each tool round trip is one step). */
  maxSteps: number;
  /** Prompt + completion tokens summed over all steps. */
  maxTokens: number;
  /** Wall time, not counting the time spent waiting for a human to approve a tool. */
  maxMilliseconds: number;
}

export interface RunAgentOptions {
  llm: ChatModel;
  /** The prompt so far (system, history, question); the agent appends tool calls and results to a copy. */
  messages: ChatMessage[];
  tools: ToolRegistry;
  context: AgentContext;
  /** Already started by the caller; the agent appends text and status lines and never finishes it. */
  sink: ReplySink;
  budgets: AgentBudgets;
  /** Absent where no tool can need a click (an answer without tools): a risky call is then denied. */
  approvals?: ApprovalGate | undefined;
  /** Passages the answer chain retrieved before the agent started; they keep citation numbers 1…n. */
  passages?: Passage[] | undefined;
  model?: string | undefined;
  temperature?: number | undefined;
}

export interface AgentResult {
  /** Everything appended to the sink: the answer to store. */
  text: string;
  finishReason: AgentFinishReason;
  steps: number;
  /** One per cited document, numbered as the answer cites them, for `ReplySink.finish`. */
  sources: Source[];
  passages: Passage[];
  model: string;
  trace: AgentTrace;
}

/** Why a call needs a click, as the approval request says it. */
const RISK_REASONS: Record<Exclude<ToolRisk, "read">, string> = {
  network: "it sends a request to an address the model chose, which could carry data out",
  write: "it changes something",
  dangerous: "a dangerous action",
};

/** What a risky call whose arguments hold a token or key tells the model: it never runs. */
export const CREDENTIAL_TOOL_RESULT =
  "Refused: the arguments contain a credential (a token or key), which never leaves through a tool.";

/** Whether a call's arguments hold something the redaction recognises as a credential. */
function carriesCredential(rawArguments: unknown): boolean {
  const text = typeof rawArguments === "string" ? rawArguments : (JSON.stringify(rawArguments) ?? "");
  return redactSecrets(text) !== text;
}

/** What a denied or unanswered approval tells the model. */
export const DENIED_TOOL_RESULT = "The user denied this action.";

/**
 * The tool-calling loop: stream the model with the tools' definitions, show its text as it arrives,
 * run the tools it asks for (concurrently, each with its own timeout; `write` and `dangerous` ones
 * only after a human approves), hand the results back fenced as data, and repeat until the model
 * answers or a budget runs out. A budget that runs out rejects with `budget_exceeded`, whose
 * sentence says which budget (the text shown so far stays shown, but it is no answer to store or
 * rate); LLM errors propagate the same way for the caller to report with `sink.fail`; tool errors
 * never do.
 */
export async function runAgent(options: RunAgentOptions): Promise<AgentResult> {
  const { llm, tools, context, budgets, approvals } = options;
  const sink = serializeSink(options.sink, context.logger);
  const startedAt = Date.now();
  const startedClock = performance.now();
  const requestedModel = options.model ?? llm.defaultModel;
  const sources = createSourceCollector(options.passages ?? []);
  const wallClock = createDeadline(
    budgets.maxMilliseconds,
    () => new Error("time budget exceeded"),
    context.signal,
  );
  const signal = wallClock.signal;
  const messages = [...options.messages];
  const definitions = tools.definitions();
  const steps: TraceStep[] = [];
  const toolCalls: TraceToolCall[] = [];
  let text = "";
  let finishReason: AgentFinishReason | undefined;
  let model: string | undefined;
  let endpoint: string | undefined;

  const append = async (delta: string) => {
    text += delta;
    await sink.append(delta);
  };

  try {
    while (finishReason === undefined) {
      const stepNumber = steps.length + 1;
      const step = await streamStep({ ...options, messages }, definitions, signal, {
        append,
        separated: text.length === 0,
        endsWithNewline: () => text.endsWith("\n"),
      });
      const { calls, reason } = step;
      if (model === undefined) {
        model = step.model ?? requestedModel;
        endpoint = step.endpoint;
      }
      steps.push(step.trace(stepNumber, messages));

      if (calls.length === 0) {
        finishReason = reason === "length" || reason === "content_filter" ? reason : "stop";
        break;
      }
      messages.push({
        role: "assistant",
        content: step.text.length > 0 ? step.text : null,
        toolCalls: calls,
      });
      // The model still wants tools; running them is pointless if it will never see the results.
      if (stepNumber >= budgets.maxSteps) {
        finishReason = "max_steps";
        break;
      }
      if (totalTokens(steps) >= budgets.maxTokens) {
        finishReason = "max_tokens";
        break;
      }

      const environment = { tools, approvals, sink, context, signal, sources, wallClock, toolCalls };
      const executions = await Promise.all(calls.map((call) => executeCall(call, stepNumber, environment)));
      // Results go back fenced as data: a tool's text is never the model's instructions.
      for (const execution of executions) {
        const content = fenceToolResult(execution.name, execution.output);
        messages.push({ role: "tool", toolCallId: execution.callId, content });
      }
      signal.throwIfAborted();
    }
  } catch (error) {
    if (context.signal?.aborted) throw context.signal.reason;
    if (wallClock.signal.aborted) finishReason = "max_time";
    else throw error;
  } finally {
    wallClock.dispose();
  }

  const reason = finishReason ?? "stop";
  const budgetSentence = describeBudgetStop(reason, budgets, text.length > 0);
  if (budgetSentence) {
    context.logger.info({ finishReason: reason, steps: steps.length }, "agent stopped by a budget");
    throw new AppError("budget_exceeded", `agent stopped: ${reason}`, {
      category: "system",
      userMessage: budgetSentence,
    });
  }

  const passages = sources.list();
  const trace = traceOf({
    model: model ?? requestedModel,
    endpoint,
    startedAt,
    totalMilliseconds: Math.round(performance.now() - startedClock),
    finishReason: reason,
    passages,
    steps,
    toolCalls,
  });
  return {
    text,
    finishReason: reason,
    steps: steps.length,
    sources: sourcesFromPassages(passages),
    passages,
    model: trace.model,
    trace,
  };
}

interface StreamedStep {
  text: string;
  calls: ToolCall[];
  reason: FinishReason;
  /** As the endpoint reported it, when it did. */
  model: string | undefined;
  endpoint: string | undefined;
  /** The step's line of the trace; usage estimated (and marked so) where the endpoint reported none. */
  trace(step: number, messages: ChatMessage[]): TraceStep;
}

/** Streams one LLM call: text shown as it arrives (a new step starts a new paragraph), tool calls collected. */
async function streamStep(
  options: Pick<RunAgentOptions, "llm" | "messages" | "model" | "temperature">,
  definitions: ToolDefinition[],
  signal: AbortSignal,
  output: { append(delta: string): Promise<void>; separated: boolean; endsWithNewline(): boolean },
): Promise<StreamedStep> {
  const startedAt = performance.now();
  const requestedModel = options.model ?? options.llm.defaultModel;
  let text = "";
  let separated = output.separated;
  const calls: ToolCall[] = [];
  let reason: FinishReason = "stop";
  let usage: { promptTokens: number; completionTokens: number } | undefined;
  let model: string | undefined;
  let endpoint: string | undefined;
  for await (const part of options.llm.stream({
    messages: options.messages,
    model: options.model,
    temperature: options.temperature,
    tools: definitions.length > 0 ? definitions : undefined,
    signal,
  })) {
    if (part.type === "text-delta") {
      if (part.text.length === 0) continue;
      if (!separated) {
        separated = true;
        if (!output.endsWithNewline()) await output.append("\n\n");
      }
      text += part.text;
      await output.append(part.text);
    } else if (part.type === "tool-call") {
      calls.push(part.call);
    } else {
      reason = part.reason;
      usage = part.usage;
      model = part.model || requestedModel;
      endpoint = part.endpoint;
    }
  }
  const milliseconds = Math.round(performance.now() - startedAt);
  return {
    text,
    calls,
    reason,
    model,
    endpoint,
    trace: (step, messages) => {
      const counted = usage ?? estimateUsage(messages, definitions, text, calls);
      return {
        step,
        model: model ?? requestedModel,
        ...(endpoint === undefined ? {} : { endpoint }),
        promptTokens: counted.promptTokens,
        completionTokens: counted.completionTokens,
        estimatedUsage: usage === undefined,
        milliseconds,
        finishReason: reason,
      };
    },
  };
}

function traceOf(run: {
  model: string;
  endpoint: string | undefined;
  startedAt: number;
  totalMilliseconds: number;
  finishReason: AgentFinishReason;
  passages: Passage[];
  steps: TraceStep[];
  toolCalls: TraceToolCall[];
}): AgentTrace {
  return {
    model: run.model,
    ...(run.endpoint === undefined ? {} : { endpoint: run.endpoint }),
    startedAt: run.startedAt,
    totalMilliseconds: run.totalMilliseconds,
    finishReason: run.finishReason,
    // `Object.assign` onto the new source rather than `{ ...source, score }`: on Node 20 a spread
    // followed by a property the source lacks gets a hidden class of its own every time.
    passages: run.passages.map((passage, position) =>
      Object.assign(sourceOfPassage(passage, position), { score: passage.score }),
    ),
    steps: run.steps,
    toolCalls: run.toolCalls,
    totals: {
      promptTokens: run.steps.reduce((sum, step) => sum + step.promptTokens, 0),
      completionTokens: run.steps.reduce((sum, step) => sum + step.completionTokens, 0),
    },
  };
}

interface CallEnvironment {
  tools: ToolRegistry;
  approvals: ApprovalGate | undefined;
  sink: ReplySink;
  context: AgentContext;
  signal: AbortSignal;
  sources: ToolContext["sources"];
  wallClock: Deadline;
  toolCalls: TraceToolCall[];
}

async function executeCall(
  call: ToolCall,
  step: number,
  environment: CallEnvironment,
): Promise<ToolExecution> {
  const { tools, sink, context } = environment;
  const prepared = tools.prepare(call);
  if (!prepared.ok) {
    const execution = rejectedExecution(prepared);
    record(environment, step, call.arguments, execution, undefined);
    return execution;
  }
  const { tool } = prepared;
  let approval: ApprovalDecision["outcome"] | undefined;
  if (tool.risk !== "read" && carriesCredential(prepared.rawArguments)) {
    // The approval request would show it redacted, so a person could not see what they approve.
    await sink.status(`${tool.name} was not run: its arguments carry a credential.`);
    const execution: ToolExecution = {
      callId: call.id,
      name: tool.name,
      ok: false,
      output: CREDENTIAL_TOOL_RESULT,
      error: "the arguments carry a credential",
      durationMs: 0,
      truncated: false,
    };
    record(environment, step, prepared.rawArguments, execution, undefined);
    return execution;
  }
  const typedByAsker = tool.requestedByAsker?.(prepared.input, context.askerText ?? "") === true;
  if (tool.risk !== "read" && !typedByAsker) {
    approval = await askForApproval(prepared, environment);
    if (approval !== "approved") {
      await sink.status(
        `${tool.name} was not run: ${approval === "denied" ? "denied" : "no decision in time"}.`,
      );
      const execution: ToolExecution = {
        callId: call.id,
        name: tool.name,
        ok: false,
        output:
          approval === "denied"
            ? DENIED_TOOL_RESULT
            : `${DENIED_TOOL_RESULT} (No decision within the time limit.)`,
        error: approval === "denied" ? "denied by the user" : "no decision within the time limit",
        durationMs: 0,
        truncated: false,
      };
      record(environment, step, prepared.rawArguments, execution, approval);
      return execution;
    }
  }
  await sink.status(tool.activity ?? `Running ${tool.name}…`);
  const execution = await tools.run(prepared, {
    conversation: context.conversation,
    askerId: context.askerId,
    askerName: context.askerName,
    isAdmin: context.isAdmin,
    knowledgeScope: context.knowledgeScope,
    signal: environment.signal,
    logger: context.logger.child({ tool: tool.name }),
    sources: environment.sources,
  });
  if (!execution.ok) await sink.status(`${tool.name} failed; carrying on without it.`);
  record(environment, step, prepared.rawArguments, execution, approval);
  return execution;
}

async function askForApproval(
  prepared: PreparedCall,
  environment: CallEnvironment,
): Promise<ApprovalDecision["outcome"]> {
  const { tool } = prepared;
  const { context, sink, approvals, wallClock } = environment;
  if (!approvals) return "denied";
  const risk = tool.risk === "read" ? "write" : tool.risk;
  const argumentsPreview = previewArguments(prepared.rawArguments, 500);
  // Only a cancelled turn or a failed post ends the wait early; the wall-time budget is paused, since
  // a human taking a minute to click is not the agent being slow.
  const posting = new AbortController();
  const waitSignal = context.signal ? AbortSignal.any([context.signal, posting.signal]) : posting.signal;
  wallClock.pause();
  context.deadline?.pause();
  try {
    const pending = await approvals.open(
      {
        toolName: tool.name,
        risk,
        argumentsPreview,
        conversation: context.conversation,
        askerId: context.askerId,
      },
      waitSignal,
    );
    const minutes = Math.max(1, Math.round((pending.expiresAt - Date.now()) / 60_000));
    const prompt: ApprovalPrompt = {
      approvalId: pending.id,
      text:
        `I want to run ${tool.name} (${RISK_REASONS[risk]}) ` +
        `with ${argumentsPreview}. Only the person who asked or an admin can approve; ` +
        `no decision within ${minutes} minute${minutes === 1 ? "" : "s"} counts as Deny.`,
      buttons: [
        { action: "approve-tool", label: "Approve", value: pending.id, style: "primary" },
        { action: "deny-tool", label: "Deny", value: pending.id, style: "danger" },
      ],
      expiresAt: pending.expiresAt,
    };
    try {
      if (sink.requestApproval) await sink.requestApproval(prompt);
      else await sink.status(prompt.text);
    } catch (error) {
      context.logger.warn({ tool: tool.name, error: String(error) }, "could not post the approval request");
      posting.abort();
    }
    const decision = await pending.decision;
    return decision.outcome;
  } finally {
    wallClock.resume();
    context.deadline?.resume();
  }
}

function record(
  environment: CallEnvironment,
  step: number,
  rawArguments: unknown,
  execution: ToolExecution,
  approval: TraceToolCall["approval"],
): void {
  environment.toolCalls.push({
    step,
    name: execution.name,
    arguments: previewArguments(rawArguments),
    durationMs: execution.durationMs,
    ok: execution.ok,
    result: execution.output.length > 300 ? `${execution.output.slice(0, 299)}…` : execution.output,
    ...(execution.error === undefined ? {} : { error: execution.error }),
    ...(approval === undefined ? {} : { approval }),
  });
}

function describeBudgetStop(
  reason: AgentFinishReason,
  budgets: AgentBudgets,
  hasText: boolean,
): string | undefined {
  const soFar = hasText
    ? "What is above is unfinished; ask again, perhaps in smaller steps."
    : "I could not put an answer together before that.";
  switch (reason) {
    case "max_steps":
      return `I stopped because I reached my limit of ${budgets.maxSteps} steps for one answer. ${soFar}`;
    case "max_tokens":
      return `I stopped because this answer used up its budget of ${budgets.maxTokens.toLocaleString("en-US")} tokens. ${soFar}`;
    case "max_time":
      return `I stopped because this answer took longer than its ${formatDuration(budgets.maxMilliseconds)} limit. ${soFar}`;
    case "length":
      return hasText ? undefined : "The model hit its output limit before it could answer.";
    default:
      return undefined;
  }
}

function formatDuration(milliseconds: number): string {
  const seconds = milliseconds / 1000;
  return seconds >= 1 ? `${Number(seconds.toFixed(1))}-second` : `${milliseconds}-millisecond`;
}

function totalTokens(steps: TraceStep[]): number {
  return steps.reduce((sum, step) => sum + step.promptTokens + step.completionTokens, 0);
}

/** For endpoints that report no usage (some local servers): the tokenizer's count, marked as estimated. */
function estimateUsage(
  messages: ChatMessage[],
  definitions: ToolDefinition[],
  stepText: string,
  calls: ToolCall[],
): { promptTokens: number; completionTokens: number } {
  let promptTokens = definitions.length > 0 ? countTokens(JSON.stringify(definitions)) : 0;
  for (const message of messages) {
    promptTokens += MESSAGE_OVERHEAD_TOKENS + countTokens(message.content ?? "");
    if (message.role === "assistant") {
      for (const call of message.toolCalls ?? []) promptTokens += countTokens(call.name + call.arguments);
    }
  }
  const completionTokens =
    countTokens(stepText) + calls.reduce((sum, call) => sum + countTokens(call.name + call.arguments), 0);
  return { promptTokens, completionTokens };
}

/** Sink calls from concurrent tool calls are queued so the platform sees them one at a time, in order. */
function serializeSink(sink: ReplySink, logger: Logger): ReplySink {
  // No spacing here (interval 0): the writer only keeps the calls in order; each sink paces its own edits.
  const writer = new CoalescingWriter({ intervalMs: 0, logger });
  const enqueue = <T>(work: () => Promise<T>): Promise<T> => writer.inOrder(work);
  const serialized: ReplySink = {
    start: (options) => enqueue(() => sink.start(options)),
    append: (text) => enqueue(() => sink.append(text)),
    status: (line) => enqueue(() => sink.status(line)),
    finish: (result) => enqueue(() => sink.finish(result)),
    fail: (message) => enqueue(() => sink.fail(message)),
  };
  const requestApproval = sink.requestApproval?.bind(sink);
  if (requestApproval) serialized.requestApproval = (prompt) => enqueue(() => requestApproval(prompt));
  return serialized;
}
