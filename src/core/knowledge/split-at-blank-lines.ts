/**
 * `text.split(/\r?\n[ \t]*\r?\n/)`: the text cut at every blank line (a line of nothing but spaces and
 * tabs), with the line breaks around it dropped.
 *
 * Hand-written because the expression cost about 2 ns a character on SciFact (15 ms of a 1.25 s cold
 * pass of chunking and term counting) although none of its 5,183 documents holds a line break:
 * `indexOf("\n")` jumps from line break to line break, and only there is the rest of the pattern read.
 * A test holds it to the expression.
 */
export function splitAtBlankLines(text: string): string[] {
  const pieces: string[] = [];
  let start = 0;
  for (let lineBreak = text.indexOf("\n"); lineBreak >= 0; lineBreak = text.indexOf("\n", lineBreak + 1)) {
    let next = lineBreak + 1;
    while (text.charCodeAt(next) === 0x20 || text.charCodeAt(next) === 0x09) next++;
    if (text.charCodeAt(next) === 0x0d) next++;
    if (text.charCodeAt(next) !== 0x0a) continue;
    // The match begins at the `\r` before its first line break if there is one (never the previous match's
    // last character, which is a `\n`).
    const end = text.charCodeAt(lineBreak - 1) === 0x0d ? lineBreak - 1 : lineBreak;
    pieces.push(text.slice(start, end));
    start = next + 1;
    lineBreak = next;
  }
  pieces.push(text.slice(start));
  return pieces;
}
