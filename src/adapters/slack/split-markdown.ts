/**
 * Splits Markdown into pieces of at most `limit` characters without losing text: cuts at paragraph
 * breaks or the end of a code block where it can, then at a line end, a space, and only as a last
 * resort mid-word. A piece cut inside a fenced code block gets the fence closed, and the next piece
 * reopens it with the same info string, so every piece renders on its own.
 */
export function splitMarkdown(markdown: string, limit: number): string[] {
  if (limit < 20) throw new RangeError("splitMarkdown needs a limit of at least 20 characters");
  const pieces: string[] = [];
  let rest = markdown;
  while (rest.length > limit) {
    const cut = findMarkdownCut(rest, Math.floor(limit / 3), limit - FENCE_CLOSE.length);
    const head = rest.slice(0, cut);
    const openFence = openFenceAt(rest, cut);
    if (openFence === undefined) {
      if (head.trim() !== "") pieces.push(head.trimEnd());
      rest = rest
        .slice(cut)
        .replace(/^[ \t]*\n+/, "")
        .replace(/^ /, "");
    } else {
      pieces.push(`${head.replace(/\n$/, "")}${FENCE_CLOSE}`);
      rest = `${openFence}\n${rest.slice(cut).replace(/^\n/, "")}`;
    }
  }
  if (rest.trim() !== "") pieces.push(rest);
  return pieces;
}

const FENCE_CLOSE = "\n```";
const FENCE_LINE = /^ {0,3}(```|~~~)/;

/**
 * The best index in `[minimum, maximum]` to cut `text` at (the piece is `text.slice(0, index)`),
 * preferring a blank line or the end of a code block, then a line end, then a space.
 */
export function findMarkdownCut(text: string, minimum: number, maximum: number): number {
  if (text.length <= maximum) return text.length;
  let inFence = false;
  let paragraph = -1;
  let lineEnd = -1;
  let position = 0;
  while (position <= maximum) {
    const newline = text.indexOf("\n", position);
    const end = newline === -1 ? text.length : newline;
    if (end > maximum) break;
    const line = text.slice(position, end);
    if (FENCE_LINE.test(line)) {
      inFence = !inFence;
      if (!inFence) paragraph = end;
    } else if (!inFence && line.trim() === "" && position > 0) {
      paragraph = position;
    }
    lineEnd = end;
    if (newline === -1) break;
    position = newline + 1;
  }
  if (paragraph >= minimum) return paragraph;
  if (lineEnd >= minimum) return lineEnd;
  const space = text.lastIndexOf(" ", maximum);
  if (space >= minimum) return space;
  // Never split a surrogate pair (an emoji) in two.
  const code = text.charCodeAt(maximum - 1);
  return code >= 0xd800 && code <= 0xdbff ? maximum - 1 : maximum;
}

/** The opening fence line (for example "```ts") when `index` lies inside a fenced code block. */
export function openFenceAt(text: string, index: number): string | undefined {
  let open: string | undefined;
  let position = 0;
  while (position < index) {
    const newline = text.indexOf("\n", position);
    const end = newline === -1 ? text.length : newline;
    // A fence line only counts once it is complete before the cut.
    if (end > index) break;
    const line = text.slice(position, end);
    if (FENCE_LINE.test(line)) open = open === undefined ? line.trim() : undefined;
    if (newline === -1) break;
    position = newline + 1;
  }
  return open;
}
