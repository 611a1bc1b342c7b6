import type { AppError } from "../core/errors.js";
import type { Logger } from "../core/ports/logger.js";
import type {
  FetchedItem,
  ResolvedSource,
  SourceDescriptor,
  SourceKind,
  SourceListing,
  SourceRequest,
} from "../core/ports/source-connector.js";
import { type ChannelFacts, channelHistoryScope } from "../core/sources/channel-history-scope.js";

// What the Slack and Discord channel connectors share: both read a channel's conversations as
// documents under the same privacy rule, and differ only in how their platform is asked.

/** Why a channel's conversations leave a workspace-wide source (the privacy rule, checked at every sync). */
const WITHDRAWN = "the channel is no longer public, so its threads stay in it";

/** A channel source as `resolve` returns it: scoped by the privacy rule, its name kept for the documents. */
export function channelSource(kind: SourceKind, facts: ChannelFacts, request: SourceRequest): ResolvedSource {
  return {
    kind,
    target: facts.channelId,
    name: facts.name,
    scope: channelHistoryScope(facts, request.workspaceWide),
    settings: {
      channelName: facts.name,
      ...(request.maxItems !== undefined ? { maxItems: request.maxItems } : {}),
    },
  };
}

/** The listing of a channel that no longer fits its source's scope: nothing, and why. */
export function withdrawnListing(logger: Logger, source: SourceDescriptor): SourceListing {
  logger.warn({ sourceId: source.id }, "channel no longer fits the source's scope; listing nothing");
  return { items: [], complete: true, withdrawn: WITHDRAWN };
}

/** The most conversations one sync reads: the source's `--max`, or the connector's default. */
export function maxItemsOf(source: SourceDescriptor, fallback: number): number {
  return typeof source.settings.maxItems === "number" ? source.settings.maxItems : fallback;
}

/** A conversation's title: its first non-empty line, at most 80 characters, or `fallback`. */
export function firstLineTitle(text: string, fallback: string): string {
  const firstLine = text
    .split("\n")
    .map((line) => line.trim())
    .find((line) => line !== "");
  if (!firstLine) return fallback;
  return firstLine.length > 80 ? `${firstLine.slice(0, 79)}…` : firstLine;
}

/** One message of a conversation document: `**author** (2026-01-31 12:00 UTC):`, the text, a blank line. */
export function renderMessage(author: string, isoTime: string, text: string): string[] {
  return [`**${author}** (${isoTime.slice(0, 16).replace("T", " ")} UTC):`, text, ""];
}

/** A conversation as the document indexed: a title, a sentence saying where it was, then its messages. */
export function conversationDocument(title: string, where: string, messages: readonly string[]): FetchedItem {
  const text = [`# ${title}`, "", where, "", ...messages].join("\n").trim();
  return { status: "fetched", document: { title, text, format: "markdown" } };
}

/** The channel name a source was resolved with, for a document's introduction. */
export function channelNameOf(source: SourceDescriptor, fallback: string): string {
  return typeof source.settings.channelName === "string" ? source.settings.channelName : fallback;
}

/**
 * A promise kept while it holds and forgotten when it fails, so the next call asks again (a bot's
 * identity: a failed `auth.test` or `/users/@me` is not remembered).
 */
export function onceUntilFailure<Value>(load: () => Promise<Value>): () => Promise<Value> {
  let held: Promise<Value> | undefined;
  return () => {
    if (held) return held;
    const loading = load();
    held = loading;
    loading.catch(() => {
      if (held === loading) held = undefined;
    });
    return loading;
  };
}

/** Runs one platform call and turns whatever it throws into the connector's `AppError`. */
export async function translated<Result>(
  translate: (error: unknown, what: string) => AppError,
  what: string,
  run: () => Promise<Result>,
): Promise<Result> {
  try {
    return await run();
  } catch (error) {
    throw translate(error, what);
  }
}
