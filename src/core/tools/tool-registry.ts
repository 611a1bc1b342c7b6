import { z } from "zod";
import { followAbort, raceWithSignal } from "../deadline.js";
import { isAppError } from "../errors.js";
import type { ToolCall, ToolDefinition } from "../ports/llm-provider.js";
import type { Tool, ToolContext } from "../ports/tool.js";
import { countTokens, truncateToTokens } from "../tokens.js";

/** OpenAI-compatible endpoints reject tool names outside this pattern. */
const TOOL_NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;

export interface ToolRegistryOptions {
  /** Time limit for a tool that sets none. */
  defaultTimeoutMs?: number;
  /** Output cap in tokens for a tool that sets none. */
  defaultMaxOutputTokens?: number;
}

/** A call whose tool exists and whose arguments passed the tool's schema. */
export interface PreparedCall {
  ok: true;
  call: ToolCall;
  tool: Tool;
  input: unknown;
  /** The parsed arguments as the model sent them (before schema transforms), for traces and approval prompts. */
  rawArguments: unknown;
}

/** A call that cannot run: unknown tool, bad JSON or invalid arguments. `error` is written for the model. */
export interface RejectedCall {
  ok: false;
  call: ToolCall;
  tool: Tool | undefined;
  rawArguments: unknown;
  error: string;
}

/** What running one call produced. `output` is what the model reads (already capped). */
export interface ToolExecution {
  callId: string;
  name: string;
  ok: boolean;
  output: string;
  /** The error sentence when `ok` is false (also the content of `output`). */
  error?: string | undefined;
  durationMs: number;
  truncated: boolean;
}

/**
 * The tools one answer may use. Arguments are validated before a tool runs; a bad call, a throw, a
 * timeout or an abort becomes an error result for the model, never an exception for the turn.
 */
export interface ToolRegistry {
  register(tool: Tool): void;
  list(): Tool[];
  resolve(name: string): Tool | undefined;
  /** JSON Schema definitions for the LLM port, in registration order. */
  definitions(): ToolDefinition[];
  /** A view over the tools matching `predicate` (a channel's allowlist); later registrations show through. */
  select(predicate: (tool: Tool) => boolean): ToolRegistry;
  prepare(call: ToolCall): PreparedCall | RejectedCall;
  /** Runs a prepared call with the tool's timeout and the context's abort signal. */
  run(prepared: PreparedCall, context: ToolContext): Promise<ToolExecution>;
  /** `prepare` then `run`; a rejected call comes back as an error execution. */
  execute(call: ToolCall, context: ToolContext): Promise<ToolExecution>;
}

const DEFAULT_TIMEOUT_MS = 20_000;
const DEFAULT_MAX_OUTPUT_TOKENS = 2_000;
const MAX_ERROR_CHARACTERS = 500;

export function createToolRegistry(options: ToolRegistryOptions = {}): ToolRegistry {
  const tools = new Map<string, Tool>();
  const defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  const defaultMaxOutputTokens = options.defaultMaxOutputTokens ?? DEFAULT_MAX_OUTPUT_TOKENS;
  const schemaCache = new WeakMap<Tool, Record<string, unknown>>();

  function parametersOf(tool: Tool): Record<string, unknown> {
    if (tool.parameters) return tool.parameters;
    let schema = schemaCache.get(tool);
    if (!schema) {
      // `input` describes what the model must send (before transforms and defaults apply).
      const { $schema: _dialect, ...rest } = z.toJSONSchema(tool.inputSchema, { io: "input" }) as Record<
        string,
        unknown
      >;
      schema = rest;
      schemaCache.set(tool, schema);
    }
    return schema;
  }

  function prepare(call: ToolCall): PreparedCall | RejectedCall {
    const tool = tools.get(call.name);
    if (!tool) {
      const known = [...tools.keys()].join(", ") || "none";
      return reject(call, undefined, undefined, `There is no tool named "${call.name}". Tools: ${known}.`);
    }
    let rawArguments: unknown;
    try {
      rawArguments = call.arguments.trim() === "" ? {} : JSON.parse(call.arguments);
    } catch (error) {
      return reject(
        call,
        tool,
        undefined,
        `The arguments for ${tool.name} were not valid JSON (${messageOf(error)}).`,
      );
    }
    const parsed = tool.inputSchema.safeParse(rawArguments);
    if (!parsed.success) {
      return reject(
        call,
        tool,
        rawArguments,
        `Invalid arguments for ${tool.name}: ${formatIssues(parsed.error.issues)}. Fix them and call the tool again.`,
      );
    }
    return { ok: true, call, tool, input: parsed.data, rawArguments };
  }

  async function run(prepared: PreparedCall, context: ToolContext): Promise<ToolExecution> {
    const { tool, call } = prepared;
    const startedAt = performance.now();
    const timeoutMs = tool.timeoutMs ?? defaultTimeoutMs;
    const timeout = new AbortController();
    const timer = setTimeout(
      () => timeout.abort(new ToolTimeoutError(`${tool.name} timed out after ${timeoutMs} ms.`)),
      timeoutMs,
    );
    const release = followAbort(timeout, context.signal);
    const signal = timeout.signal;
    const finish = (ok: boolean, text: string, truncated: boolean): ToolExecution => ({
      callId: call.id,
      name: tool.name,
      ok,
      output: text,
      ...(ok ? {} : { error: text }),
      durationMs: Math.round(performance.now() - startedAt),
      truncated,
    });
    try {
      const output = await raceWithSignal(tool.execute(prepared.input, { ...context, signal }), signal);
      const text = typeof output === "string" ? output : output.text;
      if (typeof output !== "string") {
        for (const passage of output.passages ?? []) context.sources.add(passage);
      }
      const cap = tool.maxOutputTokens ?? defaultMaxOutputTokens;
      const capped = capToTokens(text, cap);
      return finish(true, capped, capped !== text);
    } catch (error) {
      context.logger.warn({ tool: tool.name, error: messageOf(error) }, "tool call failed");
      return finish(false, describeToolError(tool.name, error, signal), false);
    } finally {
      clearTimeout(timer);
      release();
    }
  }

  const registry: ToolRegistry = {
    register(tool) {
      if (!TOOL_NAME_PATTERN.test(tool.name)) {
        throw new Error(
          `Tool name "${tool.name}" must match ${TOOL_NAME_PATTERN} for OpenAI-compatible endpoints.`,
        );
      }
      if (tools.has(tool.name)) throw new Error(`A tool named "${tool.name}" is already registered.`);
      tools.set(tool.name, tool);
    },
    list: () => [...tools.values()],
    resolve: (name) => tools.get(name),
    definitions: () =>
      [...tools.values()].map((tool) => ({
        name: tool.name,
        description: tool.description,
        parameters: parametersOf(tool),
      })),
    select: (predicate) => createView(registry, predicate),
    prepare,
    run,
    async execute(call, context) {
      const prepared = prepare(call);
      if (prepared.ok) return run(prepared, context);
      return rejectedExecution(prepared);
    },
  };
  return registry;
}

/** The error execution for a call that never ran. */
export function rejectedExecution(rejected: RejectedCall): ToolExecution {
  return {
    callId: rejected.call.id,
    name: rejected.call.name,
    ok: false,
    output: rejected.error,
    error: rejected.error,
    durationMs: 0,
    truncated: false,
  };
}

function createView(base: ToolRegistry, predicate: (tool: Tool) => boolean): ToolRegistry {
  const visible = (tool: Tool | undefined): tool is Tool => tool !== undefined && predicate(tool);
  const view: ToolRegistry = {
    register: (tool) => base.register(tool),
    list: () => base.list().filter(predicate),
    resolve: (name) => {
      const tool = base.resolve(name);
      return visible(tool) ? tool : undefined;
    },
    definitions: () => {
      const names = new Set(view.list().map((tool) => tool.name));
      return base.definitions().filter((definition) => names.has(definition.name));
    },
    select: (next) => createView(base, (tool) => predicate(tool) && next(tool)),
    prepare: (call) => {
      // A hidden tool looks exactly like a missing one, so the model cannot probe the allowlist.
      if (!visible(base.resolve(call.name))) {
        const known = view.list().map((tool) => tool.name);
        return {
          ok: false,
          call,
          tool: undefined,
          rawArguments: undefined,
          error: `There is no tool named "${call.name}". Tools: ${known.join(", ") || "none"}.`,
        };
      }
      return base.prepare(call);
    },
    run: (prepared, context) => base.run(prepared, context),
    async execute(call, context) {
      const prepared = view.prepare(call);
      if (prepared.ok) return base.run(prepared, context);
      return rejectedExecution(prepared);
    },
  };
  return view;
}

class ToolTimeoutError extends Error {}

function reject(call: ToolCall, tool: Tool | undefined, rawArguments: unknown, error: string): RejectedCall {
  return { ok: false, call, tool, rawArguments, error };
}

function capToTokens(text: string, maxTokens: number): string {
  // Cheap check first: a token is at least one character, so short text never needs counting.
  if (text.length <= maxTokens) return text;
  if (countTokens(text) <= maxTokens) return text;
  return `${truncateToTokens(text, maxTokens)}\n[output truncated to ${maxTokens} tokens]`;
}

function describeToolError(name: string, error: unknown, signal: AbortSignal): string {
  if (error instanceof ToolTimeoutError) return `Error: ${error.message}`;
  if (signal.aborted && error === signal.reason) return `Error: ${name} was cancelled before it finished.`;
  const message = isAppError(error) && error.userMessage ? error.userMessage : messageOf(error);
  return `Error: ${name} failed: ${message.slice(0, MAX_ERROR_CHARACTERS)}`;
}

function formatIssues(issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>): string {
  return issues
    .slice(0, 5)
    .map((issue) =>
      issue.path.length > 0 ? `${issue.path.map(String).join(".")}: ${issue.message}` : issue.message,
    )
    .join("; ");
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
