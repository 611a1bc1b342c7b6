import { scopeOf } from "../chains/answer-chain.js";
import type { KnowledgeBase } from "../knowledge/knowledge-base.js";
import type { InboundMessage } from "../ports/assistant-handler.js";
import type { SourceService } from "../sources/source-service.js";
import { WorkLine } from "../work-line.js";
import type { Command, CommandParameter, Suggestion } from "./command.js";
import { type IndexEnqueuer, indexCommand } from "./index-command.js";
import { describeSource, findSourceFor, sourceCommands } from "./source-commands.js";
import { matching } from "./suggestions.js";

const SOURCE_ID = /^s[0-9a-f]{10}$/;

/**
 * The `index`, `docs` and `forget-doc` commands (and `sync`, `sync stop` when synced sources are set
 * up). `index` runs inline (progress in the reply) unless `enqueueIndex` is given, in which case the
 * bot only queues the work for `npm run worker`.
 */
export function createKnowledgeCommands(
  knowledge: KnowledgeBase,
  enqueueIndex?: IndexEnqueuer,
  sources?: SourceService,
): Command[] {
  // Inline indexing shares the bot's process with every answer: one document at a time keeps it
  // responsive, and whoever waits is told their place.
  const indexingLine = new WorkLine(1);
  const sourceParameter: CommandParameter = {
    name: "source",
    description: "The source id, as shown by docs",
    required: true,
    maxLength: 200,
    suggestions: "source",
    suggest: ({ message, partial }) => suggestSources(sources, message, partial),
  };
  return [
    ...(sources ? sourceCommands(sources, sourceParameter) : []),
    indexCommand({ knowledge, enqueueIndex, sources, indexingLine }),
    docsCommand(knowledge, sources),
    forgetDocCommand(knowledge, sources),
  ];
}

// Suggestions come from the same scoped listings `docs` shows: only what the asker's channel may see.
async function suggestSources(
  sources: SourceService | undefined,
  message: InboundMessage,
  partial: string,
): Promise<Suggestion[]> {
  return matching(
    (await (sources?.visible(scopeOf(message)) ?? [])).map((source) => ({
      label: `${source.id} — ${source.name}`,
      value: source.id,
    })),
    partial,
  );
}

async function suggestDocuments(
  knowledge: KnowledgeBase,
  message: InboundMessage,
  partial: string,
): Promise<Suggestion[]> {
  return matching(
    (await knowledge.list(scopeOf(message))).map((document) => ({
      label: `${document.documentId} — ${document.title}`,
      value: document.documentId,
    })),
    partial,
  );
}

/** `docs`: the synced sources and the one-time documents the asker's channel may answer from. */
function docsCommand(knowledge: KnowledgeBase, sources: SourceService | undefined): Command {
  return {
    name: "docs",
    usage: "docs",
    summary: "the documents I can answer from here, with chunk counts",
    adminOnly: false,
    arguments: "none",
    visibility: "asker",
    async run({ message, reply }) {
      const scope = scopeOf(message);
      const visibleSources = sources ? await sources.visible(scope) : [];
      const sourceLines: string[] = [];
      const fromSources = new Set<string>();
      for (const source of visibleSources) {
        const items = (await sources?.items(source)) ?? [];
        for (const item of items) fromSources.add(item.documentId);
        sourceLines.push(describeSource(source, items.length));
      }
      const documents = (await knowledge.list(scope)).filter(
        (document) => !fromSources.has(document.documentId),
      );
      if (documents.length === 0 && sourceLines.length === 0) {
        await reply.say(
          "No documents are indexed here yet. An admin can add one with `index <url>`.",
          "asker",
        );
        return;
      }
      const parts: string[] = [];
      if (sourceLines.length > 0) parts.push(`Sources I keep in sync here:\n${sourceLines.join("\n")}`);
      if (documents.length > 0) {
        parts.push(
          `Documents I answer from here:\n${documents
            .map(
              (document) =>
                `• \`${document.documentId}\` **${document.title}** — ${document.source} (${document.chunkCount} chunks, ${document.scope.channelId ? "this channel" : "workspace-wide"})`,
            )
            .join("\n")}`,
        );
      }
      await reply.say(parts.join("\n\n"), "asker");
    },
  };
}

/** `forget-doc <id>`: removes a source (its documents and schedule too) or one document. */
function forgetDocCommand(knowledge: KnowledgeBase, sources: SourceService | undefined): Command {
  return {
    name: "forget-doc",
    usage: "forget-doc <id>",
    parameters: [
      {
        name: "id",
        description: "The document or source id, as shown by docs",
        required: true,
        maxLength: 200,
        suggestions: "document",
        // Documents and sources both: forget-doc removes either.
        suggest: async ({ message, partial }) =>
          matching(
            [
              ...(await suggestSources(sources, message, partial)),
              ...(await suggestDocuments(knowledge, message, partial)),
            ],
            partial,
          ),
      },
    ],
    summary: "remove a document or a source and all its chunks (ids are shown by `docs`)",
    adminOnly: true,
    arguments: "required",
    visibility: "everyone",
    async run(context) {
      const { message, reply } = context;
      const id = context.args.replace(/^`|`$/g, "");
      if (sources && SOURCE_ID.test(id)) {
        const source = await findSourceFor(sources, context, id);
        if (!source) return;
        const removed = await sources.forget(source);
        await reply.say(
          `Removed source \`${id}\` **${source.name}**: ${removed.documents} document${removed.documents === 1 ? "" : "s"} (${removed.chunks} chunk${removed.chunks === 1 ? "" : "s"}), and its schedule.`,
        );
        return;
      }
      const visible = await knowledge.list(scopeOf(message));
      if (!visible.some((document) => document.documentId === id)) {
        await reply.say(`There is no document \`${id}\` here. \`docs\` lists them.`, "asker");
        return;
      }
      const removed = await knowledge.forget(scopeOf(message), id);
      await reply.say(`Removed document \`${id}\` (${removed} chunks).`);
    },
  };
}
