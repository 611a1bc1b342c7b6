import { scopeOf } from "../chains/answer-chain.js";
import { isAppError } from "../errors.js";
import type { IndexProgress, KnowledgeBase } from "../knowledge/knowledge-base.js";
import type { DocumentReference } from "../ports/document-loader.js";
import type { SourceRequest } from "../ports/source-connector.js";
import type { SourceRecord } from "../ports/source-store.js";
import type { DocumentScope } from "../ports/vector-store.js";
import { describeInterval, parseInterval } from "../sources/source-ids.js";
import type { SourceService } from "../sources/source-service.js";
import type { InboundMessage } from "../types.js";
import { WorkLine } from "../work-line.js";
import type { Command, CommandContext, CommandParameter, Suggestion } from "./command.js";
import { matching } from "./suggestions.js";

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

/** The most items `--max` may ask for. */
export const MAX_SOURCE_ITEMS = 5_000;

/** `index <target> [--every 6h] [--workspace | --channel] [--crawl] [--max N]`, taken apart. */
export interface IndexArguments {
  target: string;
  every?: string | undefined;
  scope?: "workspace" | "channel" | undefined;
  crawl: boolean;
  max?: number | undefined;
}

/**
 * Takes the flags off `index …` wherever they stand, leaving the target. Chat clients may turn `--`
 * into an em dash, so `—every` counts too. Returns a sentence for the asker when a flag is malformed.
 */
export function parseIndexArguments(args: string): IndexArguments | string {
  const words = args
    .trim()
    .split(/\s+/)
    .filter((word) => word !== "");
  const rest: string[] = [];
  const parsed: IndexArguments = { target: "", crawl: false };
  for (let position = 0; position < words.length; position += 1) {
    const word = words[position] ?? "";
    const flag = /^(?:--|—|–)([a-z]+)(?:=(.*))?$/i.exec(word);
    if (!flag) {
      rest.push(word);
      continue;
    }
    const name = (flag[1] ?? "").toLowerCase();
    const takeValue = (): string | undefined => {
      if (flag[2] !== undefined) return flag[2];
      position += 1;
      return words[position];
    };
    switch (name) {
      case "workspace":
      case "channel":
        parsed.scope = name;
        break;
      case "crawl":
        parsed.crawl = true;
        break;
      case "every": {
        const value = takeValue();
        if (value === undefined) return "Say how often after `--every`, like `--every 6h` or `--every 1d`.";
        parsed.every = value;
        break;
      }
      case "max": {
        const value = Number(takeValue());
        if (!Number.isInteger(value) || value < 1 || value > MAX_SOURCE_ITEMS)
          return `\`--max\` takes a number of documents from 1 to ${MAX_SOURCE_ITEMS}.`;
        parsed.max = value;
        break;
      }
      default:
        return `I don't know the flag \`--${name}\`. \`index\` takes \`--every\`, \`--workspace\`, \`--channel\`, \`--crawl\` and \`--max\`.`;
    }
  }
  parsed.target = rest.join(" ");
  return parsed;
}

function when(at: number): string {
  return `${new Date(at).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** One `docs` line for a source: its id, name, documents, last sync and next run. */
function describeSource(source: SourceRecord, documents: number): string {
  const where = source.scope.channelId ? "this channel" : "workspace-wide";
  const last = source.lastSync
    ? `last sync ${when(source.lastSync.at)}: ${source.lastSync.ok ? "ok" : `failed${source.consecutiveFailures > 1 ? ` ${source.consecutiveFailures} times in a row` : ""}`}`
    : "not synced yet";
  const next =
    source.everyMs === undefined
      ? "no schedule"
      : `every ${describeInterval(source.everyMs)}, next ${source.nextRunAt === undefined ? "soon" : when(source.nextRunAt)}`;
  return `• \`${source.id}\` **${source.name}** (${source.kind}, ${documents} document${documents === 1 ? "" : "s"}, ${where}) — ${last}; ${next}`;
}

const SOURCE_ID = /^s[0-9a-f]{10}$/;

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
export function createKnowledgeCommands(
  knowledge: KnowledgeBase,
  enqueueIndex?: IndexEnqueuer,
  sources?: SourceService,
): Command[] {
  // Inline indexing shares the bot's process with every answer: one document at a time keeps it
  // responsive, and whoever waits is told their place.
  const indexingLine = new WorkLine(1);

  async function indexCommand(context: CommandContext): Promise<void> {
    const { message, args, reply } = context;
    // The flags come off before the target is read, or they would become part of the URL.
    const parsed = parseIndexArguments(args);
    if (typeof parsed === "string") {
      await reply.say(parsed, "asker");
      return;
    }
    const flag = parsed.scope;
    const wantsSource = parsed.every !== undefined || parsed.crawl || parsed.max !== undefined;
    if (sources && parsed.target !== "") {
      const connector = sources.connectorFor(parsed.target, {
        platform: message.platform,
        crawl: parsed.crawl,
      });
      // A page typed alone stays a one-time document; a channel, a repository, or any flag that only
      // makes sense for a source (a schedule, a crawl, a limit) makes it a synced source.
      if (connector && (connector.kind !== "website" || wantsSource)) {
        await indexSource(context, parsed);
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

  /** `index <target> [--every …] [--crawl] [--max N]`: creates (or updates) a source and syncs it. */
  async function indexSource({ message, reply }: CommandContext, parsed: IndexArguments): Promise<void> {
    if (!sources) return;
    let everyMs: number | undefined;
    if (parsed.every !== undefined) {
      everyMs = parseInterval(parsed.every);
      if (everyMs === undefined) {
        await reply.say(
          `\`--every ${parsed.every}\` is not an interval I know: use minutes, hours, days or weeks, like \`--every 6h\` or \`--every 1d\`.`,
          "asker",
        );
        return;
      }
      if (everyMs < sources.minIntervalMs) {
        await reply.say(
          `That is more often than I sync anything: the shortest interval is \`${describeInterval(sources.minIntervalMs)}\`.`,
          "asker",
        );
        return;
      }
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
    const conversation = {
      platform: message.platform,
      workspaceId: message.workspaceId,
      channelId: message.channelId,
      threadId: message.threadId,
    };
    const { source, existed } = await sources.create(request, everyMs, conversation);
    const statusMessage = await sources.postStatus(conversation, source);
    await sources.enqueueSync(source, message.eventId, statusMessage);
    const where = source.scope.channelId
      ? source.scope.channelId === message.channelId
        ? "for this channel"
        : "for that channel only"
      : "for the whole workspace";
    const schedule = source.everyMs === undefined ? "" : `, synced every ${describeInterval(source.everyMs)}`;
    await reply.say(
      `${existed ? "Updated" : "Added"} source \`${source.id}\` **${source.name}** (${source.kind}, ${where}${schedule}). Syncing it now${statusMessage ? "; the status message shows the progress" : ""}. \`sync ${source.id}\` syncs it again, \`forget-doc ${source.id}\` removes it and everything it added.`,
    );
  }

  // Suggestions come from the same scoped listings `docs` shows: only what the asker's channel may see.
  const suggestSources = async (message: InboundMessage, partial: string): Promise<Suggestion[]> =>
    matching(
      (await (sources?.visible(scopeOf(message)) ?? [])).map((source) => ({
        label: `${source.id} — ${source.name}`,
        value: source.id,
      })),
      partial,
    );
  const suggestDocuments = async (message: InboundMessage, partial: string): Promise<Suggestion[]> =>
    matching(
      (await knowledge.list(scopeOf(message))).map((document) => ({
        label: `${document.documentId} — ${document.title}`,
        value: document.documentId,
      })),
      partial,
    );
  const sourceParameter: CommandParameter = {
    name: "source",
    description: "The source id, as shown by docs",
    required: true,
    maxLength: 200,
    suggestions: "source",
    suggest: ({ message, partial }) => suggestSources(message, partial),
  };

  const sourceCommands: Command[] = sources
    ? [
        {
          name: "sync",
          usage: "sync <source id>",
          subcommandName: "now",
          parameters: [sourceParameter],
          summary: "sync a source now (ids are shown by `docs`)",
          adminOnly: true,
          arguments: "required",
          visibility: "everyone",
          async run({ message, args, reply }) {
            // Discord's `/sync now source:<id>` arrives as `sync now <id>`.
            const id = args.replace(/^now\s+/i, "").replace(/^`|`$/g, "");
            const source = await sources.find(scopeOf(message), id);
            if (!source) {
              await reply.say(`There is no source \`${id}\` here. \`docs\` lists them.`, "asker");
              return;
            }
            const conversation = {
              platform: message.platform,
              workspaceId: message.workspaceId,
              channelId: message.channelId,
              threadId: message.threadId,
            };
            const statusMessage = await sources.postStatus(conversation, source);
            await sources.enqueueSync(source, message.eventId, statusMessage);
            await reply.say(
              `Syncing **${source.name}** now${statusMessage ? "; the status message shows the progress" : ""}.`,
            );
          },
        },
        {
          name: "sync stop",
          usage: "sync stop <source id>",
          parameters: [sourceParameter],
          summary: "stop a source's scheduled syncs (its documents stay)",
          adminOnly: true,
          arguments: "required",
          visibility: "everyone",
          async run({ message, args, reply }) {
            const id = args.replace(/^`|`$/g, "");
            const source = await sources.find(scopeOf(message), id);
            if (!source) {
              await reply.say(`There is no source \`${id}\` here. \`docs\` lists them.`, "asker");
              return;
            }
            await sources.stop(source);
            await reply.say(
              `**${source.name}** is no longer synced on a schedule; its documents stay. \`sync ${source.id}\` syncs it once, \`forget-doc ${source.id}\` removes it.`,
            );
          },
        },
      ]
    : [];

  return [
    ...sourceCommands,
    {
      name: "index",
      usage: sources
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
    },
    {
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
              [...(await suggestSources(message, partial)), ...(await suggestDocuments(message, partial))],
              partial,
            ),
        },
      ],
      summary: "remove a document or a source and all its chunks (ids are shown by `docs`)",
      adminOnly: true,
      arguments: "required",
      visibility: "everyone",
      async run({ message, args, reply }) {
        const id = args.replace(/^`|`$/g, "");
        if (sources && SOURCE_ID.test(id)) {
          const source = await sources.find(scopeOf(message), id);
          if (!source) {
            await reply.say(`There is no source \`${id}\` here. \`docs\` lists them.`, "asker");
            return;
          }
          const removed = await sources.forget(source);
          await reply.say(
            `Removed source \`${id}\` **${source.name}**: ${removed.documents} document${removed.documents === 1 ? "" : "s"} (${removed.chunks} chunks), and its schedule.`,
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
    },
  ];
}
