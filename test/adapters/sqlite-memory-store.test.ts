import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openSqliteDatabase } from "../../src/adapters/sqlite/open-sqlite-database.js";
import { SqliteMemoryStore } from "../../src/adapters/sqlite/sqlite-memory-store.js";
import { runMemoryStoreContract } from "../contracts/memory-store.contract.js";
import { sameHiddenClass } from "../support/hidden-class.js";

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

  it("keeps delivery claims and open work across the move of their tables to WITHOUT ROWID", async () => {
    const path = temporaryPath();
    await new SqliteMemoryStore(openSqliteDatabase(path), { ownsDatabase: true }).close();
    // The two tables as version 3 of the schema had them, holding a claim and an open reply.
    const old = openSqliteDatabase(path);
    old.exec(`
      DROP TABLE memory_events;
      CREATE TABLE memory_events (event_key TEXT PRIMARY KEY, expires_at REAL NOT NULL) STRICT;
      CREATE INDEX memory_events_by_expiry ON memory_events (expires_at);
      DROP TABLE memory_open_work;
      CREATE TABLE memory_open_work (work_id TEXT PRIMARY KEY, lease_until REAL NOT NULL, record TEXT NOT NULL) STRICT;
      CREATE INDEX memory_open_work_by_lease ON memory_open_work (lease_until);
      UPDATE schema_versions SET version = 3 WHERE component = 'memory';
    `);
    const work = {
      id: "reply-1",
      kind: "reply" as const,
      where: { platform: "slack" as const, workspaceId: "T1", channelId: "C1" },
      askerId: "U1",
      messages: { status: "1.2" },
      leaseUntil: Date.now() + 60_000,
    };
    old
      .prepare("INSERT INTO memory_events (event_key, expires_at) VALUES (?, ?)")
      .run("event:slack:T1:E1", Date.now() + 60_000);
    old
      .prepare("INSERT INTO memory_open_work (work_id, lease_until, record) VALUES (?, ?, ?)")
      .run(work.id, work.leaseUntil, JSON.stringify(work));
    old.close();

    const database = openSqliteDatabase(path);
    const store = new SqliteMemoryStore(database, { ownsDatabase: true });
    try {
      const withoutRowid = database
        .prepare<[], { name: string }>(
          "SELECT name FROM sqlite_master WHERE name IN ('memory_events', 'memory_open_work') AND sql LIKE '%WITHOUT ROWID%'",
        )
        .all()
        .map((row) => row.name)
        .sort();
      expect(withoutRowid).toEqual(["memory_events", "memory_open_work"]);
      // Open work is listed by a scan (see the schema's last step), so no index has to be written.
      const openWorkIndexes = database
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'memory_open_work'")
        .all();
      expect(openWorkIndexes).toEqual([]);
      expect(await store.claimEvent("event:slack:T1:E1", 60)).toBe(false);
      expect(await store.listOpenWork(10)).toEqual([work]);
      expect(await store.closeWork(work.id)).toBe(true);
    } finally {
      await store.close();
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

describe("SqliteMemoryStore's conversations read once per process", () => {
  const thread = { platform: "slack", workspaceId: "T1", channelId: "C1", threadId: "1.1" } as const;
  const turn = (text: string) => ({
    role: "user" as const,
    speakerId: "U1",
    speakerName: "Ada",
    text,
    tokens: 1,
    at: 1,
  });
  const texts = (conversation: { turns: Array<{ text: string }> }) =>
    conversation.turns.map((one) => one.text);
  let directory: string;
  let stores: SqliteMemoryStore[];

  /** Two stores on their own connections to one file: two processes sharing it. */
  function twoProcesses(): [SqliteMemoryStore, SqliteMemoryStore] {
    directory = mkdtempSync(join(tmpdir(), "teammate-memory-cache-"));
    const path = join(directory, "teammate.sqlite");
    stores = [
      new SqliteMemoryStore(openSqliteDatabase(path), { ownsDatabase: true }),
      new SqliteMemoryStore(openSqliteDatabase(path), { ownsDatabase: true }),
    ];
    return stores as [SqliteMemoryStore, SqliteMemoryStore];
  }

  afterEach(async () => {
    for (const store of stores) await store.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it("sees turns, folds and forgets written by another connection", async () => {
    const [here, elsewhere] = twoProcesses();
    await here.appendTurns(thread, [turn("one"), turn("two")]);
    expect(texts(await here.loadConversation(thread))).toEqual(["one", "two"]);

    await elsewhere.appendTurns(thread, [turn("three")]);
    expect(texts(await here.loadConversation(thread))).toEqual(["one", "two", "three"]);

    // Appended here after the other connection's append: the whole thread, in order.
    await here.appendTurns(thread, [turn("four")]);
    await elsewhere.appendTurns(thread, [turn("five")]);
    await here.appendTurns(thread, [turn("six")]);
    expect(texts(await here.loadConversation(thread))).toEqual([
      "one",
      "two",
      "three",
      "four",
      "five",
      "six",
    ]);

    await elsewhere.foldTurns(thread, 2, "one and two");
    const folded = await here.loadConversation(thread);
    expect(folded.summary).toBe("one and two");
    expect(texts(folded)).toEqual(["three", "four", "five", "six"]);

    // A forget keeps `last_seq`, so only the revision tells the turns are gone.
    await elsewhere.forgetChannel(thread);
    expect(await here.loadConversation(thread)).toEqual({ summary: "", turns: [] });
    await here.appendTurns(thread, [turn("seven")]);
    expect(texts(await here.loadConversation(thread))).toEqual(["seven"]);
  });

  it("keeps its own appends and folds without reading the thread again, and matches a fresh read", async () => {
    const [here, elsewhere] = twoProcesses();
    await here.appendTurns(thread, [turn("one"), turn("two"), turn("three")]);
    await here.loadConversation(thread);
    await here.appendTurns(thread, [turn("four")]);
    await here.foldTurns(thread, 2, "one and two");
    await here.appendTurns(thread, [turn("five")]);
    const cached = await here.loadConversation(thread);
    expect(texts(cached)).toEqual(["three", "four", "five"]);
    expect(cached).toEqual(await elsewhere.loadConversation(thread));
    // A fold the other connection already applied changes nothing here.
    await here.foldTurns(thread, 1, "stale");
    expect((await here.loadConversation(thread)).summary).toBe("one and two");
  });

  it("gives a conversation's turns one hidden class, read back or just saved", async () => {
    const [here] = twoProcesses();
    await here.appendTurns(thread, [turn("one"), turn("two")]);
    await here.loadConversation(thread);
    const saved = await here.appendTurns(thread, [turn("three"), turn("four")]);
    const { turns } = await here.loadConversation(thread);
    expect(texts({ turns })).toEqual(["one", "two", "three", "four"]);
    const [first] = turns as [object];
    for (const one of [...turns, ...saved]) expect(sameHiddenClass(one, first)).toBe(true);
  });

  it("hands out copies: changing a loaded conversation changes nothing stored", async () => {
    const [here] = twoProcesses();
    await here.appendTurns(thread, [turn("one")]);
    const first = await here.loadConversation(thread);
    first.turns.push({ ...turn("injected"), seq: 99 });
    expect(() => {
      (first.turns[0] as { text: string }).text = "changed";
    }).toThrow(TypeError);
    expect(texts(await here.loadConversation(thread))).toEqual(["one"]);
  });
});
