import { stemmer } from "stemmer";
import { ENGLISH_STOPWORDS } from "./english-stopwords.js";

/**
 * The one text analyzer for BM25, used for documents and queries alike so that every store computes
 * the same sparse vectors.
 *
 * - NFKC folds compatibility forms (full-width Latin, ligatures, circled digits) before lower-casing.
 * - Words are runs of letters, marks and digits; hyphens and other punctuation split them.
 * - English: possessive `'s` dropped, stopwords removed, Porter stemming (`stemmer`).
 * - Numbers are kept; thousands separators are dropped so `9,000` and `9000` agree.
 * - Hangul, Han and Kana have no reliable spaces between words (Korean attaches particles to nouns),
 *   so each run of those scripts becomes overlapping character bigrams, which match compounds and
 *   stems without a dictionary. A single-character run is kept as a unigram.
 *
 * Hand-written because no maintained JavaScript library combines Unicode-aware segmentation with
 * CJK n-grams and English stemming in one small, dependency-free pass.
 */
export function analyze(text: string): string[] {
  const terms: string[] = [];
  // ASCII text is already in NFKC and has no CJK, so the Unicode-class regex (the costly part of
  // analysis) can give way to an equivalent ASCII one: same tokens, several times faster.
  if (isAscii(text)) {
    for (const token of text.toLowerCase().match(ASCII_TOKEN_PATTERN) ?? []) addWord(token, terms);
    return terms;
  }
  const normalized = text.normalize("NFKC").toLowerCase();
  for (const token of normalized.match(TOKEN_PATTERN) ?? []) {
    if (mayContainCjk(token) && CJK_CHARACTER.test(token)) {
      splitByScript(token, terms);
    } else {
      addWord(token, terms);
    }
  }
  return terms;
}

// A word: letters/marks/digits, with inner apostrophes; or a number with inner separators.
const TOKEN_PATTERN = /\p{N}+(?:[.,]\p{N}+)*|[\p{L}\p{M}\p{N}]+(?:['’][\p{L}\p{M}\p{N}]+)*/gu;
// TOKEN_PATTERN restricted to ASCII: the same alternatives in the same order.
const ASCII_TOKEN_PATTERN = /[0-9]+(?:[.,][0-9]+)*|[a-z0-9]+(?:'[a-z0-9]+)*/g;
// Script_Extensions, so that marks shared by these scripts (the Katakana length mark ー, 々) stay in the run.
const CJK_CHARACTER = /[\p{scx=Hangul}\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}]/u;
const NUMBER = /^\p{N}+(?:[.,]\p{N}+)*$/u;

function isAscii(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    if (text.charCodeAt(index) > 0x7f) return false;
  }
  return true;
}

// Every CJK script sits at or above U+1100 (Hangul Jamo); a cheap scan spares the regex for Latin text.
function mayContainCjk(token: string): boolean {
  for (let index = 0; index < token.length; index++) {
    if (token.charCodeAt(index) >= 0x1100) return true;
  }
  return false;
}

function splitByScript(token: string, terms: string[]): void {
  let run = "";
  let runIsCjk = false;
  for (const character of token) {
    const isCjk = CJK_CHARACTER.test(character);
    if (run.length > 0 && isCjk !== runIsCjk) {
      if (runIsCjk) addCjkRun(run, terms);
      else addWord(run, terms);
      run = "";
    }
    run += character;
    runIsCjk = isCjk;
  }
  if (run.length === 0) return;
  if (runIsCjk) addCjkRun(run, terms);
  else addWord(run, terms);
}

function addCjkRun(run: string, terms: string[]): void {
  const characters = [...run];
  if (characters.length === 1) {
    terms.push(run);
    return;
  }
  for (let index = 0; index + 1 < characters.length; index++) {
    terms.push(`${characters[index]}${characters[index + 1]}`);
  }
}

// Word forms repeat heavily across chunks, and stemming is the costly step of analysis.
const wordCache = new Map<string, string | null>();
const WORD_CACHE_LIMIT = 200_000;

function addWord(word: string, terms: string[]): void {
  let term = wordCache.get(word);
  if (term === undefined) {
    term = analyzeWord(word);
    if (wordCache.size >= WORD_CACHE_LIMIT) wordCache.clear();
    wordCache.set(word, term);
  }
  if (term !== null) terms.push(term);
}

function analyzeWord(word: string): string | null {
  if (NUMBER.test(word)) return word.replaceAll(",", "");
  let folded = word.replaceAll("’", "'");
  if (folded.endsWith("'s")) folded = folded.slice(0, -2);
  folded = folded.replaceAll("'", "");
  if (folded.length === 0 || ENGLISH_STOPWORDS.has(folded)) return null;
  return /^[a-z]+$/.test(folded) ? stemmer(folded) : folded;
}
