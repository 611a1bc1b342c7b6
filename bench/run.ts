/**
 * `npm run bench -- <name> [args]` runs `bench/<name>.ts`, whose `main(args)` prints its figures.
 * With no name it lists the benchmarks.
 */
import { readdirSync } from "node:fs";

const [name, ...args] = process.argv.slice(2);
const available = readdirSync(import.meta.dirname)
  .filter((file) => file.endsWith(".ts") && !["run.ts", "eval.ts"].includes(file) && !file.startsWith("_"))
  .map((file) => file.replace(/\.ts$/, ""));

if (!name || !available.includes(name)) {
  console.log(`usage: npm run bench -- <${available.join("|")}> [options]`);
  process.exit(name ? 2 : 0);
}

const module = (await import(`./${name}.ts`)) as { main: (args: string[]) => Promise<void> };
try {
  await module.main(args);
} catch (error) {
  // A person reads this: the cause in a sentence; the stack only when asked for.
  console.error(`${name}: ${error instanceof Error ? error.message : String(error)}`);
  if (process.env.LOG_LEVEL === "debug" && error instanceof Error) console.error(error.stack);
  process.exit(1);
}
