import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { type LocalHttpServer, startLocalHttpServer } from "./local-http-server.js";

interface StandInPage {
  /** HTML body (a `<title>` and text), served as text/html. */
  html: string;
  /** `<lastmod>` in the sitemap; omitted when undefined. */
  lastModified?: string | undefined;
  /** Listed in the sitemap (default true). A page left out is still served, for link crawling. */
  listed?: boolean | undefined;
}

export interface WebsiteStandInOptions {
  /** robots.txt body; undefined → 404. */
  robots?: string | undefined;
  /** Serve /sitemap.xml (default true). */
  sitemap?: boolean | undefined;
  /** Extra `<loc>` entries written into the sitemap as they are (another origin, another folder). */
  extraSitemapLocations?: string[] | undefined;
  /** Each page answers after this many milliseconds (a slow site, so a test can stop a sync mid-way). */
  pageDelayMs?: number | undefined;
}

/**
 * A small website on 127.0.0.1 as a crawler meets one: pages that can change or vanish between
 * syncs, a sitemap.xml built from them (with `<lastmod>` when a page has one), robots.txt, and
 * ETag / If-None-Match answered with 304, as real servers do. Every request is recorded.
 */
export interface WebsiteStandIn {
  origin: string;
  port: number;
  pages: Map<string, StandInPage>;
  requests: LocalHttpServer["requests"];
  /** Answers with this status for every path while set (a site that is down). */
  failWith: number | undefined;
  /** Requests for one path, and how many of them were answered 304. */
  requestsFor(path: string): number;
  notModifiedCount(): number;
  close(): Promise<void>;
}

function etagOf(body: string): string {
  return `"${createHash("sha256").update(body).digest("hex").slice(0, 16)}"`;
}

export function page(title: string, text: string, links: string[] = []): string {
  const anchors = links.map((link) => `<a href="${link}">${link}</a>`).join(" ");
  return `<!doctype html><html><head><title>${title}</title></head><body><h1>${title}</h1><p>${text}</p><nav>${anchors}</nav></body></html>`;
}

export async function startWebsiteStandIn(options: WebsiteStandInOptions = {}): Promise<WebsiteStandIn> {
  const pages = new Map<string, StandInPage>();
  let notModified = 0;
  const state: { failWith: number | undefined } = { failWith: undefined };
  let origin = "";
  const sitemap = (): string => {
    const entries = [...pages.entries()]
      .filter(([, entry]) => entry.listed !== false)
      .map(
        ([path, entry]) =>
          `<url><loc>${origin}${path}</loc>${entry.lastModified ? `<lastmod>${entry.lastModified}</lastmod>` : ""}</url>`,
      );
    for (const location of options.extraSitemapLocations ?? [])
      entries.push(`<url><loc>${location}</loc></url>`);
    return `<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">${entries.join("\n")}</urlset>`;
  };
  const handler = (request: IncomingMessage, response: ServerResponse) => {
    const path = new URL(request.url ?? "/", "http://stand-in").pathname;
    if (state.failWith !== undefined) {
      response.writeHead(state.failWith, { "content-type": "text/plain" }).end("down");
      return;
    }
    if (path === "/robots.txt") {
      if (options.robots === undefined)
        response.writeHead(404, { "content-type": "text/plain" }).end("no robots");
      else response.writeHead(200, { "content-type": "text/plain" }).end(options.robots);
      return;
    }
    if (path === "/sitemap.xml" && options.sitemap !== false) {
      response.writeHead(200, { "content-type": "application/xml" }).end(sitemap());
      return;
    }
    const entry = pages.get(path);
    if (!entry) {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    const etag = etagOf(entry.html);
    if (request.headers["if-none-match"] === etag) {
      notModified += 1;
      response.writeHead(304, { etag }).end();
      return;
    }
    const send = () =>
      response.writeHead(200, { "content-type": "text/html; charset=utf-8", etag }).end(entry.html);
    if (options.pageDelayMs) setTimeout(send, options.pageDelayMs);
    else send();
  };
  const server = await startLocalHttpServer(handler);
  origin = server.origin;
  return {
    origin,
    port: server.port,
    pages,
    requests: server.requests,
    get failWith() {
      return state.failWith;
    },
    set failWith(value) {
      state.failWith = value;
    },
    requestsFor: (path) =>
      server.requests.filter((recorded) => new URL(recorded.url, origin).pathname === path).length,
    notModifiedCount: () => notModified,
    close: () => server.close(),
  };
}
