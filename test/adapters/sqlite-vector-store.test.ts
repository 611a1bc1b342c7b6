import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { SqliteVectorStore } from "../../src/adapters/sqlite/sqlite-vector-store.js";
import { analyze } from "../../src/core/knowledge/analyzer.js";
import { chunkDocument, toChunkRecords } from "../../src/core/knowledge/chunker.js";
import { runVectorStoreContract } from "../contracts/vector-store.contract.js";

runVectorStoreContract("sqlite", async () => {
  const database = new Database(":memory:");
  const store = new SqliteVectorStore(database);
  return {
    store,
    cleanup: async () => {
      await store.close();
      database.close();
    },
  };
});

describe("SqliteVectorStore", () => {
  it("shares a database with other tables and survives being opened twice", async () => {
    const database = new Database(":memory:");
    database.exec("CREATE TABLE memory_messages (id INTEGER PRIMARY KEY)");
    const scope = { platform: "local" as const, workspaceId: "local" };
    const chunks = chunkDocument({
      id: "readme",
      title: "README",
      source: "README.md",
      format: "markdown",
      text: "# Setup\n\nRun npm install, then npm start.",
    });
    await new SqliteVectorStore(database).replaceDocument("readme", scope, toChunkRecords(chunks, scope));

    const reopened = new SqliteVectorStore(database);
    const results = await reopened.search({
      scope: { ...scope, channelId: "terminal" },
      terms: analyze("how do I install it"),
      limit: 5,
    });
    expect(results.map((result) => result.chunk.headingPath)).toEqual([["Setup"]]);
    database.close();
  });

  it("rolls a failed re-index back and keeps the previous chunks", async () => {
    const database = new Database(":memory:");
    const store = new SqliteVectorStore(database);
    const scope = { platform: "local" as const, workspaceId: "local" };
    const document = { id: "doc", title: "Doc", source: "doc.txt", format: "text" as const };
    await store.replaceDocument(
      "doc",
      scope,
      toChunkRecords(chunkDocument({ ...document, text: "alpha beta" }), scope),
    );

    const broken = toChunkRecords(chunkDocument({ ...document, text: "gamma delta" }), scope);
    // A chunk whose text is not a string makes the insert fail half-way through the transaction.
    (broken[0] as { text: unknown }).text = { not: "text" };
    await expect(store.replaceDocument("doc", scope, broken)).rejects.toMatchObject({
      code: "store_unavailable",
    });

    const results = await store.search({
      scope: { ...scope, channelId: "x" },
      terms: analyze("alpha"),
      limit: 5,
    });
    expect(results.map((result) => result.chunk.text)).toEqual(["alpha beta"]);
    database.close();
  });

  it("sees writes made through another instance on the same database", async () => {
    const database = new Database(":memory:");
    const writer = new SqliteVectorStore(database);
    const reader = new SqliteVectorStore(database);
    const scope = { platform: "local" as const, workspaceId: "local" };
    const ask = { ...scope, channelId: "terminal" };
    const index = async (id: string, text: string) => {
      const chunks = chunkDocument({ id, title: id, source: `${id}.txt`, format: "text", text });
      await writer.replaceDocument(id, scope, toChunkRecords(chunks, scope));
    };
    const found = async (question: string) =>
      (await reader.search({ scope: ask, terms: analyze(question), limit: 5 })).map(
        (result) => result.chunk.text,
      );

    await index("first", "The staging database restarts at midnight.");
    expect(await found("staging database")).toEqual(["The staging database restarts at midnight."]);
    await index("second", "The production database never restarts.");
    expect(await found("production database")).toHaveLength(2);
    await index("first", "Staging moved to a managed service.");
    expect(await found("restarts")).toEqual(["The production database never restarts."]);
    await writer.deleteDocument(scope, "second");
    expect(await found("database")).toEqual([]);
    database.close();
  });

  it("counts each result's matched query terms from its index, as analyzing its text would", async () => {
    const database = new Database(":memory:");
    const store = new SqliteVectorStore(database);
    const scope = { platform: "local" as const, workspaceId: "local" };
    const texts = [
      "# Deploys\n\nWe deploy on Thursdays after the standup; deploys need two approvals.",
      "# Standup\n\nStandup is at 9:30 in the Oak room. Bring your deploy notes.",
      "# 휴가\n\n연차 휴가는 팀장 승인 후 사용합니다. Deploy freezes apply in December.",
    ];
    for (const [index, text] of texts.entries()) {
      const chunks = chunkDocument({
        id: `d${index}`,
        title: `Doc ${index}`,
        source: `d${index}.md`,
        format: "markdown",
        text,
      });
      await store.replaceDocument(`d${index}`, scope, toChunkRecords(chunks, scope));
    }
    for (const question of [
      "when do we deploy after standup",
      "휴가 승인 deploy freeze",
      "oak room notes thursdays",
    ]) {
      const terms = analyze(question);
      const results = await store.search({ scope: { ...scope, channelId: "c" }, terms, limit: 10 });
      expect(results.length).toBeGreaterThan(0);
      for (const result of results) {
        const { chunk } = result;
        const chunkTerms = new Set(analyze(`${chunk.title}\n${chunk.headingPath.join("\n")}\n${chunk.text}`));
        const expected = [...new Set(terms)].filter((term) => chunkTerms.has(term)).length;
        expect(result.matchedTerms, `${question} → ${chunk.id}`).toBe(expected);
      }
    }
    await store.close();
    database.close();
  });
});
