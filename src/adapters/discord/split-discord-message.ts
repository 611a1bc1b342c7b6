/** Discord rejects message `content` longer than this (the docs; the preview spec says 4000). */
export const DISCORD_MESSAGE_LIMIT = 2000;

const FENCE = /^\s*(`{3,}|~{3,})(.*)$/;

interface Block {
  /** Whitespace that separated this block from the previous one in the original text. */
  separator: string;
  text: string;
  /** Set for fenced code blocks: the opening fence line and the closing fence marker. */
  code?: { opening: string; closing: string; body: string[] };
}

/**
 * Splits Markdown into pieces of at most `limit` characters, preferring paragraph and code-block
 * boundaries. A code block is never cut open: when one block alone is too long it is closed at the
 * end of a piece and reopened (same fence and language) at the start of the next, so every piece
 * renders on its own. Order is preserved; joining the pieces loses only the whitespace at the cuts.
 */
export function splitDiscordMessage(text: string, limit = DISCORD_MESSAGE_LIMIT): string[] {
  if (text.length <= limit) return text.length === 0 ? [] : [text];
  const pieces: Array<{ separator: string; text: string }> = [];
  for (const block of parseBlocks(text)) {
    const parts = block.code ? splitCodeBlock(block.code, limit) : splitProse(block.text, limit);
    parts.forEach((part, index) => {
      pieces.push({ separator: index === 0 ? block.separator : "\n", text: part });
    });
  }
  const messages: string[] = [];
  let current = "";
  for (const piece of pieces) {
    if (current === "") {
      current = piece.text;
    } else if (current.length + piece.separator.length + piece.text.length <= limit) {
      current += piece.separator + piece.text;
    } else {
      messages.push(current);
      current = piece.text;
    }
  }
  if (current.trim() !== "") messages.push(current);
  return messages.filter((message) => message.trim() !== "");
}

function parseBlocks(text: string): Block[] {
  const lines = text.split("\n");
  const blocks: Block[] = [];
  let separator = "";
  let prose: string[] = [];
  const flushProse = () => {
    if (prose.length === 0) return;
    blocks.push({ separator, text: prose.join("\n") });
    separator = "\n";
    prose = [];
  };
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index] ?? "";
    const fence = FENCE.exec(line);
    if (fence) {
      flushProse();
      const marker = fence[1] ?? "```";
      const body: string[] = [];
      let closed = false;
      for (index++; index < lines.length; index++) {
        const inner = lines[index] ?? "";
        if (inner.trim().startsWith(marker) && inner.trim().replace(/[`~]/g, "") === "") {
          closed = true;
          break;
        }
        body.push(inner);
      }
      const closing = marker;
      blocks.push({
        separator,
        text: [line, ...body, ...(closed ? [lines[index] ?? closing] : [])].join("\n"),
        code: { opening: line, closing, body },
      });
      separator = "\n";
      continue;
    }
    if (line.trim() === "") {
      flushProse();
      separator = separator === "" && blocks.length === 0 ? "" : "\n\n";
      continue;
    }
    prose.push(line);
  }
  flushProse();
  return blocks;
}

function splitCodeBlock(code: { opening: string; closing: string; body: string[] }, limit: number): string[] {
  const whole = [code.opening, ...code.body, code.closing].join("\n");
  if (whole.length <= limit) return [whole];
  // Room for the body once the fence lines and their newlines are counted.
  const room = limit - code.opening.length - code.closing.length - 2;
  if (room < 20) return hardSplit(whole, limit);
  const parts: string[] = [];
  let current: string[] = [];
  let size = 0;
  const flush = () => {
    if (current.length === 0) return;
    parts.push([code.opening, ...current, code.closing].join("\n"));
    current = [];
    size = 0;
  };
  for (const line of code.body) {
    for (const segment of line.length <= room ? [line] : hardSplit(line, room)) {
      const added = (current.length === 0 ? 0 : 1) + segment.length;
      if (size + added > room) flush();
      size += (current.length === 0 ? 0 : 1) + segment.length;
      current.push(segment);
    }
  }
  flush();
  return parts;
}

function splitProse(text: string, limit: number): string[] {
  if (text.length <= limit) return [text];
  const parts: string[] = [];
  let current = "";
  for (const line of text.split("\n")) {
    for (const segment of line.length <= limit ? [line] : splitAtWords(line, limit)) {
      if (current === "") current = segment;
      else if (current.length + 1 + segment.length <= limit) current += `\n${segment}`;
      else {
        parts.push(current);
        current = segment;
      }
    }
  }
  if (current !== "") parts.push(current);
  return parts;
}

function splitAtWords(line: string, limit: number): string[] {
  const parts: string[] = [];
  let rest = line;
  while (rest.length > limit) {
    const space = rest.lastIndexOf(" ", limit);
    const cut = space > limit / 2 ? space : limit;
    parts.push(rest.slice(0, cut));
    rest = rest.slice(cut).trimStart();
  }
  if (rest !== "") parts.push(rest);
  return parts;
}

function hardSplit(text: string, size: number): string[] {
  const parts: string[] = [];
  for (let start = 0; start < text.length; start += size) parts.push(text.slice(start, start + size));
  return parts;
}
