/**
 * The embedded store's scoring keeps its optimized code across major collections made while no search
 * runs (the memory reducer's once the bot goes quiet). A file of its own: it turns on V8's native
 * syntax, and no other test's objects may keep alive what this one needs collected.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { TopEntries } from "../../../src/adapters/sqlite/bm25-index.js";
import { openSqliteDatabase } from "../../../src/adapters/sqlite/open-sqlite-database.js";
import { SqliteVectorStore } from "../../../src/adapters/sqlite/sqlite-vector-store.js";
import { analyze } from "../../../src/core/knowledge/analyzer.js";
import { chunkId } from "../../../src/core/knowledge/chunker.js";
import type { DocumentScope } from "../../../src/core/ports/vector-store.js";

const scope: DocumentScope = { platform: "local", workspaceId: "compiled-code-test" };
const WORDS = ["deploy", "billing", "kubernetes", "rollback", "incident", "invoice", "staging", "vault"];

// V8's status bit for a function running optimized code (OptimizationStatus in runtime-test.cc).
const OPTIMIZED = 1 << 4;

describe("SqliteVectorStore compiled code", () => {
  it("keeps code compiled against its BM25 entries through collections between searches", async () => {
    setFlagsFromString("--allow-natives-syntax");
    setFlagsFromString("--expose-gc");
    const collect = runInNewContext("gc") as () => void;
    // Natives are parsed only in code compiled after the flag: these functions are made now.
    const prepare = new Function("f", "%PrepareFunctionForOptimization(f)") as (f: unknown) => void;
    const optimizeNext = new Function("f", "%OptimizeFunctionOnNextCall(f)") as (f: unknown) => void;
    const status = new Function("f", "return %GetOptimizationStatus(f)") as (f: unknown) => number;

    const database = openSqliteDatabase(":memory:");
    const store = new SqliteVectorStore(database);
    const chunks = Array.from({ length: 200 }, (_, position) => {
      const text = `${WORDS[position % WORDS.length]} ${WORDS[(position * 3) % WORDS.length]} note ${position}`;
      return {
        id: chunkId("notes", position),
        documentId: "notes",
        position,
        title: "notes",
        headingPath: [],
        source: "notes.txt",
        text,
        scope,
        terms: analyze(text),
      };
    });
    await store.replaceDocument("notes", scope, chunks);
    const search = () =>
      store.search({
        scope: { ...scope, channelId: "general" },
        terms: analyze("deploy rollback"),
        limit: 5,
      });
    expect(await search()).toHaveLength(5);

    // What the scorer's compiled code does with the entries of a search: checks their hidden class and
    // offers them chunks. Here in a function of its own, compiled on demand (the scorer's own code is
    // compiled when V8 finds it hot, on another thread).
    const fill = new Function("entries", "entries.offer(7, 2); entries.offer(9, 1)");
    const entries = () => new TopEntries(1);
    // Warmed on many entries first, as the scorer's code is before V8 compiles it.
    for (let round = 0; round < 20; round++) fill(entries());
    prepare(fill);
    fill(entries());
    fill(entries());
    optimizeNext(fill);
    fill(entries());
    expect(status(fill) & OPTIMIZED).toBe(OPTIMIZED);

    // No entries alive now but what the store holds. V8 keeps an unused hidden class through two major
    // collections: four.
    await new Promise((resolve) => setImmediate(resolve));
    for (let round = 0; round < 4; round++) collect();
    expect(status(fill) & OPTIMIZED).toBe(OPTIMIZED);
    expect(await search()).toHaveLength(5);
    database.close();
  });
});
