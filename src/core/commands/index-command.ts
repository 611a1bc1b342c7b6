import { isAppError } from "../errors.js";
import type { IndexProgress, KnowledgeBase } from "../knowledge/knowledge-base.js";
import type { InboundMessage } from "../ports/assistant-handler.js";
import type { DocumentReference } from "../ports/document-loader.js";
import type { SourceRequest } from "../ports/source-connector.js";
import type { DocumentScope } from "../ports/vector-store.js";
import { describeInterval, parseInterval } from "../sources/source-ids.js";
import type { SourceService } from "../sources/source-service.js";
import type { WorkLine } from "../work-line.js";
import type { Command, CommandContext } from "./command.js";
import { type IndexArguments, parseIndexArguments } from "./index-arguments.js";
import { conversationOf, syncNow } from "./source-commands.js";

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

/** What `index` works with: where documents go, and the optional worker queue and synced sources. */
export interface IndexCommandDependencies {
  knowledge: KnowledgeBase;
  enqueueIndex: IndexEnqueuer | undefined;
  sources: SourceService | undefined;
  /** Inline indexing, one document at a time (see `createKnowledgeCommands`). */
  indexingLine: WorkLine;
}

type Reply = CommandContext["reply"];

/**
 * `index`: a synced source (a channel, a repository, a crawled site, anything with a schedule), or
 * one-time documents indexed inline with progress in the reply, or queued for `npm run worker`.
 */
export function indexCommand(dependencies: IndexCommandDependencies): Command {
  return {
    name: "index",
    usage: dependencies.sources
      ? "index <url> | index <url> --crawl [--max N] | index <channel or github:owner/repo> | index this (with a file attached) [--every 6h|1d] [--workspace]"
      : "index <url> | index this (with a file attached) | index <file or folder> (terminal) [--workspace]",
    summary: "add a document to what I answer from",
    parameters: [
      {
        name: "url",
        description: "A link, a #channel or github:owner/repo/path; add --every 1d to keep it synced",
        maxLength: 2000,
      },
      {
        name: "attachment",
        description: "A file to index (PDF, Markdown, text, HTML)",
        type: "attachment",
      },
    ],
    adminOnly: true,
    // Optional: an attachment alone (Discord's `/index` with only a file) is a complete request;
    // with neither a file nor a URL the command itself says what to give it.
    arguments: "optional",
    visibility: "everyone",
    run: (context) => runIndex(dependencies, context),
  };
}

async function runIndex(dependencies: IndexCommandDependencies, context: CommandContext): Promise<void> {
  const { message, args, reply } = context;
  const { sources } = dependencies;
  // The flags come off before the target is read, or they would become part of the URL.
  const parsed = parseIndexArguments(args);
  if (typeof parsed === "string") {
    await reply.say(parsed, "asker");
    return;
  }
  const wantsSource = parsed.every !== undefined || parsed.crawl || parsed.max !== undefined;
  if (sources && parsed.target !== "") {
    const connector = sources.connectorFor(parsed.target, {
      platform: message.platform,
      crawl: parsed.crawl,
    });
    // A page typed alone stays a one-time document; a channel, a repository, or any flag that only
    // makes sense for a source (a schedule, a crawl, a limit) makes it a synced source.
    if (connector && (connector.kind !== "website" || wantsSource)) {
      await indexSource(sources, context, parsed);
      return;
    }
  }
  if (wantsSource) {
    await reply.say(
      sources
        ? "`--every`, `--crawl` and `--max` are for synced sources: give me an http(s) URL, a channel or `github:owner/repo`."
        : "Synced sources are not set up in this installation, so `--every`, `--crawl` and `--max` are not available.",
      "asker",
    );
    return;
  }
  const references = referencesFrom(message, parsed.target);
  if (typeof references === "string") {
    await reply.say(references, "asker");
    return;
  }
  const scope = documentScopeOf(message, parsed.scope);
  if (dependencies.enqueueIndex) {
    await enqueueDocuments(dependencies.enqueueIndex, { references, scope, message }, reply);
    return;
  }
  await reply.say(await indexInline(dependencies, references, scope, reply));
}

/** Documents indexed from a channel are for that channel; `--workspace` shares them workspace-wide. */
function documentScopeOf(message: InboundMessage, flag: IndexArguments["scope"]): DocumentScope {
  const workspaceWide = flag === "workspace" || message.platform === "local";
  return {
    platform: message.platform,
    workspaceId: message.workspaceId,
    ...(workspaceWide && flag !== "channel" ? {} : { channelId: message.channelId }),
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
    return message.attachments.map(
      (attachment): DocumentReference =>
        // A terminal `--file` is a path on this machine; only the terminal's own messages may name one.
        attachment.localPath !== undefined && message.platform === "local"
          ? { kind: "path", path: attachment.localPath }
          : {
              kind: "url",
              url: attachment.url,
              name: attachment.name,
              ...(attachment.arrivedIn ? { arrivedIn: attachment.arrivedIn } : {}),
            },
    );
  }
  if (/^https?:\/\//i.test(target)) return [{ kind: "url", url: target }];
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return "I can only index http and https URLs.";
  // Reading files from the server's disk is for the person at the terminal only.
  if (message.platform !== "local")
    return "Give me an http(s) URL or attach the file; I can't read paths on the server.";
  return [{ kind: "path", path: target }];
}

/** Hands the documents to a worker; the worker's own status message shows the progress. */
async function enqueueDocuments(
  enqueueIndex: IndexEnqueuer,
  request: IndexRequest,
  reply: Reply,
): Promise<void> {
  const { references, message } = request;
  const { statusPosted } = await enqueueIndex(request);
  const count = references.length === 1 ? "it" : `these ${references.length} documents`;
  await reply.say(
    statusPosted
      ? `I'm indexing ${count} in the background; the status message ${message.threadId ? "in this thread" : "in this channel"} shows the progress.`
      : `I'm indexing ${count} in the background (I couldn't post a status message here); \`docs\` will list the result.`,
  );
}

/** Indexes the documents in the bot's own process, waiting its turn in the indexing line; one line per reference. */
async function indexInline(
  { knowledge, indexingLine }: IndexCommandDependencies,
  references: DocumentReference[],
  scope: DocumentScope,
  reply: Reply,
): Promise<string> {
  const where = scope.channelId ? "for this channel" : "for the whole workspace";
  const lines = await indexingLine.run(
    async () => {
      const lines: string[] = [];
      for (const reference of references) {
        const folderFiles = await knowledge.documentsInFolder(reference);
        if (folderFiles !== undefined && reference.kind === "path") {
          lines.push(await indexFolder(knowledge, reference.path, folderFiles, scope, reply, where));
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
  return lines.join("\n");
}

/**
 * `index <folder>`: every document file under it, a few at a time (`KnowledgeBase.indexMany`), with
 * one progress bar over the files. A file the loader refuses (too large, unreadable format) is skipped
 * and named in the summary; anything else (the store or the embedding model failing) stops the run
 * with its error.
 */
async function indexFolder(
  knowledge: KnowledgeBase,
  folder: string,
  files: string[],
  scope: DocumentScope,
  reply: Reply,
  where: string,
): Promise<string> {
  if (files.length === 0) {
    return `\`${folder}\` has no documents I can read (Markdown, text, HTML or PDF files).`;
  }
  const report = progressReporter(reply, folder);
  // By position in the folder, so that the summary names them in the folder's order whatever ended first.
  const skippedAt: Array<[number, string]> = [];
  const positions = new Map(files.map((file, position) => [file, position]));
  let indexed = 0;
  let chunks = 0;
  let settled = 0;
  await report(0, files.length, "Indexing");
  await knowledge.indexMany(
    files.map((file) => ({ kind: "path", path: file })),
    scope,
    async (reference, outcome) => {
      settled += 1;
      if (outcome.ok) {
        indexed += 1;
        chunks += outcome.result.chunks;
      } else {
        const { error } = outcome;
        if (!isAppError(error) || error.category !== "user") throw error;
        const file = reference.kind === "path" ? reference.path : reference.url;
        skippedAt.push([positions.get(file) ?? 0, `${file} (${error.userMessage ?? error.message})`]);
      }
      if (settled < files.length) await report(settled, files.length, "Indexing");
    },
  );
  const skipped = skippedAt.sort((left, right) => left[0] - right[0]).map(([, line]) => line);
  await report(files.length, files.length, "Indexed");
  const summary = `Indexed ${indexed} document${indexed === 1 ? "" : "s"} (${chunks} chunk${chunks === 1 ? "" : "s"}) from \`${folder}\` ${where}.`;
  if (skipped.length === 0) return `${summary} \`docs\` lists them.`;
  const shown = skipped.slice(0, 10).map((entry) => `• ${entry}`);
  if (skipped.length > 10) shown.push(`• … and ${skipped.length - 10} more`);
  return `${summary}\nSkipped ${skipped.length}:\n${shown.join("\n")}`;
}

function progressBar(done: number, total: number): string {
  const width = 10;
  const filled = total > 0 ? Math.round((done / total) * width) : 0;
  return `${"▓".repeat(filled)}${"░".repeat(width - filled)} ${total > 0 ? Math.round((done / total) * 100) : 0}%`;
}

/**
 * Progress for one indexing run: drawn in place where the sink can (the terminal's bar), otherwise
 * as status lines at most once a second (chat platforms edit a message for each).
 */
function progressReporter(reply: Reply, item: string): IndexProgress {
  let lastReport = 0;
  return async (done, total, label) => {
    if (await reply.showProgress({ label, item, done, total })) return;
    const now = Date.now();
    if (done < total && now - lastReport < 1_000) return;
    lastReport = now;
    await reply.status(`${label} ${item}: ${done}/${total} ${progressBar(done, total)}`);
  };
}

/** `--every …` as milliseconds (undefined: no schedule), or the sentence for an interval that won't do. */
function scheduleFrom(
  sources: SourceService,
  every: string | undefined,
): { everyMs: number | undefined } | string {
  if (every === undefined) return { everyMs: undefined };
  const everyMs = parseInterval(every);
  if (everyMs === undefined)
    return `\`--every ${every}\` is not an interval I know: use minutes, hours, days or weeks, like \`--every 6h\` or \`--every 1d\`.`;
  if (everyMs < sources.minIntervalMs)
    return `That is more often than I sync anything: the shortest interval is \`${describeInterval(sources.minIntervalMs)}\`.`;
  return { everyMs };
}

/** `index <target> [--every …] [--crawl] [--max N]`: creates (or updates) a source and syncs it. */
async function indexSource(
  sources: SourceService,
  { message, reply }: CommandContext,
  parsed: IndexArguments,
): Promise<void> {
  const schedule = scheduleFrom(sources, parsed.every);
  if (typeof schedule === "string") {
    await reply.say(schedule, "asker");
    return;
  }
  const request: SourceRequest = {
    target: parsed.target,
    platform: message.platform,
    workspaceId: message.workspaceId,
    channelId: message.channelId,
    userId: message.userId,
    workspaceWide:
      parsed.scope === "workspace" || (message.platform === "local" && parsed.scope !== "channel"),
    crawl: parsed.crawl,
    maxItems: parsed.max,
  };
  await reply.status("Checking the source…");
  const { source, existed } = await sources.create(request, schedule.everyMs, conversationOf(message));
  const { statusPosted } = await syncNow(sources, message, source);
  const where = source.scope.channelId
    ? source.scope.channelId === message.channelId
      ? "for this channel"
      : "for that channel only"
    : "for the whole workspace";
  const every = source.everyMs === undefined ? "" : `, synced every ${describeInterval(source.everyMs)}`;
  await reply.say(
    `${existed ? "Updated" : "Added"} source \`${source.id}\` **${source.name}** (${source.kind}, ${where}${every}). Syncing it now${statusPosted ? "; the status message shows the progress" : ""}. \`sync ${source.id}\` syncs it again, \`forget-doc ${source.id}\` removes it and everything it added.`,
  );
}
