import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

// Vendor SDKs and drivers that only adapters may import. `src/core` talks to the world through ports.
const FORBIDDEN = [
  "openai",
  "@slack/",
  "discord.js",
  "@discordjs/",
  "discord-api-types",
  "@qdrant/",
  "bullmq",
  "ioredis",
  "better-sqlite3",
  "pino",
  "@modelcontextprotocol/",
  "undici",
  "node:http",
  "node:https",
  "node:net",
  "node:dns",
];

const CORE = join(import.meta.dirname, "../../src/core");

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

function forbiddenImports(source: string): string[] {
  return importedModules(source).filter((module) =>
    FORBIDDEN.some(
      (prefix) => module === prefix || module.startsWith(prefix.endsWith("/") ? prefix : `${prefix}/`),
    ),
  );
}

describe("src/core", () => {
  it("imports no vendor SDK, driver or network module", () => {
    const offenders = sourceFiles(CORE).flatMap((path) =>
      forbiddenImports(readFileSync(path, "utf8")).map(
        (module) => `${relative(CORE, path)} imports ${module}`,
      ),
    );
    expect(offenders).toEqual([]);
  });

  it("the check catches a vendor import (so it can fail)", () => {
    expect(forbiddenImports(`import OpenAI from "openai";`)).toEqual(["openai"]);
    expect(forbiddenImports(`import { App } from "@slack/bolt";`)).toEqual(["@slack/bolt"]);
    expect(forbiddenImports(`const m = await import("bullmq");`)).toEqual(["bullmq"]);
    expect(forbiddenImports(`export { Redis } from "ioredis";`)).toEqual(["ioredis"]);
    expect(forbiddenImports(`import type { AppError } from "../errors.js";`)).toEqual([]);
  });
});
