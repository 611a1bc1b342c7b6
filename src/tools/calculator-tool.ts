import type { MathNode } from "mathjs";
import { z } from "zod";
import type { Tool } from "../core/ports/tool.js";

/**
 * Functions the calculator accepts, by name. Anything else is refused before evaluation. Left out on
 * purpose: everything that parses or compiles text (`evaluate`, `parse`, `compile`, `simplify`,
 * `derivative`, `resolve`), everything that changes the instance (`import`, `createUnit`, `config`),
 * matrix builders that can allocate without bound (`zeros`, `ones`, `range`, …), and integer
 * functions whose running time grows with their argument (`combinations`, `permutations`, `isPrime`).
 */
const ALLOWED_FUNCTIONS = new Set([
  "abs",
  "acos",
  "acosh",
  "asin",
  "asinh",
  "atan",
  "atan2",
  "atanh",
  "cbrt",
  "ceil",
  "cos",
  "cosh",
  "cot",
  "csc",
  "exp",
  "expm1",
  "factorial",
  "fix",
  "floor",
  "gcd",
  "hypot",
  "lcm",
  "log",
  "log10",
  "log1p",
  "log2",
  "max",
  "mean",
  "median",
  "min",
  "mod",
  "nthRoot",
  "pow",
  "prod",
  "round",
  "sec",
  "sign",
  "sin",
  "sinh",
  "sqrt",
  "std",
  "sum",
  "tan",
  "tanh",
  "variance",
]);

const ALLOWED_CONSTANTS = new Set(["pi", "e", "tau", "phi", "i", "Infinity", "NaN", "true", "false"]);

/** mathjs node types that can appear in a plain arithmetic expression. */
const ALLOWED_NODE_TYPES = new Set([
  "ConstantNode",
  "SymbolNode",
  "OperatorNode",
  "ParenthesisNode",
  "FunctionNode",
  "ConditionalNode",
  "ArrayNode",
]);

const MAX_EXPRESSION_LENGTH = 300;
/** factorial(n) above this is Infinity anyway in double precision, but mathjs would grind through it first. */
const MAX_FACTORIAL_ARGUMENT = 170;

const input = z.object({
  expression: z
    .string()
    .trim()
    .min(1)
    .max(MAX_EXPRESSION_LENGTH)
    .describe(
      'An arithmetic expression, e.g. "(17.5 * 12) / 7", "sqrt(2) ^ 3", "5 km to mile", "sin(30 deg)".',
    ),
});

/**
 * A sandboxed mathjs instance. Locked down in three layers:
 * 1. an own instance (`create(all)`), so nothing done here touches any other mathjs user;
 * 2. in that instance, the functions the mathjs security guide names as risky (`import`,
 *    `createUnit`, `evaluate`, `parse`, `simplify`, `derivative`) plus `compile`, `resolve` and
 *    `reviver` are replaced by functions that throw, and `factorial` refuses huge arguments;
 * 3. every expression is parsed (with a `parse` reference taken before step 2) and its syntax tree
 *    is checked before it is compiled: no assignments, no function definitions, no property or
 *    index access, no objects, ranges or blocks, no strings, only allowlisted function names, and
 *    only known constants or unit names as symbols. No `eval` or `new Function` is involved: mathjs
 *    interprets the tree.
 */
async function createSandbox() {
  // mathjs takes over a second to load, so it is loaded on the first calculation, not at start-up.
  const { all, create } = await import("mathjs");
  // Typed as optional by mathjs's declarations, but always present in the full build.
  if (!all) throw new Error("mathjs did not export its function set");
  const math = create(all);
  const parse = math.parse;
  const factorial = math.factorial;
  const refuse = (name: string) => () => {
    throw new Error(`${name} is disabled in the calculator`);
  };
  math.import(
    {
      import: refuse("import"),
      createUnit: refuse("createUnit"),
      evaluate: refuse("evaluate"),
      parse: refuse("parse"),
      compile: refuse("compile"),
      simplify: refuse("simplify"),
      derivative: refuse("derivative"),
      resolve: refuse("resolve"),
      reviver: refuse("reviver"),
      factorial: (value: unknown) => {
        if (typeof value === "number" && value > MAX_FACTORIAL_ARGUMENT) return Number.POSITIVE_INFINITY;
        return factorial(value as number);
      },
    },
    { override: true },
  );

  function check(root: MathNode): void {
    root.traverse((node) => {
      if (!ALLOWED_NODE_TYPES.has(node.type)) throw new Error(`${describeNode(node.type)} is not allowed`);
      if (math.isConstantNode(node) && typeof node.value !== "number") {
        throw new Error("only numbers are allowed as values");
      }
      if (math.isFunctionNode(node)) {
        const name = math.isSymbolNode(node.fn) ? node.fn.name : undefined;
        if (!name || !ALLOWED_FUNCTIONS.has(name))
          throw new Error(`the function ${name ?? "(computed)"} is not allowed`);
      }
      if (math.isSymbolNode(node) && !ALLOWED_FUNCTIONS.has(node.name) && !ALLOWED_CONSTANTS.has(node.name)) {
        if (!math.Unit.isValuelessUnit(node.name)) throw new Error(`unknown name "${node.name}"`);
      }
    });
  }

  return (expression: string): string => {
    const tree = parse(expression);
    check(tree);
    const result: unknown = tree.compile().evaluate(new Map());
    if (typeof result === "function") throw new Error("the expression does not compute a value");
    return math.format(result, { precision: 14, lowerExp: -9, upperExp: 21 });
  };
}

let sandbox: Promise<(expression: string) => string> | undefined;

/** Evaluates an arithmetic expression in the locked-down instance; rejects with a reason when refused. */
export async function calculate(expression: string): Promise<string> {
  if (expression.length > MAX_EXPRESSION_LENGTH) throw new Error("the expression is too long");
  sandbox ??= createSandbox();
  return (await sandbox)(expression);
}

/** `calculator`: exact arithmetic, unit conversion and common functions, without running code. */
export function createCalculatorTool(): Tool<z.output<typeof input>> {
  return {
    name: "calculator",
    description:
      "Evaluate an arithmetic expression exactly (numbers, + - * / ^ %, parentheses, sqrt, log, sin, mean, " +
      "round…, constants pi and e, unit conversion like '5 km to mile'). Use it instead of doing arithmetic yourself.",
    inputSchema: input,
    risk: "read",
    timeoutMs: 2_000,
    async execute({ expression }) {
      try {
        return `${expression} = ${await calculate(expression)}`;
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new Error(`Cannot evaluate "${expression}": ${reason}.`);
      }
    },
  };
}

function describeNode(type: string): string {
  switch (type) {
    case "AssignmentNode":
      return "assignment";
    case "FunctionAssignmentNode":
      return "defining a function";
    case "AccessorNode":
    case "IndexNode":
      return "property or index access";
    case "ObjectNode":
      return "an object";
    case "RangeNode":
      return "a range";
    case "BlockNode":
      return "more than one expression";
    default:
      return type;
  }
}
