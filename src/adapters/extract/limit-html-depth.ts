import { Tokenizer } from "htmlparser2";

/** Deeper than any page a person writes; shallow enough that html-to-text's walk of it stays fast. */
const MAX_HTML_DEPTH = 128;

// htmlparser2's rules for elements that close others when they open, and for void elements, so the depth
// counted here is the depth html-to-text's parser will build from the output.
const P = new Set(["p"]);
const FORM = new Set(["input", "option", "optgroup", "select", "button", "datalist", "textarea"]);
const IMPLIES_CLOSE = new Map<string, ReadonlySet<string>>([
  ["tr", new Set(["tr", "th", "td"])],
  ["th", new Set(["th"])],
  ["td", new Set(["thead", "th", "td"])],
  ["body", new Set(["head", "link", "script"])],
  ["li", new Set(["li"])],
  ["option", new Set(["option"])],
  ["optgroup", new Set(["optgroup", "option"])],
  ["dd", new Set(["dd", "dt"])],
  ["dt", new Set(["dd", "dt"])],
  ["rt", new Set(["rt", "rp"])],
  ["rp", new Set(["rt", "rp"])],
  ["tbody", new Set(["thead", "tbody"])],
  ["tfoot", new Set(["thead", "tbody"])],
  ...["select", "input", "output", "button", "datalist", "textarea"].map(
    (name) => [name, FORM] as [string, ReadonlySet<string>],
  ),
  ...[
    ..."h1 h2 h3 h4 h5 h6 p address article aside blockquote details div dl fieldset figcaption".split(" "),
    ..."figure footer form header hr main nav ol pre section table ul".split(" "),
  ].map((name) => [name, P] as [string, ReadonlySet<string>]),
]);
const VOID = new Set(
  "area base basefont br col command embed frame hr img input isindex keygen link meta param source track wbr".split(
    " ",
  ),
);

/**
 * The same HTML with elements nested deeper than `maxDepth` unwrapped: their text stays, their tags go.
 *
 * html-to-text's parser (htmlparser2's `Parser`) keeps its open elements with `Array.unshift`, and its
 * walk recurses per level, so nesting is quadratic: 150,000 nested `<div>`s took 12.7 s and 1,000,000 over
 * 250 s. This pass uses htmlparser2's `Tokenizer` alone (linear) with a stack of its own, copies kept tags
 * and text exactly as written (entities untouched), writes every close tag explicitly, and drops comments,
 * doctypes and processing instructions. Its output is at most `maxDepth` deep, and html-to-text reads it fast.
 */
export function limitHtmlDepth(html: string, maxDepth = MAX_HTML_DEPTH): string {
  const output: string[] = [];
  // Open elements, innermost last: name and whether their tags were kept.
  const names: string[] = [];
  const keptFlags: boolean[] = [];
  // How many elements of each name are open, so a stray close tag costs O(1) instead of a stack search.
  const openByName = new Map<string, number>();
  let kept = 0;
  let tagStart = 0;
  let tagName = "";

  const pop = () => {
    const name = names.pop() as string;
    openByName.set(name, (openByName.get(name) ?? 1) - 1);
    if (keptFlags.pop()) {
      kept -= 1;
      output.push(`</${name}>`);
    }
  };
  const open = (selfClosing: boolean, endIndex: number) => {
    const implied = IMPLIES_CLOSE.get(tagName);
    while (implied && names.length > 0 && implied.has(names[names.length - 1] as string)) pop();
    const keep = kept < maxDepth;
    if (keep) output.push(`${html.slice(tagStart, endIndex - (selfClosing ? 1 : 0))}>`);
    if (VOID.has(tagName)) return;
    if (selfClosing) {
      if (keep) output.push(`</${tagName}>`);
      return;
    }
    names.push(tagName);
    keptFlags.push(keep);
    openByName.set(tagName, (openByName.get(tagName) ?? 0) + 1);
    if (keep) kept += 1;
  };

  const tokenizer = new Tokenizer(
    { decodeEntities: false },
    {
      onopentagname(start, endIndex) {
        tagStart = start - 1;
        tagName = html.slice(start, endIndex).toLowerCase();
      },
      onopentagend(endIndex) {
        open(false, endIndex);
      },
      onselfclosingtag(endIndex) {
        open(true, endIndex);
      },
      onclosetag(start, endIndex) {
        const name = html.slice(start, endIndex).toLowerCase();
        if ((openByName.get(name) ?? 0) === 0) return;
        while (names.length > 0 && names[names.length - 1] !== name) pop();
        pop();
      },
      ontext(start, endIndex) {
        output.push(html.slice(start, endIndex));
      },
      ontextentity() {},
      onattribdata() {},
      onattribentity() {},
      onattribend() {},
      onattribname() {},
      oncdata() {},
      oncomment() {},
      ondeclaration() {},
      onprocessinginstruction() {},
      onend() {},
    },
  );
  tokenizer.write(html);
  tokenizer.end();
  while (names.length > 0) pop();
  return output.join("");
}
