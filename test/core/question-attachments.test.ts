import { describe, expect, it } from "vitest";
import { readQuestionAttachments } from "../../src/core/attachments/question-attachments.js";
import { AppError } from "../../src/core/errors.js";
import type { InboundMessage } from "../../src/core/ports/assistant-handler.js";
import type { AttachmentReader } from "../../src/core/ports/attachment-reader.js";
import { silentLogger } from "../../src/core/ports/logger.js";
import type { Attachment } from "../../src/core/types.js";

function message(attachments: Attachment[]): InboundMessage {
  return {
    platform: "slack",
    workspaceId: "T1",
    channelId: "C1",
    userId: "U1",
    userName: "Ada",
    isAdmin: false,
    text: "",
    attachments,
    eventId: "E1",
  };
}

/** A reader over in-memory files: what core asks for is what it gets, or the file's failure. */
function reader(files: Record<string, string | AppError>): AttachmentReader & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    maxBytes: 1_000_000,
    async readText(attachment) {
      asked.push(attachment.name);
      const content = files[attachment.name];
      if (content instanceof AppError) throw content;
      return {
        name: attachment.name,
        text: content ?? "",
        kind: attachment.name.endsWith(".csv") ? "table" : "document",
      };
    },
    async readImage(attachment) {
      asked.push(attachment.name);
      return { name: attachment.name, mediaType: "image/png", dataUrl: "data:image/png;base64,AA==" };
    },
  };
}

const file = (name: string, mimeType?: string): Attachment => ({
  name,
  url: `https://files/${name}`,
  mimeType,
});

describe("readQuestionAttachments", () => {
  it("cuts a table to its share of the budget at a row, and says how many rows the model sees", async () => {
    const rows = Array.from({ length: 2_000 }, (_, index) => `| row ${index} | ${index * 3} |`);
    const table = ["| name | value |", "| --- | --- |", ...rows].join("\n");
    const read = await readQuestionAttachments({
      message: message([file("big.csv")]),
      reader: reader({ "big.csv": table }),
      acceptsImages: false,
      tokenBudget: 500,
      logger: silentLogger,
    });
    const text = read.passages[0]?.text ?? "";
    const shown = text.split("\n").filter((line) => line.startsWith("| row "));
    expect(shown.length).toBeGreaterThan(10);
    expect(shown.length).toBeLessThan(2_000);
    expect(shown.at(-1)).toMatch(/^\| row \d+ \| \d+ \|$/);
    expect(text).toContain(`(The table has 2000 rows; only the first ${shown.length} fit here.)`);
  });

  it("names each file it could not use, and still reads the others", async () => {
    const files = reader({
      "broken.pdf": new AppError("unsupported_content", "scanned", {
        category: "user",
        userMessage: "That file has no text I can read — is it a scanned PDF?",
      }),
      "notes.md": "# Notes\n\nShip on Friday.",
    });
    const read = await readQuestionAttachments({
      message: message([file("broken.pdf"), file("photo.jpg", "image/jpeg"), file("notes.md")]),
      reader: files,
      acceptsImages: false,
      tokenBudget: 2_000,
      logger: silentLogger,
    });
    expect(read.notes).toEqual([
      "I couldn't read “broken.pdf”: That file has no text I can read — is it a scanned PDF?",
      "The model here doesn't accept images, so I couldn't look at “photo.jpg”. Describe it in words, or ask an admin about a model that takes images.",
    ]);
    expect(read.passages.map((passage) => passage.title)).toEqual(["notes.md"]);
    // The image was never downloaded for a model that could not see it.
    expect(files.asked).toEqual(["broken.pdf", "notes.md"]);
  });

  it("a failure that is not the file's fault gets a reference id, not the error's text", async () => {
    const read = await readQuestionAttachments({
      message: message([file("a.txt")]),
      reader: reader({ "a.txt": new AppError("internal", "ECONNRESET at 10.0.0.7", { category: "system" }) }),
      acceptsImages: false,
      tokenBudget: 2_000,
      logger: silentLogger,
    });
    expect(read.notes[0]).toMatch(
      /^I couldn't read “a\.txt”: Sorry, something went wrong on my side .*\(ref [0-9a-f]{8}\)\.$/,
    );
    expect(read.notes[0]).not.toContain("10.0.0.7");
  });

  it("a file name cannot style or break the sentence", async () => {
    const read = await readQuestionAttachments({
      message: message([file("x*<!channel>*\n[click](http://evil).png", "image/png")]),
      reader: reader({}),
      acceptsImages: false,
      tokenBudget: 2_000,
      logger: silentLogger,
    });
    expect(read.notes[0]).not.toMatch(/[*<>\n[\]]/);
  });
});
