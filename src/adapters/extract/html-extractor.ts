import { convert, type FormatCallback, type HtmlToTextOptions, type SelectorDefinition } from "html-to-text";
import { limitHtmlDepth } from "./limit-html-depth.js";
import type { ExtractedText } from "./markdown-extractor.js";
import { trimLineEnds } from "./text-cleanup.js";

// Headings become Markdown `#` lines so the chunker sees the same structure as in a Markdown file.
const markdownHeading: FormatCallback = (element, walk, builder, formatOptions) => {
  const level = Math.min(Math.max(Number(element.name?.slice(1)) || 1, 1), 6);
  builder.openBlock({ leadingLineBreaks: formatOptions.leadingLineBreaks ?? 2 });
  walk(element.children, builder);
  builder.closeBlock({
    trailingLineBreaks: formatOptions.trailingLineBreaks ?? 2,
    blockTransform: (text) => {
      const heading = text.replace(/\s+/g, " ").trim();
      return heading === "" ? "" : `${"#".repeat(level)} ${heading}`;
    },
  });
};

// Page furniture and non-text content that would only add noise to the index.
const SKIPPED = [
  "script",
  "style",
  "noscript",
  "template",
  "svg",
  "canvas",
  "iframe",
  "nav",
  "button",
  "img",
];

function resolveLink(path: string, baseUrl: string | undefined): string {
  if (!baseUrl) return path;
  try {
    return new URL(path, baseUrl).href;
  } catch {
    return path;
  }
}

function bodyOptions(baseUrl: string | undefined): HtmlToTextOptions {
  const selectors: SelectorDefinition[] = [
    ...["h1", "h2", "h3", "h4", "h5", "h6"].map((selector) => ({ selector, format: "markdownHeading" })),
    ...SKIPPED.map((selector) => ({ selector, format: "skip" })),
    {
      selector: "a",
      options: {
        linkBrackets: ["(", ")"],
        hideLinkHrefIfSameAsText: true,
        noAnchorUrl: true,
        pathRewrite: (path: string) => resolveLink(path, baseUrl),
      },
    },
    { selector: "ul", options: { itemPrefix: "- " } },
    { selector: "table", format: "dataTable", options: { uppercaseHeaderCells: false, maxColumnWidth: 60 } },
  ];
  return { wordwrap: false, formatters: { markdownHeading }, selectors };
}

function textOf(html: string, selector: string): string | undefined {
  const text = convert(html, {
    wordwrap: false,
    baseElements: { selectors: [selector], returnDomByDefault: false },
    limits: { maxBaseElements: 1 },
    selectors: [
      { selector: "a", options: { ignoreHref: true } },
      { selector: "h1", options: { uppercase: false } },
    ],
  })
    .replace(/\s+/g, " ")
    .trim();
  return text === "" ? undefined : text;
}

/**
 * HTML to Markdown-flavoured text with html-to-text: headings as `#` lines, links as `text (url)`
 * resolved against the page's URL, lists with `- `, scripts, styles, navigation and images dropped.
 * The title is the page's `<title>`, else its first `<h1>`.
 */
export function extractHtml(page: string, options: { baseUrl?: string | undefined } = {}): ExtractedText {
  const html = limitHtmlDepth(page);
  const text = trimLineEnds(convert(html, bodyOptions(options.baseUrl)))
    .replace(/\n{3,}/g, "\n\n")
    .trim();
  return { title: textOf(html, "title") ?? textOf(html, "h1"), text };
}
