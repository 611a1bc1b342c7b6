import { createHash } from "node:crypto";
import robotsModule from "robots-parser";
import { AppError, isAppError } from "../../core/errors.js";
import type { LoadedDocument } from "../../core/ports/document-loader.js";
import type {
  FetchedItem,
  PreviousItemVersion,
  ResolvedSource,
  SourceConnector,
  SourceDescriptor,
  SourceItem,
  SourceListing,
  SourceRequest,
} from "../../core/ports/source-connector.js";
import type { RawDocument } from "../extract/extract-document.js";
import { loadExtractionPool } from "../extract/load-extraction-pool.js";
import { HttpStatusError, type ResourceValidators, type SafeHttpFetcher } from "../http/safe-http-fetcher.js";
import { linksOf, parseSitemap } from "./read-markup.js";

export interface WebsiteSourceConnectorOptions {
  /** The URL-guarded fetcher (address checks on every hop, size and time limits). */
  fetcher: SafeHttpFetcher;
  /** Turns a page into text; by default in the shared extraction pool, off the main thread. */
  extract?: (raw: RawDocument, signal: AbortSignal | undefined) => Promise<LoadedDocument>;
  /** Pages a crawl takes when `--max` is not given. Default 200. */
  defaultMaxPages?: number | undefined;
  /** The product token robots.txt rules are matched against. Default `teammate`. */
  userAgent?: string | undefined;
}

interface RobotsTxt {
  isAllowed(url: string, userAgent?: string): boolean | undefined;
  getSitemaps(): string[];
}

// robots-parser is CommonJS (`module.exports = function`) while its types declare an ES default
// export; under NodeNext that default is the whole module, so take the function from either shape.
const robotsParser = ((robotsModule as unknown as { default?: unknown }).default ?? robotsModule) as (
  url: string,
  contents: string,
) => RobotsTxt;

const SITEMAP_TYPES = ["application/xml", "text/xml", "application/rss+xml", "text/plain"];
const ROBOTS_TYPES = ["text/plain", "application/octet-stream"];
const HTML_TYPES = ["text/html", "application/xhtml+xml"];
/** Sitemaps read per crawl at most (an index of indexes could otherwise fan out without end). */
const MAX_SITEMAPS = 20;

function invalidTarget(message: string): AppError {
  return new AppError("input_invalid", message, { category: "user", userMessage: message });
}

/** `<https://x|label>` (Slack's link form) or a bare URL, without its fragment. */
function urlOf(target: string): URL | undefined {
  const bare =
    target
      .trim()
      .replace(/^<(.+)>$/, "$1")
      .split("|")[0]
      ?.trim() ?? "";
  if (!/^https?:\/\//i.test(bare)) return undefined;
  try {
    const url = new URL(bare);
    url.hash = "";
    return url;
  } catch {
    return undefined;
  }
}

/** The folder a crawl stays under: the URL's path up to its last `/`. */
function basePathOf(url: URL): string {
  return url.pathname.replace(/[^/]*$/, "");
}

function encodeValidators(validators: ResourceValidators): string | undefined {
  if (!validators.etag && !validators.lastModified) return undefined;
  return JSON.stringify(validators);
}

function decodeValidators(value: string | undefined): ResourceValidators | undefined {
  if (!value) return undefined;
  try {
    const parsed = JSON.parse(value) as ResourceValidators;
    return typeof parsed === "object" && parsed !== null ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function bodyHash(body: Uint8Array): string {
  return createHash("sha256").update(body).digest("hex").slice(0, 32);
}

function isGone(error: unknown): boolean {
  return error instanceof HttpStatusError && (error.status === 404 || error.status === 410);
}

interface Robots {
  isAllowed(url: string): boolean;
  sitemaps: string[];
}

/**
 * Websites as sources: one page, or a site crawled from its `sitemap.xml` (else by following
 * same-origin links under the URL's folder). robots.txt is honoured (robots-parser); every request,
 * every redirect hop included, goes through the URL guard of `SafeHttpFetcher`. Pages are fetched
 * conditionally (`If-None-Match` / `If-Modified-Since`), and a sitemap's `lastmod` lets an unchanged
 * page be skipped without any request.
 */
export class WebsiteSourceConnector implements SourceConnector {
  readonly kind = "website" as const;
  private readonly options: WebsiteSourceConnectorOptions;
  private readonly userAgent: string;

  constructor(options: WebsiteSourceConnectorOptions) {
    this.options = options;
    this.userAgent = options.userAgent ?? "teammate";
  }

  recognizes(target: string): boolean {
    return urlOf(target) !== undefined;
  }

  async resolve(request: SourceRequest, signal?: AbortSignal): Promise<ResolvedSource> {
    const url = urlOf(request.target);
    if (!url) throw invalidTarget("I can only sync http and https URLs.");
    // The guard's verdict now, not at the first sync: an address it refuses never becomes a source.
    // (robots.txt is where a crawl starts anyway; any other trouble is the sync's to report.)
    await this.robotsFor(url, signal).catch((error: unknown) => {
      if (isAppError(error) && error.code === "fetch_refused") throw error;
    });
    const maxItems = request.crawl ? (request.maxItems ?? this.options.defaultMaxPages ?? 200) : 1;
    const name = request.crawl
      ? `${url.host}${basePathOf(url) === "/" ? "" : basePathOf(url).replace(/\/$/, "")}`
      : `${url.host}${url.pathname === "/" ? "" : url.pathname}`;
    return {
      kind: "website",
      target: url.href,
      name,
      scope: {
        platform: request.platform,
        workspaceId: request.workspaceId,
        ...(request.workspaceWide ? {} : { channelId: request.channelId }),
      },
      settings: { crawl: request.crawl, maxItems },
    };
  }

  async list(
    source: SourceDescriptor,
    _cursor: string | undefined,
    signal?: AbortSignal,
  ): Promise<SourceListing> {
    const start = urlOf(source.target);
    if (!start) throw invalidTarget(`${source.target} is not an http(s) URL.`);
    if (source.settings.crawl !== true) {
      return { items: [{ key: start.href, title: start.href, url: start.href }], complete: true };
    }
    const maxItems = Number(source.settings.maxItems) || (this.options.defaultMaxPages ?? 200);
    const robots = await this.robotsFor(start, signal);
    const inScope = (candidate: string): URL | undefined => {
      const url = urlOf(candidate);
      if (!url || url.origin !== start.origin || !url.pathname.startsWith(basePathOf(start)))
        return undefined;
      return robots.isAllowed(url.href) ? url : undefined;
    };
    const fromSitemap = await this.listFromSitemaps(start, robots, inScope, maxItems, signal);
    const items = fromSitemap ?? (await this.crawlLinks(start, inScope, maxItems, signal));
    return { items, complete: true };
  }

  async fetch(
    _source: SourceDescriptor,
    item: SourceItem,
    previous: PreviousItemVersion | undefined,
    signal?: AbortSignal,
  ): Promise<FetchedItem> {
    const request = { url: item.url, validators: decodeValidators(previous?.validator), signal };
    let resource: Awaited<ReturnType<SafeHttpFetcher["fetch"]>>;
    try {
      resource = await this.options.fetcher.fetch(request);
    } catch (error) {
      if (isGone(error)) return { status: "gone" };
      // A kept-alive connection the server closed just as it was reused fails without an answer;
      // one more try on a fresh one tells that apart from a site that is really down.
      if (!(isAppError(error) && error.retryable && !(error instanceof HttpStatusError))) throw error;
      signal?.throwIfAborted();
      resource = await this.options.fetcher.fetch(request);
    }
    const validator = encodeValidators(resource.validators);
    if (resource.notModified) return { status: "unchanged", validator };
    const extract =
      this.options.extract ?? (async (raw, abort) => (await loadExtractionPool()).extract(raw, abort));
    const loaded = await extract(
      {
        body: resource.body,
        mediaType: resource.mediaType,
        charset: resource.charset,
        fileName: resource.fileName,
        source: item.url,
        baseUrl: resource.finalUrl,
      },
      signal,
    );
    return {
      status: "fetched",
      document: { title: loaded.title, text: loaded.text, format: loaded.format },
      validator,
    };
  }

  /**
   * robots.txt of the start URL's origin. Following RFC 9309: a missing file (4xx) allows everything;
   * a server error or an unreachable server means "assume everything is disallowed", which here
   * fails the sync so the last good copy stays.
   */
  private async robotsFor(start: URL, signal: AbortSignal | undefined): Promise<Robots> {
    const robotsUrl = new URL("/robots.txt", start.origin).href;
    try {
      const resource = await this.options.fetcher.fetch({ url: robotsUrl, mediaTypes: ROBOTS_TYPES, signal });
      const robots = robotsParser(robotsUrl, new TextDecoder().decode(resource.body));
      return {
        isAllowed: (url) => robots.isAllowed(url, this.userAgent) !== false,
        sitemaps: robots.getSitemaps(),
      };
    } catch (error) {
      if (error instanceof HttpStatusError && error.status >= 400 && error.status < 500) {
        return { isAllowed: () => true, sitemaps: [] };
      }
      if (isAppError(error) && error.code === "unsupported_content")
        return { isAllowed: () => true, sitemaps: [] };
      throw error;
    }
  }

  /** Pages from the sitemaps robots.txt names, else `/sitemap.xml`; undefined when the site has none. */
  private async listFromSitemaps(
    start: URL,
    robots: Robots,
    inScope: (candidate: string) => URL | undefined,
    maxItems: number,
    signal: AbortSignal | undefined,
  ): Promise<SourceItem[] | undefined> {
    const queue =
      robots.sitemaps.length > 0 ? [...robots.sitemaps] : [new URL("/sitemap.xml", start.origin).href];
    const read = new Set<string>();
    const items: SourceItem[] = [];
    const keys = new Set<string>();
    let found = false;
    while (queue.length > 0 && read.size < MAX_SITEMAPS && items.length < maxItems) {
      const location = queue.shift() as string;
      const url = urlOf(location);
      // A sitemap on another origin could list anything; only the site's own count.
      if (!url || url.origin !== start.origin || read.has(url.href)) continue;
      read.add(url.href);
      let xml: string;
      try {
        const resource = await this.options.fetcher.fetch({
          url: url.href,
          mediaTypes: SITEMAP_TYPES,
          signal,
        });
        xml = new TextDecoder().decode(resource.body);
      } catch (error) {
        if (isGone(error)) continue;
        throw error;
      }
      found = true;
      const sitemap = await parseSitemap(xml, signal);
      queue.push(...sitemap.sitemaps.map((entry) => entry.location));
      for (const page of sitemap.pages) {
        if (items.length >= maxItems) break;
        const pageUrl = inScope(page.location);
        if (!pageUrl || keys.has(pageUrl.href)) continue;
        keys.add(pageUrl.href);
        items.push({ key: pageUrl.href, title: pageUrl.href, url: pageUrl.href, version: page.lastModified });
      }
    }
    return found ? items : undefined;
  }

  /** Breadth-first from the start URL over same-origin links under its folder, up to `maxItems` pages. */
  private async crawlLinks(
    start: URL,
    inScope: (candidate: string) => URL | undefined,
    maxItems: number,
    signal: AbortSignal | undefined,
  ): Promise<SourceItem[]> {
    const items: SourceItem[] = [];
    const seen = new Set<string>([start.href]);
    const queue = [start.href];
    while (queue.length > 0 && items.length < maxItems) {
      const next = queue.shift() as string;
      if (!inScope(next)) continue;
      let html: string;
      try {
        const resource = await this.options.fetcher.fetch({ url: next, signal });
        // The crawl had to read the page to find its links anyway: its hash is the version, so an
        // unchanged page is not read a second time, nor extracted or embedded.
        items.push({ key: next, title: next, url: next, version: `sha256:${bodyHash(resource.body)}` });
        if (!HTML_TYPES.includes(resource.mediaType)) continue;
        html = new TextDecoder().decode(resource.body);
      } catch (error) {
        // A broken link is not a broken site: skip it (the start page failing fails the listing).
        if (next !== start.href && isAppError(error) && error.category !== "system") continue;
        throw error;
      }
      for (const link of await linksOf(html, next, signal)) {
        if (seen.has(link) || !inScope(link)) continue;
        seen.add(link);
        queue.push(link);
      }
    }
    return items;
  }
}
