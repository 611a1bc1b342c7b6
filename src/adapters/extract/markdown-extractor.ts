/** Text and the title found in it, if any; callers fall back to a file name. */
export interface ExtractedText {
  title: string | undefined;
  text: string;
}

const FRONT_MATTER = /^---\r?\n([\s\S]*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|$)/;
const FENCE = /^\s{0,3}(```|~~~)/;

function frontMatterTitle(frontMatter: string): string | undefined {
  const match = /^title:\s*(.+?)\s*$/m.exec(frontMatter);
  return match?.[1]?.replace(/^(["'])(.*)\1$/, "$2").trim() || undefined;
}

function firstHeading(lines: readonly string[]): string | undefined {
  let inFence = false;
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index] ?? "";
    if (FENCE.test(line)) inFence = !inFence;
    if (inFence) continue;
    const atx = /^\s{0,3}#\s+(.+?)\s*#*\s*$/.exec(line);
    if (atx?.[1]) return atx[1].trim();
    // Setext: a line of text underlined with `===`.
    const next = lines[index + 1] ?? "";
    if (line.trim() !== "" && /^\s{0,3}=+\s*$/.test(next)) return line.trim();
  }
  return undefined;
}

/**
 * Markdown stays Markdown (the chunker follows its headings). YAML front matter is metadata, not
 * prose: it is dropped from the text and its `title:` used. Otherwise the title is the first level-one
 * heading outside code fences.
 */
export function extractMarkdown(source: string): ExtractedText {
  const normalized = source.replace(/\r\n?/g, "\n");
  const frontMatter = FRONT_MATTER.exec(normalized);
  const body = frontMatter ? normalized.slice(frontMatter[0].length) : normalized;
  const title =
    (frontMatter?.[1] ? frontMatterTitle(frontMatter[1]) : undefined) ?? firstHeading(body.split("\n"));
  return { title, text: body.replace(/[ \t]+$/gm, "").trim() };
}
