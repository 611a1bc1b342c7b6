/** Slack splits answers with core's one Markdown splitter, on the syntax tree (see there). */
export { findMarkdownCut, openFenceAt, splitMarkdown } from "../../core/markdown/split-markdown.js";
