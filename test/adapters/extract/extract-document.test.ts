import { describe, expect, it } from "vitest";
import { extractDocument, type RawDocument } from "../../../src/adapters/extract/extract-document.js";
import { AppError } from "../../../src/core/errors.js";
import { buildMinimalPdf } from "../../support/minimal-pdf.js";

function raw(body: string | Uint8Array, overrides: Partial<RawDocument> = {}): RawDocument {
  return {
    body: typeof body === "string" ? new TextEncoder().encode(body) : body,
    mediaType: undefined,
    charset: undefined,
    fileName: undefined,
    source: "source-of-test",
    ...overrides,
  };
}

async function failure(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

describe("Markdown", () => {
  it("keeps the text as it is and takes the title from the first level-one heading", async () => {
    const source =
      "Intro line\r\n\r\n```sh\r\n# not a heading\r\n```\r\n\r\n# Deploy guide\r\n\r\n## Steps\r\n\r\nRun `make`.\r\n";
    const document = await extractDocument(
      raw(source, { mediaType: "text/markdown", fileName: "deploy.md" }),
    );
    expect(document).toEqual({
      title: "Deploy guide",
      text: "Intro line\n\n```sh\n# not a heading\n```\n\n# Deploy guide\n\n## Steps\n\nRun `make`.",
      format: "markdown",
      source: "source-of-test",
      contentType: "text/markdown",
      bytes: new TextEncoder().encode(source).length,
    });
  });

  it("uses a front-matter title and leaves the front matter out of the text", async () => {
    const document = await extractDocument(
      raw(`---\ntitle: "On-call handbook"\ntags: [ops]\n---\n# Paging\n\nPage the lead.`, {
        fileName: "oncall.md",
      }),
    );
    expect(document.title).toBe("On-call handbook");
    expect(document.text).toBe("# Paging\n\nPage the lead.");
  });

  it("understands a setext heading", async () => {
    const document = await extractDocument(
      raw("Release notes\n=============\n\nAll good.", { fileName: "notes.md" }),
    );
    expect(document.title).toBe("Release notes");
  });

  it("falls back to the file name without extension", async () => {
    const document = await extractDocument(
      raw("## Only a subheading\n\ntext", { fileName: "runbook.markdown" }),
    );
    expect(document.title).toBe("runbook");
    expect(document.format).toBe("markdown");
  });

  it("reads a .md file served as text/plain as Markdown", async () => {
    const document = await extractDocument(
      raw("# Title\n\nbody", { mediaType: "text/plain", fileName: "a.md" }),
    );
    expect(document.format).toBe("markdown");
    expect(document.contentType).toBe("text/markdown");
  });
});

describe("plain text", () => {
  it("normalizes line endings and takes the title from the file name", async () => {
    const document = await extractDocument(
      raw("first line   \r\nsecond line\r\n\r\n", { mediaType: "text/plain", fileName: "todo.txt" }),
    );
    expect(document).toMatchObject({ title: "todo", text: "first line\nsecond line", format: "text" });
  });

  it("decodes the declared charset", async () => {
    const latin1 = new Uint8Array([0x63, 0x61, 0x66, 0xe9]);
    const document = await extractDocument(raw(latin1, { mediaType: "text/plain", charset: "iso-8859-1" }));
    expect(document.text).toBe("café");
  });

  it("uses the source as the title when nothing better is known", async () => {
    const document = await extractDocument(raw("hello", { mediaType: "text/plain" }));
    expect(document.title).toBe("source-of-test");
  });
});

describe("HTML", () => {
  const page = `<!doctype html><html><head><title> Team handbook </title>
    <style>.x { color: red }</style><script>window.secret = "do not index";</script></head>
    <body><nav><a href="/">Home</a><a href="/about">About us</a></nav>
    <h1>Welcome <em>aboard</em></h1>
    <p>Read the <a href="guide.html">deploy guide</a> and the <a href="/policies">policies</a>.</p>
    <h2>On-call</h2><ul><li>Page the lead</li><li>Write it down</li></ul>
    <h3></h3><noscript>enable javascript</noscript><img src="logo.png" alt="logo">
    </body></html>`;

  it("turns headings into # lines, keeps links readable and drops scripts, styles and navigation", async () => {
    const document = await extractDocument(
      raw(page, {
        mediaType: "text/html",
        source: "https://docs.test/team/",
        baseUrl: "https://docs.test/team/index.html",
      }),
    );
    expect(document.title).toBe("Team handbook");
    expect(document.format).toBe("markdown");
    expect(document.contentType).toBe("text/html");
    expect(document.text).toBe(
      [
        "# Welcome aboard",
        "",
        "Read the deploy guide (https://docs.test/team/guide.html) and the policies (https://docs.test/policies).",
        "",
        "## On-call",
        "",
        "- Page the lead",
        "- Write it down",
      ].join("\n"),
    );
    expect(document.text).not.toContain("do not index");
    expect(document.text).not.toContain("About us");
    expect(document.text).not.toContain("color");
  });

  it("takes the title from the first h1 when there is no <title>", async () => {
    const document = await extractDocument(
      raw("<body><p>intro</p><h1>Architecture</h1><h1>Later</h1></body>", { mediaType: "text/html" }),
    );
    expect(document.title).toBe("Architecture");
  });

  it("honours a <meta charset> when the server declared none", async () => {
    const html = Buffer.concat([
      Buffer.from('<html><head><meta charset="windows-1252"><title>t</title></head><body><p>na'),
      Buffer.from([0xef]),
      Buffer.from("ve</p></body></html>"),
    ]);
    const document = await extractDocument(raw(new Uint8Array(html), { mediaType: "text/html" }));
    expect(document.text).toBe("naïve");
  });

  it("refuses a page with no text", async () => {
    const error = await failure(
      extractDocument(
        raw("<html><head><title>Empty</title></head><body><script>x()</script></body></html>", {
          mediaType: "text/html",
        }),
      ),
    );
    expect(error.code).toBe("unsupported_content");
    expect(error.userMessage).toBe("That document has no text I can read.");
  });
});

describe("PDF", () => {
  it("extracts the text of every page and the title from the metadata", async () => {
    const pdf = buildMinimalPdf(
      [["Quarterly report (draft)", "Revenue grew by 12 percent."], ["Hiring plan: two engineers."]],
      { title: "Q3 report" },
    );
    const document = await extractDocument(raw(pdf, { mediaType: "application/pdf", fileName: "q3.pdf" }));
    expect(document).toEqual({
      title: "Q3 report",
      text: "Quarterly report (draft)\nRevenue grew by 12 percent.\n\nHiring plan: two engineers.",
      format: "text",
      source: "source-of-test",
      contentType: "application/pdf",
      bytes: pdf.length,
    });
  });

  it("falls back to the file name and recognizes a PDF by its bytes", async () => {
    const pdf = buildMinimalPdf([["Just one page."]]);
    const document = await extractDocument(
      raw(pdf, { mediaType: "application/octet-stream", fileName: "scan-2024-01" }),
    );
    expect(document.title).toBe("scan-2024-01");
    expect(document.text).toBe("Just one page.");
  });

  it("says a PDF without text may be a scan", async () => {
    const error = await failure(
      extractDocument(raw(buildMinimalPdf([[]]), { mediaType: "application/pdf" })),
    );
    expect(error.code).toBe("unsupported_content");
    expect(error.userMessage).toBe("That file has no text I can read — is it a scanned PDF?");
  });

  it("reports a damaged PDF clearly", async () => {
    const error = await failure(extractDocument(raw("%PDF-1.4 nonsense", { mediaType: "application/pdf" })));
    expect(error.code).toBe("unsupported_content");
    expect(error.userMessage).toBe("That PDF could not be read; it may be damaged.");
  });
});

describe("format detection for generic media types", () => {
  it("uses the file extension of an octet-stream attachment", async () => {
    const document = await extractDocument(
      raw("<h1>Hi</h1><p>there</p>", { mediaType: "application/octet-stream", fileName: "page.HTM" }),
    );
    expect(document.text).toBe("# Hi\n\nthere");
  });

  it("reads UTF-8 without a known extension as text", async () => {
    const document = await extractDocument(raw("MIT License\n\nCopyright", { fileName: "LICENSE" }));
    expect(document.format).toBe("text");
  });

  it("refuses binary content", async () => {
    const error = await failure(
      extractDocument(raw(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]), { fileName: "logo.png" })),
    );
    expect(error.code).toBe("unsupported_content");
    expect(error.userMessage).toBe("I can only read Markdown, plain text, HTML, CSV and PDF documents.");
  });

  it("refuses a specific media type it cannot read even with a friendly extension", async () => {
    const error = await failure(
      extractDocument(raw("{}", { mediaType: "application/json", fileName: "x.md" })),
    );
    expect(error.code).toBe("unsupported_content");
  });
});
