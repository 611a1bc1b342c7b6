import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { Parser } from "htmlparser2";

/** Characters parsed between two yields to the event loop. */
const SLICE = 64 * 1024;

/**
 * Feeds markup to an htmlparser2 `Parser` in slices, yielding to the event loop between them: a
 * sync runs inside the bot in the embedded mode, and a 5 MB sitemap parsed in one go would hold up
 * every answer for as long as it takes.
 */
async function parseInSlices(parser: Parser, markup: string, signal: AbortSignal | undefined): Promise<void> {
  for (let start = 0; start < markup.length; start += SLICE) {
    signal?.throwIfAborted();
    parser.write(markup.slice(start, start + SLICE));
    await yieldToEventLoop();
  }
  parser.end();
}

/** One `<url>` of a sitemap, or one `<sitemap>` of a sitemap index. */
interface SitemapEntry {
  location: string;
  lastModified?: string | undefined;
}

export interface Sitemap {
  /** `<urlset>` pages. */
  pages: SitemapEntry[];
  /** `<sitemapindex>` children: more sitemaps to read. */
  sitemaps: SitemapEntry[];
}

/** The sitemaps protocol (https://www.sitemaps.org/protocol.html): `<loc>` and `<lastmod>` of each entry. */
export async function parseSitemap(xml: string, signal?: AbortSignal): Promise<Sitemap> {
  const sitemap: Sitemap = { pages: [], sitemaps: [] };
  let entry: (SitemapEntry & { kind: "url" | "sitemap" }) | undefined;
  let field: "loc" | "lastmod" | undefined;
  let text = "";
  const { Parser } = await import("htmlparser2");
  const parser = new Parser(
    {
      onopentag(name) {
        // Namespaced documents (`<sm:url>`) are rare; the local name is what counts.
        const local = name.toLowerCase().replace(/^.*:/, "");
        if (local === "url" || local === "sitemap") entry = { kind: local, location: "" };
        else if (entry && (local === "loc" || local === "lastmod")) {
          field = local;
          text = "";
        }
      },
      ontext(data) {
        if (field) text += data;
      },
      onclosetag(name) {
        const local = name.toLowerCase().replace(/^.*:/, "");
        if (entry && field && local === field) {
          if (field === "loc") entry.location = text.trim();
          else entry.lastModified = text.trim() || undefined;
          field = undefined;
        } else if (entry && (local === "url" || local === "sitemap") && local === entry.kind) {
          if (entry.location !== "") {
            const { kind, ...rest } = entry;
            (kind === "url" ? sitemap.pages : sitemap.sitemaps).push(rest);
          }
          entry = undefined;
        }
      },
    },
    { xmlMode: true, decodeEntities: true },
  );
  await parseInSlices(parser, xml, signal);
  return sitemap;
}

/** The `href` of every `<a>` in a page, resolved against its URL; fragments dropped. */
export async function linksOf(html: string, pageUrl: string, signal?: AbortSignal): Promise<string[]> {
  const links: string[] = [];
  let base = pageUrl;
  const { Parser } = await import("htmlparser2");
  const parser = new Parser(
    {
      onopentag(name, attributes) {
        if (name === "base" && attributes.href) {
          try {
            base = new URL(attributes.href, pageUrl).href;
          } catch {
            // A broken <base> is ignored, as browsers do.
          }
        }
        if (name !== "a" || !attributes.href) return;
        try {
          const url = new URL(attributes.href, base);
          url.hash = "";
          links.push(url.href);
        } catch {
          // Not a URL (`javascript:` survives URL parsing and is filtered by the caller's origin check).
        }
      },
    },
    { decodeEntities: true, lowerCaseTags: true },
  );
  await parseInSlices(parser, html, signal);
  return links;
}
