import type { Platform } from "../types.js";
import type { DocumentScope } from "./vector-store.js";

/**
 * Where a synced source's documents come from. One connector per kind: `website` (a page, or a site
 * crawled through its sitemap), `slack-channel` / `discord-channel` (the team's own threads),
 * `github` (Markdown and text files of a repository path). Core runs every sync the same way
 * (`src/core/sources/`): list the items, skip what is unchanged, fetch the rest, hash, chunk, embed,
 * replace; connectors only translate a vendor's listing and content into these shapes.
 *
 * Everything a connector returns is attacker-written (page text, message text, file names): it is
 * indexed as data and never acted upon. Connectors hold their own credentials (bot token,
 * `GITHUB_TOKEN`) from the composition root; nothing here carries a secret, because source records
 * and job payloads are stored in clear text.
 */
export type SourceKind = "website" | "slack-channel" | "discord-channel" | "github";

/** Connector-specific settings kept with the source record: JSON values only, never a secret. */
export type SourceSettings = Record<string, string | number | boolean>;

/** An `index <target> …` request as the command parsed it, for `resolve`. */
export interface SourceRequest {
  /** The target as typed (`https://…`, `<#C123|general>`, `github:owner/repo/docs@main`). */
  target: string;
  /** Where the command was given and by whom. */
  platform: Platform;
  workspaceId: string;
  channelId: string;
  userId: string;
  /** `--workspace`: the admin asks to share the source workspace-wide. A connector may refuse it. */
  workspaceWide: boolean;
  /** `--crawl`: follow the site (sitemap or links) instead of taking one page. */
  crawl: boolean;
  /** `--max N`: most items the source may hold. Undefined → the connector's default. */
  maxItems?: number | undefined;
}

/** What `resolve` decided a target is. */
export interface ResolvedSource {
  kind: SourceKind;
  /** The canonical target (normalised URL, `github:owner/repo/path@ref`, channel id). Same target + scope = same source. */
  target: string;
  /** Shown in `docs` and in `Synced <name>: …` (`docs.example.com`, `#general`, `owner/repo/docs`). */
  name: string;
  /**
   * Who may see the documents. The connector decides, because only it knows the rule: a private
   * channel's threads stay in that channel whatever was asked; a page defaults to the channel the
   * command came from, or the workspace with `--workspace`.
   */
  scope: DocumentScope;
  settings: SourceSettings;
}

/** The parts of a source record a connector needs to list and fetch. */
export interface SourceDescriptor {
  id: string;
  kind: SourceKind;
  target: string;
  scope: DocumentScope;
  settings: SourceSettings;
}

/** One document of a source, as a cheap listing sees it (no content yet). */
export interface SourceItem {
  /** Stable within the source (page URL, thread ts, file path): the same key is the same document. */
  key: string;
  title: string;
  /** Where a citation points: the page URL, the thread's permalink, the blob URL. */
  url: string;
  /**
   * A cheap version marker from the listing itself (sitemap `lastmod`, blob SHA, last reply ts).
   * When it equals the one stored at the last sync, core counts the item unchanged without fetching.
   * Undefined when the listing has none: the item is then fetched (conditionally).
   */
  version?: string | undefined;
}

export interface SourceListing {
  items: SourceItem[];
  /**
   * true: `items` is everything the source holds now, so a stored item missing from it is gone and
   * removed. false: `items` is only what changed since `cursor` (channel history read forward); items
   * not listed are kept, and only `removedKeys` are removed.
   */
  complete: boolean;
  /** Keys known to be gone (deleted threads), when the listing is not complete. */
  removedKeys?: string[] | undefined;
  /**
   * Why nothing may be shown any more where the source is scoped (a channel shared workspace-wide
   * turned private), with `complete: true` and no items: every stored item is removed, unlike an
   * empty listing without it, which looks broken and keeps the last good copy.
   */
  withdrawn?: string | undefined;
  /** Where the next sync continues (last message ts, tree SHA); stored only when the sync succeeds. */
  cursor?: string | undefined;
}

/** What core remembers of an item from its last good sync, handed back to `fetch`. */
export interface PreviousItemVersion {
  /** The listing's version marker at the last sync. */
  version?: string | undefined;
  /** The fetch's validator at the last sync (an ETag, a Last-Modified date), for a conditional request. */
  validator?: string | undefined;
}

/** An item's content reduced to text, ready for chunking. */
interface SourceDocument {
  title: string;
  /** Markdown keeps its `#` headings so the chunker can follow the structure. */
  text: string;
  format: "markdown" | "text";
}

export type FetchedItem =
  /** The server said "not modified" (HTTP 304, same SHA): no extraction, no embedding, no write. */
  | { status: "unchanged"; validator?: string | undefined }
  | { status: "fetched"; document: SourceDocument; validator?: string | undefined }
  /** The item vanished between listing and fetch (404, deleted thread): removed like a gone item. */
  | { status: "gone" };

export interface SourceConnector {
  readonly kind: SourceKind;
  /** Whether a typed target is this connector's to resolve. Cheap and synchronous: no I/O. */
  recognizes(target: string, request: Pick<SourceRequest, "platform" | "crawl">): boolean;
  /**
   * Checks a target and decides its canonical form, name and scope, before anything is stored.
   * Fails with an `AppError` of category `user` whose `userMessage` goes straight to chat (a channel
   * the bot was not invited to, `--workspace` on a private channel, a URL the guard refuses).
   */
  resolve(request: SourceRequest, signal?: AbortSignal): Promise<ResolvedSource>;
  /**
   * The items the source holds now (or, from `cursor`, what changed since). Limits itself to
   * `settings.maxItems` when set. A failure here fails the sync and keeps every stored document.
   */
  list(source: SourceDescriptor, cursor: string | undefined, signal?: AbortSignal): Promise<SourceListing>;
  /**
   * One item's content. With `previous`, a connector that can ask conditionally does so and answers
   * `unchanged` when the server says so. A user-category `AppError` (unsupported content, too large)
   * skips the item and keeps its last good copy; anything else fails the sync.
   */
  fetch(
    source: SourceDescriptor,
    item: SourceItem,
    previous: PreviousItemVersion | undefined,
    signal?: AbortSignal,
  ): Promise<FetchedItem>;
}
