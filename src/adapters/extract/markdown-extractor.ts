import { normalizeNewlines, trimBlankEnd, trimLineEnds } from "./text-cleanup.js";

/** Text and the title found in it, if any; callers fall back to a file name. */
export interface ExtractedText {
  title: string | undefined;
  text: string;
}

const FRONT_MATTER = /^---\r?\n([\s\S]*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|$)/;
const FENCE = /^\s{0,3}(```|~~~)/;

function frontMatterTitle(frontMatter: string): string | undefined {
  // Every regular expression here is linear: a greedy run to the end of one line, trimmed by hand after.
  const match = /^title:[ \t]*(.*)$/m.exec(frontMatter);
  return (
    match?.[1]
      ?.trim()
      .replace(/^(["'])(.*)\1$/, "$2")
      .trim() || undefined
  );
}

/**
 * The text of an ATX heading of level one (`# Title`, `# Title #`), or undefined. By hand rather than
 * `/^\s{0,3}#\s+(.+?)\s*#*\s*$/`, whose overlapping runs are cubic in the line's length: a heading of
 * 8,000 spaces took 105 s.
 */
function atxTitle(line: string): string | undefined {
  const opening = /^ {0,3}#[ \t]+/.exec(line);
  if (!opening) return undefined;
  let end = trimBlankEnd(line).length;
  while (end > opening[0].length && line.charCodeAt(end - 1) === 0x23) end -= 1;
  return line.slice(opening[0].length, end).replace(/\s+/g, " ").trim() || undefined;
}

/** A setext underline of a level-one heading: up to three spaces, `=` signs, blanks. */
function isSetextUnderline(line: string): boolean {
  const trimmed = trimBlankEnd(line);
  const start = trimmed.length - trimmed.trimStart().length;
  if (start > 3 || start === trimmed.length) return false;
  for (let index = start; index < trimmed.length; index += 1) if (trimmed[index] !== "=") return false;
  return true;
}

function firstHeading(lines: readonly string[]): string | undefined {
  let inFence = false;
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index] ?? "";
    if (FENCE.test(line)) inFence = !inFence;
    if (inFence) continue;
    const atx = atxTitle(line);
    if (atx) return atx;
    // Setext: a line of text underlined with `===`.
    if (line.trim() !== "" && isSetextUnderline(lines[index + 1] ?? ""))
      return line.replace(/\s+/g, " ").trim();
  }
  return undefined;
}

/**
 * Markdown stays Markdown (the chunker follows its headings). YAML front matter is metadata, not
 * prose: it is dropped from the text and its `title:` used. Otherwise the title is the first level-one
 * heading outside code fences.
 */
export function extractMarkdown(source: string): ExtractedText {
  const normalized = normalizeNewlines(source);
  const frontMatter = FRONT_MATTER.exec(normalized);
  const body = frontMatter ? normalized.slice(frontMatter[0].length) : normalized;
  const title =
    (frontMatter?.[1] ? frontMatterTitle(frontMatter[1]) : undefined) ?? firstHeading(body.split("\n"));
  return { title, text: trimLineEnds(body).trim() };
}
