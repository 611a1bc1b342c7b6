import { context, SpanKind } from "@opentelemetry/api";
import {
  ATTR_GEN_AI_DATA_SOURCE_ID,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_RETRIEVAL_QUERY_TEXT,
  GEN_AI_OPERATION_NAME_VALUE_RETRIEVAL,
} from "@opentelemetry/semantic-conventions/incubating";
import type { Retriever } from "../../core/ports/knowledge.js";
import { definedAttributes, type Tracing, withinSpan } from "./span-tools.js";

/**
 * A `retrieval <store>` span per search of the team's documents (the answer chain's and the
 * `search_docs` tool's alike), with how many passages came back. The query text only with content capture.
 */
export function traceRetriever(retriever: Retriever, tracing: Tracing, dataSource: string): Retriever {
  const { tracer, captureContent } = tracing;
  return {
    hasDocuments: (scope) => retriever.hasDocuments(scope),
    async retrieve(question, scope, signal) {
      const span = tracer.startSpan(
        `${GEN_AI_OPERATION_NAME_VALUE_RETRIEVAL} ${dataSource}`,
        {
          kind: SpanKind.INTERNAL,
          attributes: definedAttributes({
            [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION_NAME_VALUE_RETRIEVAL,
            [ATTR_GEN_AI_DATA_SOURCE_ID]: dataSource,
            [ATTR_GEN_AI_RETRIEVAL_QUERY_TEXT]: captureContent ? question : undefined,
            "teammate.workspace_id": scope.workspaceId,
            "teammate.channel_id": scope.channelId,
          }),
        },
        context.active(),
      );
      // Active, so the question's embedding call nests under the retrieval.
      return withinSpan(span, async () => {
        const passages = await retriever.retrieve(question, scope, signal);
        span.setAttribute("teammate.retrieval.passages", passages.length);
        return passages;
      });
    },
  };
}
