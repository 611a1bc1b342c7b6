import { describe, expect, it } from "vitest";
import { linksOf, parseSitemap } from "../../../src/adapters/website/read-markup.js";

describe("parseSitemap", () => {
  it("reads <loc> and <lastmod> of a urlset and the children of a sitemap index", async () => {
    const urlset = await parseSitemap(`<?xml version="1.0"?>
      <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
        <url><loc> https://docs.example.com/a?x=1&amp;y=2 </loc><lastmod>2026-01-02</lastmod></url>
        <url><loc>https://docs.example.com/b</loc></url>
        <url><lastmod>2026-01-02</lastmod></url>
      </urlset>`);
    expect(urlset).toEqual({
      pages: [
        { location: "https://docs.example.com/a?x=1&y=2", lastModified: "2026-01-02" },
        { location: "https://docs.example.com/b" },
      ],
      sitemaps: [],
    });
    const index = await parseSitemap(
      `<sm:sitemapindex xmlns:sm="http://www.sitemaps.org/schemas/sitemap/0.9"><sm:sitemap><sm:loc>https://docs.example.com/s1.xml</sm:loc></sm:sitemap></sm:sitemapindex>`,
    );
    expect(index).toEqual({ pages: [], sitemaps: [{ location: "https://docs.example.com/s1.xml" }] });
  });

  it("expands no entity a document declares (no billion laughs), and survives a large sitemap in slices", async () => {
    const bomb = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
      <urlset><url><loc>https://docs.example.com/&lol2;</loc></url></urlset>`;
    const parsed = await parseSitemap(bomb);
    expect(parsed.pages).toHaveLength(1);
    expect(parsed.pages[0]?.location.length).toBeLessThan(60);
    const many = `<urlset>${Array.from({ length: 20_000 }, (_, index) => `<url><loc>https://docs.example.com/p${index}</loc></url>`).join("")}</urlset>`;
    expect((await parseSitemap(many)).pages).toHaveLength(20_000);
  });
});

describe("linksOf", () => {
  it("resolves hrefs against the page (and its <base>), without fragments", async () => {
    const links = await linksOf(
      `<html><head><base href="/docs/"></head><body>
        <a href="guide#part">Guide</a><a href="https://other.example/x">x</a><a>no href</a>
        <a href="javascript:alert(1)">js</a><a href="http://[broken">broken</a></body></html>`,
      "https://docs.example.com/docs/index.html",
    );
    expect(links).toEqual([
      "https://docs.example.com/docs/guide",
      "https://other.example/x",
      "javascript:alert(1)",
    ]);
  });
});
