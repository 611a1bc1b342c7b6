import type { Nodes, Root } from "mdast";
import { fromMarkdown } from "mdast-util-from-markdown";
import { gfmFromMarkdown } from "mdast-util-gfm";
import { gfm } from "micromark-extension-gfm";

/**
 * Markdown → an mdast syntax tree (CommonMark plus GitHub's tables, strikethrough, task lists and
 * autolinks), with every node's source offsets. Splitting reads block boundaries from the tree and
 * slices the original text, so what a piece holds is exactly what the model wrote.
 */
export function parseMarkdown(markdown: string): Root {
  return fromMarkdown(markdown, { extensions: [gfm()], mdastExtensions: [gfmFromMarkdown()] });
}

/** Where a node starts in the source (`fallback` for a node without a position: none are produced by parsing). */
export function startOf(node: Nodes, fallback = 0): number {
  return node.position?.start.offset ?? fallback;
}

/** Where a node ends in the source (exclusive). */
export function endOf(node: Nodes, fallback = 0): number {
  return node.position?.end.offset ?? fallback;
}

const FENCE = /^(`{3,}|~{3,})/;

/** The fence marker (```` ``` ````, `~~~~`, …) of a fenced code block starting at `start`, or undefined for indented code. */
export function fenceMarkerAt(source: string, start: number): string | undefined {
  return FENCE.exec(source.slice(start, start + 64))?.[1];
}
