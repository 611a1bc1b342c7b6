import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAttachmentReader } from "../../../src/adapters/attachments/create-attachment-reader.js";
import { createDocumentLoader } from "../../../src/adapters/documents/create-document-loader.js";
import { isAppError } from "../../../src/core/errors.js";
import { type LocalHttpServer, startLocalHttpServer } from "../../support/local-http-server.js";

describe("createAttachmentReader (real loader, extraction and guarded fetcher)", () => {
  let server: LocalHttpServer;
  let folder: string;

  beforeAll(async () => {
    server = await startLocalHttpServer((request, response) => {
      if (request.url === "/pixel.png") {
        response.writeHead(200, { "content-type": "image/png" }).end(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
        return;
      }
      response.writeHead(200, { "content-type": "text/html" }).end("<p>not an image</p>");
    });
    folder = mkdtempSync(join(tmpdir(), "teammate-attachments-"));
    writeFileSync(join(folder, "notes.md"), "# Notes\n\nShip on Friday.\n");
  });
  afterAll(async () => {
    await server.close();
    rmSync(folder, { recursive: true, force: true });
  });

  const reader = (maxBytes = 1_000_000) =>
    createAttachmentReader({
      loader: createDocumentLoader({
        baseDirectory: folder,
        fetcher: { allowedHosts: [`127.0.0.1:${server.port}`], maxBytes },
      }),
      maxBytes,
      fetcher: { allowedHosts: [`127.0.0.1:${server.port}`] },
    });

  const refusal = async (promise: Promise<unknown>) => {
    const error = await promise.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(isAppError(error)).toBe(true);
    return isAppError(error) ? (error.userMessage ?? "") : "";
  };

  it("reads a local path only for the terminal: a chat attachment naming one is refused", async () => {
    const attachment = { name: "notes.md", url: "", localPath: "notes.md" };
    expect((await reader().readText(attachment, "local")).text).toContain("Ship on Friday.");
    expect(await refusal(reader().readText(attachment, "slack"))).toMatch(
      /only read files from this machine/,
    );
  });

  it("refuses a file the platform says is too large, before any download", async () => {
    const before = server.requests.length;
    const message = await refusal(
      reader(2048).readText(
        { name: "big.pdf", url: `${server.origin}/big.pdf`, sizeBytes: 5_000_000 },
        "discord",
      ),
    );
    expect(message).toBe("It is larger than the 2 KB limit for files in questions.");
    expect(server.requests.length).toBe(before);
  });

  it("reads an image as a data URL, and refuses one the server says is something else", async () => {
    const image = await reader().readImage(
      { name: "pixel.png", url: `${server.origin}/pixel.png`, mimeType: "image/png" },
      "discord",
    );
    expect(image.dataUrl).toBe("data:image/png;base64,iVBORw==");
    expect(
      await refusal(
        reader().readImage(
          { name: "fake.png", url: `${server.origin}/fake.png`, mimeType: "image/png" },
          "discord",
        ),
      ),
    ).toBeTruthy();
  });
});
