// Any of the six sentence marks; `sentenceSpans` decides by the character after it.
const SENTENCE_MARK = /[.!?。！？]/g;

/**
 * Where a paragraph splits into sentences: exactly the pieces of
 * `paragraph.split(/(?<=[.!?])\s+|(?<=[。！？])/u)`, as flat `[start, end)` pairs in order (the text
 * between one piece's end and the next one's start is the white space the split dropped, or nothing
 * after a CJK mark).
 *
 * Hand-written because the expression was a tenth of chunking SciFact (36 of ~290 ms a warm pass): V8
 * tries its two lookbehinds at every position of the paragraph. Here a plain character class finds the
 * next sentence mark (irregexp scans for it in native code, about three times faster than a `charCodeAt`
 * loop over the same text), and only there is the character after it looked at. The expression stays in
 * the tests as the reference.
 *
 * Why it is exact: the six marks and every white-space character are single UTF-16 units outside the
 * surrogate range, so the `u` flag's code-point steps change nothing (a cut never falls inside a pair,
 * whose first half is no mark); `split` tries no match at the end of the string, and a zero-width match
 * at the start of the current piece (right after a CJK cut) is skipped, which a scan that moves on after
 * each cut never meets.
 */
export function sentenceSpans(paragraph: string): number[] {
  const spans: number[] = [];
  const length = paragraph.length;
  let start = 0;
  SENTENCE_MARK.lastIndex = 0;
  while (SENTENCE_MARK.test(paragraph)) {
    const cut = SENTENCE_MARK.lastIndex;
    if (cut >= length) break;
    if (paragraph.charCodeAt(cut - 1) < 0x80) {
      // . ! ? end a sentence only before white space, which the cut drops.
      if (!isWhiteSpace(paragraph.charCodeAt(cut))) continue;
      // The white space after the mark (at `cut`, checked above) and any that follows. The step is taken
      // for every sentence: taken only after a second blank, it had no type feedback when this was
      // optimized, and the first double space deoptimized the chunker around it (--trace-deopt).
      let end = cut;
      do {
        end++;
      } while (end < length && isWhiteSpace(paragraph.charCodeAt(end)));
      spans.push(start, cut);
      start = end;
      SENTENCE_MARK.lastIndex = end;
    } else {
      // 。！？ end a sentence where they stand.
      spans.push(start, cut);
      start = cut;
    }
  }
  spans.push(start, length);
  return spans;
}

/** JavaScript's `\s` (and what `trim` removes): white space and line terminators. */
function isWhiteSpace(code: number): boolean {
  if (code <= 0x20) return code === 0x20 || (code >= 0x09 && code <= 0x0d);
  if (code < 0xa0) return false;
  return (
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
}
