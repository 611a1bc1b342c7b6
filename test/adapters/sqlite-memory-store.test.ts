import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openSqliteDatabase } from "../../src/adapters/sqlite/open-sqlite-database.js";
import { SqliteMemoryStore } from "../../src/adapters/sqlite/sqlite-memory-store.js";
import { runMemoryStoreContract } from "../contracts/memory-store.contract.js";

runMemoryStoreContract("SqliteMemoryStore in memory", async () => {
  const store = new SqliteMemoryStore(openSqliteDatabase(":memory:"), { ownsDatabase: true });
  return { store, cleanup: () => store.close() };
});

runMemoryStoreContract("SqliteMemoryStore on a file", async () => {
  const directory = mkdtempSync(join(tmpdir(), "teammate-memory-"));
  const store = new SqliteMemoryStore(openSqliteDatabase(join(directory, "nested", "teammate.db")), {
    ownsDatabase: true,
  });
  return {
    store,
    cleanup: async () => {
      await store.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
});

describe("SqliteMemoryStore on a file", () => {
  const directories: string[] = [];
  afterEach(() => {
    for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
  });

  function temporaryPath(): string {
    const directory = mkdtempSync(join(tmpdir(), "teammate-memory-"));
    directories.push(directory);
    return join(directory, "data", "teammate.db");
  }

  it("keeps everything across a reopen and continues seq and note numbers", async () => {
    const path = temporaryPath();
    const conversation = { platform: "local", workspaceId: "local", channelId: "terminal" } as const;

    const first = new SqliteMemoryStore(openSqliteDatabase(path), { ownsDatabase: true });
    await first.appendTurns(conversation, [
      {
        role: "user",
        speakerId: "u",
        speakerName: "Ada",
        text: "my favourite colour is teal",
        tokens: 6,
        at: 1,
      },
      { role: "assistant", speakerId: "b", speakerName: "teammate", text: "Noted.", tokens: 2, at: 2 },
    ]);
    await first.foldTurns(conversation, 1, "Ada likes teal.");
    const note = await first.addNote(conversation, { text: "teal", authorId: "u", authorName: "Ada", at: 3 });
    await first.updateSettings(conversation, { persona: "terse" });
    expect(await first.claimEvent("local:1", 600)).toBe(true);
    await first.close();

    const second = new SqliteMemoryStore(openSqliteDatabase(path), { ownsDatabase: true });
    try {
      expect(await second.loadConversation(conversation)).toEqual({
        summary: "Ada likes teal.",
        turns: [
          {
            seq: 2,
            role: "assistant",
            speakerId: "b",
            speakerName: "teammate",
            text: "Noted.",
            tokens: 2,
            at: 2,
          },
        ],
      });
      expect(await second.listNotes(conversation)).toEqual([note]);
      expect(await second.getSettings(conversation)).toEqual({ persona: "terse" });
      expect(await second.claimEvent("local:1", 600)).toBe(false);
      const [next] = await second.appendTurns(conversation, [
        { role: "user", speakerId: "u", speakerName: "Ada", text: "again", tokens: 1, at: 4 },
      ]);
      expect(next?.seq).toBe(3);
      const another = await second.addNote(conversation, {
        text: "x",
        authorId: "u",
        authorName: "Ada",
        at: 5,
      });
      expect(another.id).not.toBe(note.id);
    } finally {
      await second.close();
    }
  });

  it("uses WAL and foreign keys, and shares the file with other components' tables", async () => {
    const database = openSqliteDatabase(temporaryPath());
    try {
      expect(database.pragma("journal_mode", { simple: true })).toBe("wal");
      expect(database.pragma("foreign_keys", { simple: true })).toBe(1);
      database.exec("CREATE TABLE knowledge_documents (id TEXT PRIMARY KEY)");
      const store = new SqliteMemoryStore(database);
      await store.close();
      // Not owning the database, the store leaves it open for the knowledge index.
      expect(database.open).toBe(true);
      const tables = database
        .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .all()
        .map((row) => row.name);
      expect(tables.filter((table) => !table.startsWith("memory_"))).toEqual([
        "knowledge_documents",
        "schema_versions",
      ]);
    } finally {
      database.close();
    }
  });

  it("reports a closed database as store_unavailable", async () => {
    const database = openSqliteDatabase(":memory:");
    const store = new SqliteMemoryStore(database, { ownsDatabase: true });
    await store.close();
    await expect(
      store.listNotes({ platform: "local", workspaceId: "w", channelId: "c" }),
    ).rejects.toMatchObject({
      code: "store_unavailable",
    });
  });
});

describe("SqliteMemoryStore errors an admin can act on", () => {
  it("names the file and the cause in one line when the database is full", async () => {
    const directory = mkdtempSync(join(tmpdir(), "teammate-memory-full-"));
    const path = join(directory, "teammate.sqlite");
    const database = openSqliteDatabase(path);
    const store = new SqliteMemoryStore(database, { ownsDatabase: true });
    try {
      // A page limit reached is SQLite's own SQLITE_FULL, exactly what a full disk gives.
      const pages = Number(database.pragma("page_count", { simple: true }));
      database.pragma(`max_page_count = ${pages}`);
      const channel = { platform: "slack" as const, workspaceId: "T1", channelId: "C1" };
      const error = await store
        .addNote(channel, { text: "x".repeat(200_000), authorId: "U1", authorName: "Ada", at: 1 })
        .then(
          () => undefined,
          (caught: unknown) => caught as Error,
        );
      expect(error?.message).toBe(
        `SQLite memory store could not add a note: ${path}: the disk is full (SQLITE_FULL)`,
      );
      expect(error?.message).not.toContain("\n");
    } finally {
      await store.close();
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
