import { context, type Span, SpanKind } from "@opentelemetry/api";
import { ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT } from "@opentelemetry/semantic-conventions";
import {
  ATTR_GEN_AI_INPUT_MESSAGES,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_OUTPUT_MESSAGES,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MAX_TOKENS,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_REQUEST_STREAM,
  ATTR_GEN_AI_REQUEST_TEMPERATURE,
  ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  GEN_AI_OPERATION_NAME_VALUE_CHAT,
  GEN_AI_OPERATION_NAME_VALUE_EMBEDDINGS,
  GEN_AI_PROVIDER_NAME_VALUE_OPENAI,
} from "@opentelemetry/semantic-conventions/incubating";
import type {
  ChatMessage,
  ChatRequest,
  FinishReason,
  LlmProvider,
  TokenUsage,
  ToolCall,
} from "../../core/ports/llm-provider.js";
import { definedAttributes, recordFailure, type Tracing, withinSpan } from "./span-tools.js";

export interface TracedLlmOptions {
  /** The endpoint's base URL, for `server.address` / `server.port` (never its key). */
  baseUrl?: string | undefined;
}

function serverAttributes(baseUrl: string | undefined) {
  const url = new URL(baseUrl ?? "https://api.openai.com/v1");
  const port = url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
  return { [ATTR_SERVER_ADDRESS]: url.hostname, [ATTR_SERVER_PORT]: port };
}

/** Messages in the semantic conventions' shape (`role` + `parts`), for content capture only. */
function inputMessages(messages: ChatMessage[]): string {
  return JSON.stringify(
    messages.map((message) => {
      const parts: Array<Record<string, unknown>> = [];
      if (message.content) parts.push({ type: "text", content: message.content });
      if (message.role === "assistant") {
        for (const call of message.toolCalls ?? []) {
          parts.push({ type: "tool_call", id: call.id, name: call.name, arguments: call.arguments });
        }
      }
      if (message.role === "tool")
        return {
          role: "tool",
          parts: [{ type: "tool_call_response", id: message.toolCallId, response: message.content }],
        };
      return { role: message.role, parts };
    }),
  );
}

function outputMessages(text: string, calls: ToolCall[], reason: FinishReason): string {
  const parts: Array<Record<string, unknown>> = [];
  if (text) parts.push({ type: "text", content: text });
  for (const call of calls)
    parts.push({ type: "tool_call", id: call.id, name: call.name, arguments: call.arguments });
  return JSON.stringify([{ role: "assistant", parts, finish_reason: reason }]);
}

/**
 * One CLIENT span per LLM call, named and attributed after the OpenTelemetry GenAI semantic
 * conventions: `chat <model>` with request and response model, token usage and finish reason;
 * `embeddings <model>` for vectors. Prompts and answers only with `OTEL_CAPTURE_CONTENT=true`.
 *
 * @see https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/
 */
export function traceLlm(llm: LlmProvider, tracing: Tracing, options: TracedLlmOptions = {}): LlmProvider {
  const { tracer, captureContent } = tracing;
  const server = serverAttributes(options.baseUrl);

  const startChat = (request: ChatRequest, stream: boolean): Span => {
    const model = request.model ?? llm.defaultModel;
    return tracer.startSpan(
      `${GEN_AI_OPERATION_NAME_VALUE_CHAT} ${model}`,
      {
        kind: SpanKind.CLIENT,
        attributes: definedAttributes({
          [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION_NAME_VALUE_CHAT,
          [ATTR_GEN_AI_PROVIDER_NAME]: GEN_AI_PROVIDER_NAME_VALUE_OPENAI,
          [ATTR_GEN_AI_REQUEST_MODEL]: model,
          [ATTR_GEN_AI_REQUEST_TEMPERATURE]: request.temperature,
          [ATTR_GEN_AI_REQUEST_MAX_TOKENS]: request.maxTokens,
          [ATTR_GEN_AI_REQUEST_STREAM]: stream,
          [ATTR_GEN_AI_INPUT_MESSAGES]: captureContent ? inputMessages(request.messages) : undefined,
          ...server,
        }),
      },
      context.active(),
    );
  };

  const finish = (
    span: Span,
    result: {
      model: string;
      reason: FinishReason;
      usage: TokenUsage | undefined;
      text: string;
      calls: ToolCall[];
    },
  ) => {
    span.setAttributes(
      definedAttributes({
        [ATTR_GEN_AI_RESPONSE_MODEL]: result.model,
        [ATTR_GEN_AI_RESPONSE_FINISH_REASONS]: [result.reason],
        [ATTR_GEN_AI_USAGE_INPUT_TOKENS]: result.usage?.promptTokens,
        [ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: result.usage?.completionTokens,
        [ATTR_GEN_AI_OUTPUT_MESSAGES]: captureContent
          ? outputMessages(result.text, result.calls, result.reason)
          : undefined,
      }),
    );
  };

  return {
    get defaultModel() {
      return llm.defaultModel;
    },
    get embeddingModel() {
      return llm.embeddingModel;
    },
    async *stream(request: ChatRequest) {
      const span = startChat(request, true);
      const started = performance.now();
      let first = true;
      let text = "";
      const calls: ToolCall[] = [];
      try {
        for await (const part of llm.stream(request)) {
          if (first) {
            first = false;
            span.setAttribute(
              ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
              (performance.now() - started) / 1_000,
            );
          }
          if (part.type === "text-delta") {
            if (captureContent) text += part.text;
          } else if (part.type === "tool-call") {
            calls.push(part.call);
          } else {
            finish(span, { model: part.model, reason: part.reason, usage: part.usage, text, calls });
          }
          yield part;
        }
      } catch (error) {
        recordFailure(span, error);
        throw error;
      } finally {
        span.end();
      }
    },
    async complete(request: ChatRequest) {
      const span = startChat(request, false);
      return withinSpan(span, async () => {
        const completion = await llm.complete(request);
        finish(span, {
          model: completion.model,
          reason: completion.finishReason,
          usage: completion.usage,
          text: completion.text,
          calls: completion.toolCalls,
        });
        return completion;
      });
    },
    async embed(texts: string[], signal?: AbortSignal) {
      const model = llm.embeddingModel ?? "none";
      const span = tracer.startSpan(
        `${GEN_AI_OPERATION_NAME_VALUE_EMBEDDINGS} ${model}`,
        {
          kind: SpanKind.CLIENT,
          attributes: {
            [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION_NAME_VALUE_EMBEDDINGS,
            [ATTR_GEN_AI_PROVIDER_NAME]: GEN_AI_PROVIDER_NAME_VALUE_OPENAI,
            [ATTR_GEN_AI_REQUEST_MODEL]: model,
            "teammate.embeddings.inputs": texts.length,
            ...server,
          },
        },
        context.active(),
      );
      return withinSpan(span, () => llm.embed(texts, signal));
    },
  };
}
