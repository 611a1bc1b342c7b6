import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * What `src/core` may import: its own files, a few Node built-ins that touch no network, disk or process,
 * and small pure libraries. Everything else (vendor SDKs, drivers, `src/adapters`, the composition roots)
 * reaches core through a port. An allow list: a new import fails here until someone decides it belongs.
 */
const ALLOWED_PACKAGES = [
  "node:crypto",
  "node:events",
  "node:timers/promises",
  "node:async_hooks",
  "zod",
  "stemmer",
  "p-limit",
  "gpt-tokenizer",
  // Its block lexer only (the syntax tree the Markdown splitter reads); no rendering, no I/O.
  "marked",
];

const CORE = resolve(import.meta.dirname, "../../src/core");

function sourceFiles(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

function importedModules(source: string): string[] {
  const pattern =
    /(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|import\s*\(\s*["']([^"']+)["']\s*\)|import\s+["']([^"']+)["']/g;
  return [...source.matchAll(pattern)].map((match) => match[1] ?? match[2] ?? match[3] ?? "");
}

/** The imports of one file of `src/core` (at `path`) that the allow list does not admit. */
function disallowedImports(path: string, source: string): string[] {
  return importedModules(source).filter((module) => {
    if (module.startsWith(".")) {
      const target = resolve(dirname(path), module);
      return target !== CORE && !target.startsWith(`${CORE}/`);
    }
    return !ALLOWED_PACKAGES.some((allowed) => module === allowed || module.startsWith(`${allowed}/`));
  });
}

describe("src/core", () => {
  it("imports only its own files and the allowed built-ins and pure libraries", () => {
    const offenders = sourceFiles(CORE).flatMap((path) =>
      disallowedImports(path, readFileSync(path, "utf8")).map(
        (module) => `${relative(CORE, path)} imports ${module}`,
      ),
    );
    expect(offenders).toEqual([]);
  });

  it("the check catches what it must (so it can fail)", () => {
    const file = join(CORE, "chains/example.ts");
    expect(disallowedImports(file, `import OpenAI from "openai";`)).toEqual(["openai"]);
    expect(disallowedImports(file, `import { App } from "@slack/bolt";`)).toEqual(["@slack/bolt"]);
    expect(disallowedImports(file, `const m = await import("bullmq");`)).toEqual(["bullmq"]);
    expect(disallowedImports(file, `export { Redis } from "ioredis";`)).toEqual(["ioredis"]);
    expect(disallowedImports(file, `import { request } from "node:https";`)).toEqual(["node:https"]);
    expect(disallowedImports(file, `import { readFile } from "node:fs/promises";`)).toEqual([
      "node:fs/promises",
    ]);
    expect(disallowedImports(file, `import { x } from "../../adapters/slack/a.js";`)).toEqual([
      "../../adapters/slack/a.js",
    ]);
    expect(disallowedImports(file, `import { loadConfig } from "../../config.js";`)).toEqual([
      "../../config.js",
    ]);
    expect(disallowedImports(file, `import type { AppError } from "../errors.js";`)).toEqual([]);
    expect(disallowedImports(file, `import { encode } from "gpt-tokenizer/encoding/o200k_base";`)).toEqual(
      [],
    );
  });
});
