import { describe, expect, it } from "vitest";
import { createDocumentLoader } from "../../../src/adapters/documents/create-document-loader.js";
import { withSlackFileCredentials } from "../../../src/adapters/slack/slack-file-credentials.js";
import type { DocumentLoader, DocumentReference } from "../../../src/core/ports/document-loader.js";
import { startLocalHttpServer } from "../../support/local-http-server.js";
import { startSlackStandIn } from "../../support/slack-stand-in.js";

const TOKEN = "xoxb-file-credentials-test";
/** What the Slack adapter puts on a file that arrived in one of its events. */
const FROM_SLACK = { platform: "slack" as const, workspaceId: "T1" };

function recordingLoader() {
  const seen: DocumentReference[] = [];
  const loader: DocumentLoader = {
    async load(reference) {
      seen.push(reference);
      return { title: "t", text: "x", format: "text", source: "s", contentType: "text/plain", bytes: 1 };
    },
  };
  return { loader, seen };
}

describe("withSlackFileCredentials", () => {
  it("adds the bot token to files that arrived in a Slack event, on Slack file hosts over https or the configured API origin", async () => {
    const { loader, seen } = recordingLoader();
    const wrapped = withSlackFileCredentials(loader, {
      botToken: TOKEN,
      apiUrl: "http://127.0.0.1:4321/api/",
    });
    const urls = [
      "https://files.slack.com/files-pri/T1-F1/report.pdf",
      "https://FILES.SLACK.COM/files-pri/T1-F2/upper.pdf",
      "https://files.slack-gov.com/files-pri/T1-F3/gov.pdf",
      "http://127.0.0.1:4321/files/stand-in.md",
    ];
    for (const url of urls) await wrapped.load({ kind: "url", url, name: "file", arrivedIn: FROM_SLACK });
    expect(seen.map((reference) => (reference.kind === "url" ? reference.headers : undefined))).toEqual(
      urls.map(() => ({ Authorization: `Bearer ${TOKEN}` })),
    );
    // The file name survives the wrapping.
    expect(seen.every((reference) => reference.kind === "url" && reference.name === "file")).toBe(true);
  });

  it("sends no token anywhere else: look-alike hosts, plain http, other ports, userinfo, paths", async () => {
    const { loader, seen } = recordingLoader();
    const wrapped = withSlackFileCredentials(loader, {
      botToken: TOKEN,
      apiUrl: "http://127.0.0.1:4321/api/",
    });
    const references: DocumentReference[] = [
      { kind: "url", url: "https://files.slack.com.evil.example/x.pdf", arrivedIn: FROM_SLACK },
      { kind: "url", url: "https://evilfiles.slack.com/x.pdf", arrivedIn: FROM_SLACK },
      { kind: "url", url: "https://slack.com/files/x.pdf", arrivedIn: FROM_SLACK },
      { kind: "url", url: "http://files.slack.com/files-pri/T1-F1/x.pdf", arrivedIn: FROM_SLACK },
      { kind: "url", url: "https://files.slack.com:8443/files-pri/T1-F1/x.pdf", arrivedIn: FROM_SLACK },
      { kind: "url", url: "https://user:pass@files.slack.com/files-pri/T1-F1/x.pdf", arrivedIn: FROM_SLACK },
      { kind: "url", url: "http://127.0.0.1:4322/files/other-port.md", arrivedIn: FROM_SLACK },
      { kind: "url", url: "https://127.0.0.1:4321/files/other-scheme.md", arrivedIn: FROM_SLACK },
      { kind: "url", url: "not a url", arrivedIn: FROM_SLACK },
      { kind: "path", path: "files.slack.com/x.md" },
      // The right host, but typed by someone (no arrivedIn) or arrived on another platform.
      { kind: "url", url: "https://files.slack.com/files-pri/T1-F1/typed.pdf" },
      {
        kind: "url",
        url: "https://files.slack.com/files-pri/T1-F1/from-discord.pdf",
        arrivedIn: { platform: "discord", workspaceId: "G1" },
      },
    ];
    for (const reference of references) await wrapped.load(reference);
    expect(seen).toEqual(references);
    expect(JSON.stringify(seen)).not.toContain(TOKEN);
  });

  it("keeps headers a reference already carries (the bot's own in-memory download)", async () => {
    const { loader, seen } = recordingLoader();
    const wrapped = withSlackFileCredentials(loader, { botToken: TOKEN });
    const reference: DocumentReference = {
      kind: "url",
      url: "https://files.slack.com/files-pri/T1-F1/x.pdf",
      headers: { Authorization: "Bearer xoxb-other-install" },
    };
    await wrapped.load(reference);
    expect(seen).toEqual([reference]);
  });

  it("without SLACK_API_URL only Slack's own file hosts qualify", async () => {
    const { loader, seen } = recordingLoader();
    const wrapped = withSlackFileCredentials(loader, { botToken: TOKEN });
    const reference: DocumentReference = {
      kind: "url",
      url: "http://127.0.0.1:4321/files/stand-in.md",
      arrivedIn: FROM_SLACK,
    };
    await wrapped.load(reference);
    expect(seen).toEqual([reference]);
  });

  it("downloads a url_private file from the Slack stand-in through the real loader", async () => {
    const slack = await startSlackStandIn({ botToken: TOKEN });
    const other = await startLocalHttpServer((_request, response) => {
      response.writeHead(200, { "content-type": "text/plain" }).end("public notes");
    });
    try {
      const fileUrl = slack.addFile("runbook.md", "# Runbook\n\nPress the blue button.\n");
      const plain = createDocumentLoader({
        baseDirectory: process.cwd(),
        fetcher: { allowedHosts: [new URL(slack.origin).host, `127.0.0.1:${other.port}`] },
      });
      // Without the wrapper Slack refuses the download (403); with it, the file arrives.
      await expect(plain.load({ kind: "url", url: fileUrl })).rejects.toThrow();
      const wrapped = withSlackFileCredentials(plain, { botToken: TOKEN, apiUrl: slack.apiUrl });
      const loaded = await wrapped.load({
        kind: "url",
        url: fileUrl,
        name: "runbook.md",
        arrivedIn: FROM_SLACK,
      });
      expect(loaded.text).toContain("Press the blue button.");
      expect(slack.downloads).toEqual(["/files/runbook.md"]);
      // A host that is not Slack's never sees the token.
      await wrapped.load({ kind: "url", url: `${other.origin}/notes.txt`, arrivedIn: FROM_SLACK });
      expect(other.requests[0]?.headers.authorization).toBeUndefined();
    } finally {
      await other.close();
      await slack.close();
    }
  });
});
