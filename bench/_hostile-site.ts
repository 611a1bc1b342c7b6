/**
 * The hostile documents of `npm run bench -- hostile`, served from a process of their own so that
 * building them (a 2.4 GB PDF bomb's deflate) and writing them (an 11 MB HTML page) is not counted as
 * the bot's event loop being blocked. Tells its parent the port over IPC, serves until disconnected.
 */
import { buildPdfBomb, nestedHtml, redosMarkdown } from "../test/support/hostile-documents.js";
import { startLocalHttpServer } from "../test/support/local-http-server.js";

const pages: Record<string, { type: string; body: Buffer }> = {
  "/redos.md": { type: "text/markdown", body: Buffer.from(redosMarkdown(8_000)) },
  "/bomb-262k.pdf": { type: "application/pdf", body: Buffer.from(await buildPdfBomb(270)) },
  "/bomb-2m.pdf": { type: "application/pdf", body: Buffer.from(await buildPdfBomb(2_400)) },
  "/deep.html": { type: "text/html; charset=utf-8", body: Buffer.from(nestedHtml(1_000_000)) },
};
const site = await startLocalHttpServer((request, response) => {
  const page = pages[request.url ?? ""];
  if (!page) return response.writeHead(404).end();
  response.writeHead(200, { "content-type": page.type, "content-length": page.body.length }).end(page.body);
});
process.send?.({
  port: site.port,
  origin: site.origin,
  sizes: Object.fromEntries(Object.entries(pages).map(([path, page]) => [path, page.body.length])),
});
process.on("disconnect", () => {
  void site.close().then(() => process.exit(0));
});
