/** Slack splits answers with core's one Markdown splitter, on the parsed blocks (see there). */
export { findMarkdownCut, openFenceAt, splitMarkdown } from "../../core/markdown/split-markdown.js";
