import { SpanKind } from "@opentelemetry/api";
import type { Assistant } from "../../core/assistant.js";
import type { InboundAction, InboundMessage } from "../../core/ports/assistant-handler.js";
import { definedAttributes, type Tracing, withinSpan } from "./span-tools.js";

function scopeAttributes(event: InboundMessage | InboundAction) {
  return {
    "teammate.platform": event.platform,
    "teammate.workspace_id": event.workspaceId,
    "teammate.channel_id": event.channelId,
    "teammate.thread_id": event.threadId,
    "teammate.user_id": event.userId,
    "teammate.event_id": event.eventId,
  };
}

/**
 * One trace per message: the platform event is the root span, and everything the assistant does for
 * it (retrieval, each LLM call, each tool call, the jobs it queues) becomes its descendant through the
 * active context. Message text goes on the span only with `OTEL_CAPTURE_CONTENT=true`.
 */
export function traceAssistant(assistant: Assistant, tracing: Tracing): Assistant {
  const { tracer } = tracing;
  return {
    ...assistant,
    commands: assistant.commands,
    handle(message, sink) {
      const span = tracer.startSpan(`${message.platform} message`, {
        kind: SpanKind.SERVER,
        // A new trace per message, even if the adapter's own work happened under some other span.
        root: true,
        attributes: definedAttributes({
          ...scopeAttributes(message),
          "teammate.command": message.isCommand ? true : undefined,
          "teammate.message.text": tracing.captureContent ? message.text : undefined,
        }),
      });
      return withinSpan(span, () => assistant.handle(message, sink));
    },
    handleAction(action, sink) {
      const span = tracer.startSpan(`${action.platform} action`, {
        kind: SpanKind.SERVER,
        root: true,
        attributes: definedAttributes({ ...scopeAttributes(action), "teammate.action": action.action }),
      });
      return withinSpan(span, () => assistant.handleAction(action, sink));
    },
  };
}
