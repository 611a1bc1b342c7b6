import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

/**
 * A function in `src/` longer than this many lines needs a reason, written in a comment just above it
 * that says `Kept long:` and why. Long functions are where closures grow state and tests lose their grip;
 * the limit is a prompt to find the seam, not a rule to obey by slicing.
 */
const MOST_LINES = 120;
const REASON = /Kept long:/;

const SRC = resolve(import.meta.dirname, "../../src");

function sourceFiles(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

/** The comments standing before a function, or before the declaration or property it is the value of. */
function leadingComments(node: ts.Node, text: string): string {
  let holder: ts.Node = node;
  while (
    holder.parent &&
    (ts.isVariableDeclaration(holder.parent) ||
      ts.isVariableDeclarationList(holder.parent) ||
      ts.isVariableStatement(holder.parent) ||
      ts.isPropertyAssignment(holder.parent) ||
      ts.isExportAssignment(holder.parent) ||
      ts.isCallExpression(holder.parent))
  ) {
    holder = holder.parent;
  }
  const ranges = ts.getLeadingCommentRanges(text, holder.getFullStart()) ?? [];
  return ranges.map((range) => text.slice(range.pos, range.end)).join("\n");
}

/** `file:line name (N lines)` for each function over the limit without a reason. */
function unexplainedLongFunctions(fileName: string, text: string, mostLines = MOST_LINES): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && "body" in node && node.body) {
      const first = source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
      const last = source.getLineAndCharacterOfPosition(node.end).line + 1;
      const lines = last - first + 1;
      if (lines > mostLines && !REASON.test(leadingComments(node, text))) {
        const name = node.name?.getText(source) ?? "(anonymous)";
        found.push(`${fileName}:${first} ${name} (${lines} lines)`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe("functions in src/", () => {
  it(`are at most ${MOST_LINES} lines, or say why they are longer`, () => {
    const offenders = sourceFiles(SRC).flatMap((path) =>
      unexplainedLongFunctions(relative(SRC, path), readFileSync(path, "utf8")),
    );
    expect(offenders).toEqual([]);
  });

  it("the check catches a long function and accepts a stated reason (so it can fail)", () => {
    const body = Array.from({ length: 5 }, (_, index) => `  const v${index} = ${index};`).join("\n");
    const long = `export function tooLong() {\n${body}\n}\n`;
    expect(unexplainedLongFunctions("a.ts", long, 4)).toEqual(["a.ts:1 tooLong (7 lines)"]);
    const arrow = `const tooLong = () => {\n${body}\n};\n`;
    expect(unexplainedLongFunctions("a.ts", arrow, 4)).toEqual(["a.ts:1 (anonymous) (7 lines)"]);
    const explained = `// Kept long: one table reads best in one place.\nexport function tooLong() {\n${body}\n}\n`;
    expect(unexplainedLongFunctions("a.ts", explained, 4)).toEqual([]);
    expect(unexplainedLongFunctions("a.ts", long, 7)).toEqual([]);
  });
});
