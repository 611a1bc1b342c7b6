import { scopeOf } from "../chains/answer-chain.js";
import type { InboundMessage } from "../ports/assistant-handler.js";
import type { SourceRecord } from "../ports/source-store.js";
import { describeInterval } from "../sources/source-ids.js";
import type { SourceService } from "../sources/source-service.js";
import type { ConversationRef } from "../types.js";
import type { Command, CommandContext, CommandParameter } from "./command.js";

/** Where a command was given: where the source service posts its status message and later reports. */
export function conversationOf(message: InboundMessage): ConversationRef {
  return {
    platform: message.platform,
    workspaceId: message.workspaceId,
    channelId: message.channelId,
    threadId: message.threadId,
  };
}

/**
 * The source `id` as the asker's channel may see it, or undefined after telling the asker (privately)
 * that there is none: `sync`, `sync stop` and `forget-doc` answer a wrong id the same way.
 */
export async function findSourceFor(
  sources: SourceService,
  { message, reply }: Pick<CommandContext, "message" | "reply">,
  id: string,
): Promise<SourceRecord | undefined> {
  const source = await sources.find(scopeOf(message), id);
  if (!source) await reply.say(`There is no source \`${id}\` here. \`docs\` lists them.`, "asker");
  return source;
}

/** Queues a sync of `source` now, with a status message in the asker's conversation when one can be posted. */
export async function syncNow(
  sources: SourceService,
  message: InboundMessage,
  source: SourceRecord,
): Promise<{ statusPosted: boolean }> {
  const statusMessage = await sources.postStatus(conversationOf(message), source);
  await sources.enqueueSync(source, message.eventId, statusMessage);
  return { statusPosted: statusMessage !== undefined };
}

function when(at: number): string {
  return `${new Date(at).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** One `docs` line for a source: its id, name, documents, last sync and next run. */
export function describeSource(source: SourceRecord, documents: number): string {
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

/** `sync <source id>`: syncs a source now. */
function syncCommand(sources: SourceService, sourceParameter: CommandParameter): Command {
  return {
    name: "sync",
    usage: "sync <source id>",
    subcommandName: "now",
    parameters: [sourceParameter],
    summary: "sync a source now (ids are shown by `docs`)",
    adminOnly: true,
    arguments: "required",
    visibility: "everyone",
    async run(context) {
      // Discord's `/sync now source:<id>` arrives as `sync now <id>`.
      const id = context.args.replace(/^now\s+/i, "").replace(/^`|`$/g, "");
      const source = await findSourceFor(sources, context, id);
      if (!source) return;
      const { statusPosted } = await syncNow(sources, context.message, source);
      await context.reply.say(
        `Syncing **${source.name}** now${statusPosted ? "; the status message shows the progress" : ""}.`,
      );
    },
  };
}

/** `sync stop <source id>`: no more scheduled syncs; the documents stay. */
function syncStopCommand(sources: SourceService, sourceParameter: CommandParameter): Command {
  return {
    name: "sync stop",
    usage: "sync stop <source id>",
    parameters: [sourceParameter],
    summary: "stop a source's scheduled syncs (its documents stay)",
    adminOnly: true,
    arguments: "required",
    visibility: "everyone",
    async run(context) {
      const source = await findSourceFor(sources, context, context.args.replace(/^`|`$/g, ""));
      if (!source) return;
      await sources.stop(source);
      await context.reply.say(
        `**${source.name}** is no longer synced on a schedule; its documents stay. \`sync ${source.id}\` syncs it once, \`forget-doc ${source.id}\` removes it.`,
      );
    },
  };
}

/** The commands that only exist when synced sources are set up: `sync` and `sync stop`. */
export function sourceCommands(sources: SourceService, sourceParameter: CommandParameter): Command[] {
  return [syncCommand(sources, sourceParameter), syncStopCommand(sources, sourceParameter)];
}
