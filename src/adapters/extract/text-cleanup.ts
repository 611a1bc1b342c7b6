/**
 * Linear text clean-up for extractors. `/[ \t]+$/gm`, the usual way to drop trailing blanks, is quadratic
 * on a line with a long run of blanks before its last character (every start inside the run scans to that
 * character), so a document of one such line froze the bot; these helpers look at each character once.
 */

function isBlank(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/** `line` without the spaces and tabs at its end. */
export function trimBlankEnd(line: string): string {
  let end = line.length;
  while (end > 0 && isBlank(line.charCodeAt(end - 1))) end -= 1;
  return end === line.length ? line : line.slice(0, end);
}

/** Every line of `text` without the spaces and tabs at its end. */
export function trimLineEnds(text: string): string {
  // In place rather than by `map`, whose arrays from optimized code are HOLEY and deopt the `join` optimized
  // for the builtin's PACKED ones (see core/knowledge/chunker.ts, parsePlainText).
  const lines = text.split("\n");
  for (let index = 0; index < lines.length; index++) lines[index] = trimBlankEnd(lines[index] as string);
  return lines.join("\n");
}

/** `\r\n` and lone `\r` become `\n`. */
export function normalizeNewlines(text: string): string {
  return text.replace(/\r\n?/g, "\n");
}
