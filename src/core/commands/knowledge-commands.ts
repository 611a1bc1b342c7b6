import { scopeOf } from "../chains/answer-chain.js";
import { isAppError } from "../errors.js";
import type { IndexProgress, KnowledgeBase } from "../knowledge/knowledge-base.js";
import type { DocumentReference } from "../ports/document-loader.js";
import type { DocumentScope } from "../ports/vector-store.js";
import type { InboundMessage } from "../types.js";
import { WorkLine } from "../work-line.js";
import type { Command, CommandContext } from "./command.js";

/** One `index` request handed to background work: what to index, into which scope, and who asked. */
export interface IndexRequest {
  references: DocumentReference[];
  scope: DocumentScope;
  message: InboundMessage;
}

/**
 * Queues an indexing request for a worker and resolves once it is queued; the worker reports progress
 * in a status message of its own, and `statusPosted` says whether that message could be posted.
 * Set when REDIS_URL is (see `createIngestEnqueuer`).
 */
export type IndexEnqueuer = (request: IndexRequest) => Promise<{ statusPosted: boolean }>;

function progressBar(done: number, total: number): string {
  const width = 10;
  const filled = total > 0 ? Math.round((done / total) * width) : 0;
  return `${"▓".repeat(filled)}${"░".repeat(width - filled)} ${total > 0 ? Math.round((done / total) * 100) : 0}%`;
}

/** `--workspace` or `--channel` at the end of `index …`. */
const SCOPE_FLAG = /(?:^|\s+)--(workspace|channel)\s*$/;

/**
 * Progress for one indexing run: drawn in place where the sink can (the terminal's bar), otherwise
 * as status lines at most once a second (chat platforms edit a message for each).
 */
function progressReporter(reply: CommandContext["reply"], item: string): IndexProgress {
  let lastReport = 0;
  return async (done, total, label) => {
    if (await reply.showProgress({ label, item, done, total })) return;
    const now = Date.now();
    if (done < total && now - lastReport < 1_000) return;
    lastReport = now;
    await reply.status(`${label} ${item}: ${done}/${total} ${progressBar(done, total)}`);
  };
}

function referencesFrom(message: InboundMessage, args: string): DocumentReference[] | string {
  const target =
    args
      .replace(/\s+--(?:workspace|channel)$/, "")
      .replace(/^<(.+)>$/, "$1")
      .split("|")[0]
      ?.trim() ?? "";
  const wantsAttachments =
    target === "" || /^(this|these|that|them|it|the files?|attachments?)$/i.test(target);
  if (wantsAttachments) {
    if (message.attachments.length === 0)
      return 'Attach a file to your message ("index this"), or give me a URL: `index https://…`.';
    return message.attachments.map((attachment) => ({
      kind: "url" as const,
      url: attachment.url,
      name: attachment.name,
      ...(attachment.arrivedIn ? { arrivedIn: attachment.arrivedIn } : {}),
    }));
  }
  if (/^https?:\/\//i.test(target)) return [{ kind: "url", url: target }];
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return "I can only index http and https URLs.";
  // Reading files from the server's disk is for the person at the terminal only.
  if (message.platform !== "local")
    return "Give me an http(s) URL or attach the file; I can't read paths on the server.";
  return [{ kind: "path", path: target }];
}

/**
 * The `index`, `docs` and `forget-doc` commands. `index` runs inline (progress in the reply) unless
 * `enqueueIndex` is given, in which case the bot only queues the work for `npm run worker`.
 */
export function createKnowledgeCommands(knowledge: KnowledgeBase, enqueueIndex?: IndexEnqueuer): Command[] {
  // Inline indexing shares the bot's process with every answer: one document at a time keeps it
  // responsive, and whoever waits is told their place.
  const indexingLine = new WorkLine(1);

  async function indexCommand({ message, args, reply }: CommandContext): Promise<void> {
    // The flag comes off before the target is read, or it would become part of the URL.
    const flag = SCOPE_FLAG.exec(args)?.[1];
    const references = referencesFrom(message, args.replace(SCOPE_FLAG, "").trim());
    if (typeof references === "string") {
      await reply.say(references, "asker");
      return;
    }
    const channelOnly = flag === "channel";
    // Documents indexed from a channel are for that channel; `--workspace` shares them workspace-wide.
    const workspaceWide = flag === "workspace" || message.platform === "local";
    const scope: DocumentScope = {
      platform: message.platform,
      workspaceId: message.workspaceId,
      ...(workspaceWide && !channelOnly ? {} : { channelId: message.channelId }),
    };
    if (enqueueIndex) {
      const { statusPosted } = await enqueueIndex({ references, scope, message });
      const count = references.length === 1 ? "it" : `these ${references.length} documents`;
      await reply.say(
        statusPosted
          ? `I'm indexing ${count} in the background; the status message ${message.threadId ? "in this thread" : "in this channel"} shows the progress.`
          : `I'm indexing ${count} in the background (I couldn't post a status message here); \`docs\` will list the result.`,
      );
      return;
    }
    const where = scope.channelId ? "for this channel" : "for the whole workspace";
    const lines = await indexingLine.run(
      async () => {
        const lines: string[] = [];
        for (const reference of references) {
          const folderFiles = await knowledge.documentsInFolder(reference);
          if (folderFiles !== undefined && reference.kind === "path") {
            lines.push(await indexFolder(reference.path, folderFiles, scope, reply, where));
            continue;
          }
          const name = reference.kind === "url" ? (reference.name ?? reference.url) : reference.path;
          const result = await knowledge.index(reference, scope, progressReporter(reply, name));
          lines.push(
            `Indexed **${result.title}** (\`${result.documentId}\`, ${result.chunks} chunk${result.chunks === 1 ? "" : "s"}) from ${result.source} ${where}.`,
          );
        }
        return lines;
      },
      {
        onWait: ({ ahead }) => {
          const line =
            ahead === 0
              ? "Another document is being indexed right now; yours is next in line…"
              : `Another document is being indexed right now, and ${ahead} request${ahead === 1 ? " is" : "s are"} waiting ahead of yours…`;
          reply.status(line).catch(() => {});
        },
      },
    );
    await reply.say(lines.join("\n"));
  }

  /**
   * `index <folder>`: every document file under it, one after the other, with one progress bar over
   * the files. A file the loader refuses (too large, unreadable format) is skipped and named in the
   * summary; anything else (the store or the embedding model failing) stops the run with its error.
   */
  async function indexFolder(
    folder: string,
    files: string[],
    scope: DocumentScope,
    reply: CommandContext["reply"],
    where: string,
  ): Promise<string> {
    if (files.length === 0) {
      return `\`${folder}\` has no documents I can read (Markdown, text, HTML or PDF files).`;
    }
    const report = progressReporter(reply, folder);
    const skipped: string[] = [];
    let indexed = 0;
    let chunks = 0;
    for (const [position, file] of files.entries()) {
      await report(position, files.length, "Indexing");
      try {
        const result = await knowledge.index({ kind: "path", path: file }, scope);
        indexed += 1;
        chunks += result.chunks;
      } catch (error) {
        if (!isAppError(error) || error.category !== "user") throw error;
        skipped.push(`${file} (${error.userMessage ?? error.message})`);
      }
    }
    await report(files.length, files.length, "Indexed");
    const summary = `Indexed ${indexed} document${indexed === 1 ? "" : "s"} (${chunks} chunks) from \`${folder}\` ${where}.`;
    if (skipped.length === 0) return `${summary} \`docs\` lists them.`;
    const shown = skipped.slice(0, 10).map((entry) => `• ${entry}`);
    if (skipped.length > 10) shown.push(`• … and ${skipped.length - 10} more`);
    return `${summary}\nSkipped ${skipped.length}:\n${shown.join("\n")}`;
  }

  return [
    {
      name: "index",
      usage:
        "index <url> | index this (with a file attached) | index <file or folder> (terminal) [--workspace]",
      summary: "add a document to what I answer from",
      adminOnly: true,
      // Optional: an attachment alone (Discord's `/index` with only a file) is a complete request;
      // with neither a file nor a URL the command itself says what to give it.
      arguments: "optional",
      visibility: "everyone",
      run: indexCommand,
    },
    {
      name: "docs",
      usage: "docs",
      summary: "the documents I can answer from here, with chunk counts",
      adminOnly: false,
      arguments: "none",
      visibility: "asker",
      async run({ message, reply }) {
        const documents = await knowledge.list(scopeOf(message));
        if (documents.length === 0) {
          await reply.say(
            "No documents are indexed here yet. An admin can add one with `index <url>`.",
            "asker",
          );
          return;
        }
        await reply.say(
          `Documents I answer from here:\n${documents
            .map(
              (document) =>
                `• \`${document.documentId}\` **${document.title}** — ${document.source} (${document.chunkCount} chunks, ${document.scope.channelId ? "this channel" : "workspace-wide"})`,
            )
            .join("\n")}`,
          "asker",
        );
      },
    },
    {
      name: "forget-doc",
      usage: "forget-doc <id>",
      summary: "remove a document and all its chunks (ids are shown by `docs`)",
      adminOnly: true,
      arguments: "required",
      visibility: "everyone",
      async run({ message, args, reply }) {
        const id = args.replace(/^`|`$/g, "");
        const visible = await knowledge.list(scopeOf(message));
        if (!visible.some((document) => document.documentId === id)) {
          await reply.say(`There is no document \`${id}\` here. \`docs\` lists them.`, "asker");
          return;
        }
        const removed = await knowledge.forget(scopeOf(message), id);
        await reply.say(`Removed document \`${id}\` (${removed} chunks).`);
      },
    },
  ];
}
