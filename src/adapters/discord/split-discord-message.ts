import { splitMarkdown } from "../../core/markdown/split-markdown.js";

/** Discord rejects message `content` longer than this (the docs; the preview spec says 4000). */
export const DISCORD_MESSAGE_LIMIT = 2000;

/**
 * Splits Markdown into Discord messages of at most `limit` characters with core's one splitter:
 * cut between blocks, a code block too long for one message closed and reopened with its language,
 * and Discord's Markdown kept as written (single line breaks included). Order is preserved; joining
 * the pieces loses only the whitespace at the cuts.
 */
export function splitDiscordMessage(text: string, limit = DISCORD_MESSAGE_LIMIT): string[] {
  if (text.length <= limit) return text.length === 0 ? [] : [text];
  return splitMarkdown(text, limit);
}
