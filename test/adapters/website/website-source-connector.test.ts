import { afterEach, describe, expect, it } from "vitest";
import { extractDocument } from "../../../src/adapters/extract/extract-document.js";
import { createSafeHttpFetcher } from "../../../src/adapters/http/safe-http-fetcher.js";
import { WebsiteSourceConnector } from "../../../src/adapters/website/website-source-connector.js";
import type { SourceDescriptor, SourceRequest } from "../../../src/core/ports/source-connector.js";
import { type LocalHttpServer, startLocalHttpServer } from "../../support/local-http-server.js";
import { page, startWebsiteStandIn, type WebsiteStandIn } from "../../support/website-stand-in.js";

const request = (target: string, overrides: Partial<SourceRequest> = {}): SourceRequest => ({
  target,
  platform: "slack",
  workspaceId: "T1",
  channelId: "C1",
  userId: "UADMIN",
  workspaceWide: false,
  crawl: true,
  ...overrides,
});

function connectorFor(...allowed: Array<{ port: number }>) {
  return new WebsiteSourceConnector({
    fetcher: createSafeHttpFetcher({ allowedHosts: allowed.map((server) => `127.0.0.1:${server.port}`) }),
    extract: (raw) => extractDocument(raw),
  });
}

async function descriptorOf(
  connector: WebsiteSourceConnector,
  sourceRequest: SourceRequest,
): Promise<SourceDescriptor> {
  const resolved = await connector.resolve(sourceRequest);
  return { id: "s0000000001", ...resolved };
}

describe("WebsiteSourceConnector", () => {
  const servers: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
  });

  async function site(options: Parameters<typeof startWebsiteStandIn>[0] = {}): Promise<WebsiteStandIn> {
    const started = await startWebsiteStandIn(options);
    servers.push(started);
    return started;
  }

  it("recognizes http(s) URLs, Slack's <url|label> form included, and nothing else", () => {
    const connector = connectorFor();
    expect(connector.recognizes("https://docs.example.com/a")).toBe(true);
    expect(connector.recognizes("<https://docs.example.com/a|docs.example.com/a>")).toBe(true);
    expect(connector.recognizes("github:owner/repo")).toBe(false);
    expect(connector.recognizes("<#C123|general>")).toBe(false);
    expect(connector.recognizes("file:///etc/passwd")).toBe(false);
  });

  it("scopes a source to the channel unless --workspace, and a single URL is a one-item source", async () => {
    const connector = connectorFor();
    const channel = await connector.resolve(
      request("https://docs.example.com/guide/#intro", { crawl: false }),
    );
    expect(channel.scope).toEqual({ platform: "slack", workspaceId: "T1", channelId: "C1" });
    expect(channel.target).toBe("https://docs.example.com/guide/");
    expect(channel.settings).toEqual({ crawl: false, maxItems: 1 });
    const listing = await connector.list({ id: "s1", ...channel }, undefined);
    expect(listing).toEqual({
      items: [
        {
          key: "https://docs.example.com/guide/",
          title: "https://docs.example.com/guide/",
          url: "https://docs.example.com/guide/",
        },
      ],
      complete: true,
    });
    const wide = await connector.resolve(request("https://docs.example.com/guide/", { workspaceWide: true }));
    expect(wide.scope).toEqual({ platform: "slack", workspaceId: "T1" });
  });

  it("without a sitemap, follows same-origin links under the folder, honouring robots.txt and --max", async () => {
    const website = await site({ sitemap: false, robots: "User-agent: *\nDisallow: /docs/secret\n" });
    const origin = website.origin;
    website.pages.set("/docs/", {
      html: page("Home", "Start here.", [
        "guide",
        "/docs/secret-plans",
        "/blog/elsewhere",
        "http://169.254.169.254/latest/meta-data/",
        "guide#section",
      ]),
    });
    website.pages.set("/docs/guide", { html: page("Guide", "The guide.", ["/docs/deep/page", "/docs/"]) });
    website.pages.set("/docs/deep/page", { html: page("Deep", "Deep page.") });
    website.pages.set("/docs/secret-plans", { html: page("Secret", "Nope.") });
    website.pages.set("/blog/elsewhere", { html: page("Blog", "Outside.") });
    const connector = connectorFor(website);
    const source = await descriptorOf(connector, request(`${origin}/docs/`));
    const listing = await connector.list(source, undefined);
    expect(listing.items.map((item) => new URL(item.url).pathname)).toEqual([
      "/docs/",
      "/docs/guide",
      "/docs/deep/page",
    ]);
    expect(website.requestsFor("/docs/secret-plans")).toBe(0);
    expect(website.requestsFor("/blog/elsewhere")).toBe(0);
    // Pages read to find links carry their hash as version: the same page gives the same version.
    const again = await connector.list(source, undefined);
    expect(again.items.map((item) => item.version)).toEqual(listing.items.map((item) => item.version));
    expect(listing.items[1]?.version).toMatch(/^sha256:[0-9a-f]{32}$/);
    website.pages.set("/docs/guide", { html: page("Guide", "The guide, revised.", ["/docs/deep/page"]) });
    const changed = await connector.list(source, undefined);
    expect(changed.items[1]?.version).not.toBe(listing.items[1]?.version);
    expect(changed.items[2]?.version).toBe(listing.items[2]?.version);
    const limited = await connector.list(
      await descriptorOf(connector, request(`${origin}/docs/`, { maxItems: 2 })),
      undefined,
    );
    expect(limited.items).toHaveLength(2);
  });

  it("reads only the site's own sitemap entries, and asks conditionally the second time", async () => {
    const website = await site({
      extraSitemapLocations: ["http://169.254.169.254/docs/metadata", "https://evil.example/docs/x"],
    });
    website.pages.set("/docs/a", { html: page("A", "Alpha text.") });
    const connector = connectorFor(website);
    const source = await descriptorOf(connector, request(`${website.origin}/docs/`));
    const listing = await connector.list(source, undefined);
    expect(listing.items.map((item) => item.url)).toEqual([`${website.origin}/docs/a`]);
    const item = listing.items[0];
    if (!item) throw new Error("no item");
    const first = await connector.fetch(source, item, undefined);
    expect(first.status).toBe("fetched");
    if (first.status !== "fetched") return;
    expect(first.document.title).toBe("A");
    expect(first.document.text).toContain("Alpha text.");
    const second = await connector.fetch(source, item, { validator: first.validator });
    expect(second.status).toBe("unchanged");
    expect(website.requests.at(-1)?.headers["if-none-match"]).toMatch(/^"[0-9a-f]{16}"$/);
    website.pages.delete("/docs/a");
    expect((await connector.fetch(source, item, { validator: first.validator })).status).toBe("gone");
  });

  it("applies the URL guard to every hop: a page that redirects to a private address is refused, not read", async () => {
    let internal: LocalHttpServer | undefined;
    internal = await startLocalHttpServer((_request, response) => {
      response.writeHead(200, { "content-type": "text/html" }).end(page("Internal", "root password hunter2"));
    });
    servers.push(internal);
    const website = await site({});
    website.pages.set("/docs/a", { html: page("A", "Alpha.") });
    const redirector = await startLocalHttpServer((incoming, response) => {
      if (incoming.url === "/robots.txt") response.writeHead(404).end();
      else response.writeHead(302, { location: `http://127.0.0.1:${internal?.port}/admin` }).end();
    });
    servers.push(redirector);
    // Only the site is allowed; the internal service behind the redirect is not.
    const connector = connectorFor(website, redirector);
    const source = await descriptorOf(
      connector,
      request(`http://127.0.0.1:${redirector.port}/docs/page`, { crawl: false }),
    );
    const [item] = (await connector.list(source, undefined)).items;
    if (!item) throw new Error("no item");
    await expect(connector.fetch(source, item, undefined)).rejects.toMatchObject({
      code: "fetch_refused",
      category: "user",
    });
    expect(internal.requests).toHaveLength(0);
  });

  it("tries a page once more when the connection drops without an answer, and no more", async () => {
    let attempts = 0;
    let alwaysDrop = false;
    const flaky = await startLocalHttpServer((_request, response) => {
      attempts += 1;
      if (attempts === 1 || alwaysDrop) {
        response.socket?.destroy();
        return;
      }
      response.writeHead(200, { "content-type": "text/html" }).end(page("Flaky", "Back again."));
    });
    servers.push(flaky);
    const connector = connectorFor(flaky);
    const source = await descriptorOf(connector, request(`${flaky.origin}/docs/page`, { crawl: false }));
    const [item] = (await connector.list(source, undefined)).items;
    if (!item) throw new Error("no item");
    const fetched = await connector.fetch(source, item, undefined);
    expect(fetched.status).toBe("fetched");
    expect(attempts).toBe(2);
    alwaysDrop = true;
    attempts = 0;
    await expect(connector.fetch(source, item, undefined)).rejects.toMatchObject({ code: "fetch_failed" });
    expect(attempts).toBe(2);
  });

  it("refuses an address the guard refuses when the source is added, before anything is stored", async () => {
    const internal = await startLocalHttpServer((_request, response) => response.end("internal"));
    servers.push(internal);
    const connector = connectorFor();
    await expect(connector.resolve(request(`${internal.origin}/docs/`))).rejects.toMatchObject({
      code: "fetch_refused",
      category: "user",
    });
    await expect(
      connector.resolve(request("http://169.254.169.254/latest/", { crawl: false })),
    ).rejects.toMatchObject({
      code: "fetch_refused",
    });
    expect(internal.requests).toHaveLength(0);
  });

  it("fails the listing when robots.txt answers with a server error (RFC 9309: assume disallowed)", async () => {
    const website = await site({});
    website.pages.set("/docs/a", { html: page("A", "Alpha.") });
    const connector = connectorFor(website);
    const source = await descriptorOf(connector, request(`${website.origin}/docs/`));
    website.failWith = 503;
    await expect(connector.list(source, undefined)).rejects.toMatchObject({ retryable: true });
  });
});
