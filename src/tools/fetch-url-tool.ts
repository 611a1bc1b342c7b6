import { z } from "zod";
import type { Tool } from "../core/ports/tool.js";

/**
 * Reads a web page as clean text. The composition root passes the ingestion loader here
 * (`(url, signal) => loader.load({ kind: "url", url }, signal)`), so the same address guard (no
 * private, loopback or metadata addresses), size and time limits and content-type checks apply.
 * Kept as a bare function type so this tool depends on no loader implementation.
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

/** `fetch_url`: read-only; returns the page's title and text (capped in tokens by the registry). */
export function createFetchUrlTool(fetchDocument: FetchDocument): Tool<z.output<typeof input>> {
  return {
    name: "fetch_url",
    description:
      "Read a public web page and return its text. Use it when someone shares a link or asks about a page. " +
      "It only reads; it cannot submit forms or log in.",
    inputSchema: input,
    risk: "read",
    timeoutMs: 30_000,
    maxOutputTokens: 3_000,
    activity: "Reading the page…",
    async execute({ url }, context) {
      const document = await fetchDocument(url, context.signal);
      return `${document.title} (${url})\n\n${document.text}`;
    },
  };
}
