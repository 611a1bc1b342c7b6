import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { migrateSqliteSchema } from "../../../src/adapters/sqlite/migrate-sqlite-schema.js";
import { AppError } from "../../../src/core/errors.js";

const steps = [
  (database: Database.Database) => database.exec("CREATE TABLE notes (body TEXT) STRICT"),
  (database: Database.Database) => database.exec("ALTER TABLE notes ADD COLUMN author TEXT"),
];

describe("migrateSqliteSchema", () => {
  it("brings a component up to its last version, once", () => {
    const database = new Database(":memory:");
    migrateSqliteSchema(database, "notes", steps);
    migrateSqliteSchema(database, "notes", steps);
    expect(database.prepare("SELECT version FROM schema_versions WHERE component = 'notes'").get()).toEqual({
      version: 2,
    });
    expect(database.prepare("SELECT name FROM pragma_table_info('notes')").pluck().all()).toEqual([
      "body",
      "author",
    ]);
    database.close();
  });

  it("refuses, in one sentence, a file a newer release has moved past this one's tables", () => {
    // A bot rolled back (or an old worker beside a new bot) must not query tables whose columns moved:
    // it would fail later, on a message, with SQLite's "no such column".
    const database = new Database(":memory:");
    migrateSqliteSchema(database, "notes", steps);
    database.prepare("UPDATE schema_versions SET version = 3 WHERE component = 'notes'").run();
    let thrown: unknown;
    try {
      migrateSqliteSchema(database, "notes", steps);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(AppError);
    expect((thrown as AppError).code).toBe("store_unavailable");
    expect((thrown as AppError).message).toMatch(/notes tables .* version 3, .* knows version 2/);
    expect((thrown as AppError).message).not.toContain("\n");
    database.close();
  });
});
