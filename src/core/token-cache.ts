import type { ChatMessage } from "./ports/llm-provider.js";
import { countTokens, MESSAGE_OVERHEAD_TOKENS, ownCopy } from "./tokens.js";

/** Distinct texts remembered; past it the oldest are forgotten (a map keeps insertion order). */
const REMEMBERED_TEXTS = 4_096;
// Texts longer than this are counted every time rather than kept (a pasted log would crowd the rest).
const LONGEST_REMEMBERED = 16_384;

/**
 * Token counts of texts seen recently, so a message encodes only its new text: the question is
 * counted once for truncation and for its stored turn, the answer once for usage and for its turn,
 * and a prompt's history lines, persona, notes and summary come from the cache on every later message.
 * Counts already known (a turn's or a chunk's stored count) can be handed in with `remember`.
 */
export class TokenCache {
  private readonly counts = new Map<string, number>();

  constructor(private readonly encodeAndCount: (text: string) => number = countTokens) {}

  count(text: string): number {
    const known = this.counts.get(text);
    if (known !== undefined) return known;
    const counted = this.encodeAndCount(text);
    this.remember(text, counted);
    return counted;
  }

  /**
   * `count` without keeping the text: for a text of one prompt only (a passage's tag line, unlikely
   * to come again), which would outlive its message in the cache and crowd out the thread's lines.
   */
  countOnce(text: string): number {
    return this.counts.get(text) ?? this.encodeAndCount(text);
  }

  remember(text: string, tokens: number): void {
    if (text.length > LONGEST_REMEMBERED || this.counts.has(text)) return;
    if (this.counts.size >= REMEMBERED_TEXTS) {
      const oldest = this.counts.keys().next().value;
      if (oldest !== undefined) this.counts.delete(oldest);
    }
    // A line split from a prompt is a view into the whole prompt, which it would keep alive.
    this.counts.set(ownCopy(text), tokens);
  }

  /**
   * An upper bound of the tokens of chat messages: each message's lines are counted apiece (most come
   * from the cache) plus the newlines between them. Byte-pair encoding never merges across a cut into
   * fewer tokens than the pieces, so the sum is never below the real count and budgets stay safe.
   *
   * `known` holds counts of this prompt's own texts (its passages' stored counts): consulted first and
   * not kept, so a prompt's passages do not crowd out the thread's lines nor outlive the message.
   * `inOrder` lists texts of `known` in the order they stand as lines of the prompt: a line that is
   * the next of them (or the one after it) is compared where it stands instead of being cut out and
   * hashed for the lookup, which for passages was most of the prompt's characters read twice.
   */
  messages(
    messages: readonly ChatMessage[],
    known?: ReadonlyMap<string, number>,
    inOrder: readonly string[] = [],
  ): number {
    const newline = this.count("\n");
    let total = 0;
    let next = 0;
    for (const message of messages) {
      const content = message.content ?? "";
      total += MESSAGE_OVERHEAD_TOKENS;
      let start = 0;
      for (;;) {
        const cut = content.indexOf("\n", start);
        const end = cut < 0 ? content.length : cut;
        if (end > start) {
          const skipped = this.#placedText(content, start, end, inOrder, next);
          if (skipped >= 0) {
            // The line is this text: counted as the lookup of the line would count it.
            const text = inOrder[next + skipped] as string;
            total += known?.get(text) ?? this.count(text);
            next += skipped + 1;
          } else {
            const line = content.slice(start, end);
            total += known?.get(line) ?? this.count(line);
          }
        }
        if (cut < 0) break;
        total += newline;
        start = cut + 1;
      }
    }
    return total;
  }

  /** 0 when the line [start, end) is `inOrder[next]`, 1 when it is the one after, else -1. */
  #placedText(content: string, start: number, end: number, inOrder: readonly string[], next: number): number {
    for (let skipped = 0; skipped < 2; skipped++) {
      const text = inOrder[next + skipped];
      if (text !== undefined && text.length === end - start && content.startsWith(text, start))
        return skipped;
    }
    return -1;
  }
}
