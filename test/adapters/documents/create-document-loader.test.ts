import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createDocumentLoader } from "../../../src/adapters/documents/create-document-loader.js";
import { AppError } from "../../../src/core/errors.js";
import type { DocumentLoader } from "../../../src/core/ports/document-loader.js";
import { installConnectionTripwire } from "../../support/connection-tripwire.js";
import { type LocalHttpServer, startLocalHttpServer } from "../../support/local-http-server.js";
import { buildMinimalPdf } from "../../support/minimal-pdf.js";

const tripwire = installConnectionTripwire(["127.0.0.1"]);
afterAll(() => tripwire.uninstall());
afterEach(() => {
  expect(tripwire.blocked).toEqual([]);
});

async function failure(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

let root: string;
let base: string;
let server: LocalHttpServer;
let loader: DocumentLoader;

const README = "# teammate\n\nAn AI teammate that lives in team chat.\n";
const HANDBOOK =
  "<html><head><title>Handbook</title></head><body><h2>Leave</h2><p>Ask your lead.</p></body></html>";

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "teammate-loader-"));
  base = join(root, "project");
  await mkdir(join(base, "docs"), { recursive: true });
  await writeFile(join(base, "README.md"), README);
  await writeFile(join(base, "docs", "guide.txt"), "Restart the worker with npm run worker.\n");
  await writeFile(
    join(base, "docs", "report.pdf"),
    buildMinimalPdf([["Uptime was 99.9 percent."]], { title: "Uptime" }),
  );
  await writeFile(join(base, "big.txt"), "a".repeat(2048));
  await writeFile(join(root, "secret.md"), "# Secret\n\nnot for indexing\n");
  await symlink(join(root, "secret.md"), join(base, "sneaky.md"));

  server = await startLocalHttpServer((request, response) => {
    if (request.url === "/handbook.html") {
      response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      response.end(HANDBOOK);
      return;
    }
    if (request.url === "/files/upload") {
      if (request.headers.authorization !== "Bearer xoxb-test") {
        response.writeHead(403);
        response.end();
        return;
      }
      response.writeHead(200, { "content-type": "application/octet-stream" });
      response.end("# Minutes\n\nShip on Friday.");
      return;
    }
    response.writeHead(404);
    response.end();
  });
  loader = createDocumentLoader({
    baseDirectory: base,
    maxFileBytes: 1024,
    fetcher: { allowedHosts: [`127.0.0.1:${server.port}`], timeoutMs: 5_000 },
  });
});

afterAll(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

describe("path references", () => {
  it("reads a Markdown file inside the base directory", async () => {
    const document = await loader.load({ kind: "path", path: "README.md" });
    expect(document).toEqual({
      title: "teammate",
      text: "# teammate\n\nAn AI teammate that lives in team chat.",
      format: "markdown",
      source: "README.md",
      contentType: "text/markdown",
      bytes: Buffer.byteLength(README),
    });
  });

  it("reads nested text and PDF files, and absolute paths inside the base", async () => {
    const text = await loader.load({ kind: "path", path: "docs/guide.txt" });
    expect(text).toMatchObject({ title: "guide", format: "text", contentType: "text/plain" });
    const pdf = await loader.load({ kind: "path", path: join(base, "docs", "report.pdf") });
    expect(pdf).toMatchObject({
      title: "Uptime",
      text: "Uptime was 99.9 percent.",
      contentType: "application/pdf",
    });
  });

  it.each(["../secret.md", "docs/../../secret.md", "sneaky.md"])(
    "refuses %s, which leads outside",
    async (path) => {
      const error = await failure(loader.load({ kind: "path", path }));
      expect(error.code).toBe("fetch_refused");
      expect(error.userMessage).toBe("I can only read files inside the folder I was started in.");
    },
  );

  it("refuses an absolute path outside the base", async () => {
    const error = await failure(loader.load({ kind: "path", path: join(root, "secret.md") }));
    expect(error.code).toBe("fetch_refused");
  });

  it("says when a file is missing, is a folder, or is too large", async () => {
    expect((await failure(loader.load({ kind: "path", path: "nope.md" }))).userMessage).toBe(
      "I can't find nope.md.",
    );
    expect((await failure(loader.load({ kind: "path", path: "docs" }))).code).toBe("input_invalid");
    const tooLarge = await failure(loader.load({ kind: "path", path: "big.txt" }));
    expect(tooLarge.code).toBe("input_too_large");
  });
});

describe("url references", () => {
  it("loads an HTML page as Markdown-flavoured text", async () => {
    const url = `${server.origin}/handbook.html`;
    const document = await loader.load({ kind: "url", url });
    expect(document).toEqual({
      title: "Handbook",
      text: "## Leave\n\nAsk your lead.",
      format: "markdown",
      source: url,
      contentType: "text/html",
      bytes: Buffer.byteLength(HANDBOOK),
    });
  });

  it("loads a chat attachment with its headers and its file name as the format hint", async () => {
    const url = `${server.origin}/files/upload`;
    const document = await loader.load({
      kind: "url",
      url,
      name: "minutes.md",
      headers: { Authorization: "Bearer xoxb-test" },
    });
    expect(document).toMatchObject({ title: "Minutes", format: "markdown", source: url });
  });

  it("passes the address guard's refusal through", async () => {
    const error = await failure(
      loader.load({ kind: "url", url: "http://169.254.169.254/latest/meta-data/" }),
    );
    expect(error.code).toBe("fetch_refused");
  });
});
