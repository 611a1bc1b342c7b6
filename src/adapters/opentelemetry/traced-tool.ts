import { context, SpanKind } from "@opentelemetry/api";
import {
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_TOOL_CALL_ARGUMENTS,
  ATTR_GEN_AI_TOOL_CALL_RESULT,
  ATTR_GEN_AI_TOOL_NAME,
  ATTR_GEN_AI_TOOL_TYPE,
  GEN_AI_OPERATION_NAME_VALUE_EXECUTE_TOOL,
} from "@opentelemetry/semantic-conventions/incubating";
import type { Tool, ToolOutput } from "../../core/ports/tool.js";
import { definedAttributes, type Tracing, withinSpan } from "./span-tools.js";

function outputText(output: ToolOutput): string {
  return typeof output === "string" ? output : output.text;
}

/**
 * An `execute_tool <name>` span around each run of a tool (after validation and any approval), with
 * its risk level. Arguments and results go on the span only with content capture: they are exactly
 * what a prompt injection would try to smuggle out.
 */
export function traceTool<Input>(tool: Tool<Input>, tracing: Tracing): Tool<Input> {
  const { tracer, captureContent } = tracing;
  return {
    ...tool,
    async execute(input, toolContext) {
      const span = tracer.startSpan(
        `${GEN_AI_OPERATION_NAME_VALUE_EXECUTE_TOOL} ${tool.name}`,
        {
          kind: SpanKind.INTERNAL,
          attributes: definedAttributes({
            [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION_NAME_VALUE_EXECUTE_TOOL,
            [ATTR_GEN_AI_TOOL_NAME]: tool.name,
            [ATTR_GEN_AI_TOOL_TYPE]: "function",
            "teammate.tool.risk": tool.risk,
            [ATTR_GEN_AI_TOOL_CALL_ARGUMENTS]: captureContent ? JSON.stringify(input) : undefined,
          }),
        },
        context.active(),
      );
      // Active, so what the tool does (a search of the docs, an MCP call) nests under it.
      return withinSpan(span, async () => {
        const output = await tool.execute(input, toolContext);
        if (captureContent) span.setAttribute(ATTR_GEN_AI_TOOL_CALL_RESULT, outputText(output));
        return output;
      });
    },
  };
}
